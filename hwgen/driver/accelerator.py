"""``Accelerator(OUT, port=...)``: run frames through a built accelerator on a board or in simulation.

::

    from hwgen.driver import Accelerator

    with Accelerator("out/tfc", port="/dev/ttyUSB1") as acc:   # the UART shell of hwgen synth
        y = acc.infer(x)                                        # integer outputs, one row per frame
    with Accelerator("out/tfc", port="sim") as acc:            # the same shell under Verilator
        y = acc.infer(x)

``x`` holds float frames shaped like the model's input (batch first); the host part of the streamlined graph
turns them into the input codes, exactly as :mod:`hwgen.golden` does, and ``infer`` returns what the
accelerator outputs: the last layer's integer dot products (or top-k indices), equal to
``hwgen.golden.execute(graph, x)[1]``. ``infer_codes`` takes the codes directly. Frames stream with at most
``window`` frames in flight (default: as many as the shell's 32-byte receive FIFO and the output rate allow
without loss). On a Zynq board, ``port="pynq"`` loads the overlay (``OUT/vivado/hwgen.bit`` and ``.hwh``,
from the Vivado project of ``hwgen synth``) and sends each batch as one AXI DMA transfer each way.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError

__all__ = ["Accelerator", "pynq_overlay"]

#: Clock cycles per bit of the simulated shell when the build has no board.
SIM_DIVISOR = 4


def pynq_overlay(out):
    """The generated PYNQ driver of build ``out`` (``OUT/vivado/hwgen_pynq.py``) with its overlay loaded."""
    import importlib.util

    vdir = Path(out) / "vivado"
    path = vdir / "hwgen_pynq.py"
    if not path.is_file():
        raise HwgenError(f"{out}: no PYNQ driver; run hwgen synth {out} for a Zynq board first")
    spec = importlib.util.spec_from_file_location("hwgen_pynq", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.HwgenOverlay(str(vdir / "hwgen.bit"))


class Accelerator:
    """A build folder's accelerator behind its UART shell: ``port`` is a serial device, ``"sim"`` (the
    Verilator model) or None (no connection: :meth:`encode` and :meth:`decode` only)."""

    def __init__(
        self, out, port: str = "sim", *, baud: int | None = None, timeout: float = 30.0, window=None
    ):
        from hwgen.flow.manifest import read_manifest
        from hwgen.flow.steps import graph_of_build
        from hwgen.ir.datatypes import DataType

        self.out = Path(out)
        self.manifest = m = read_manifest(self.out)
        self._graph, self.hw_graph = graph_of_build(self.out, m)
        sin, sout = m["input"], m["output"]
        self._idt, self._odt = DataType.from_name(sin["dtype"]), DataType.from_name(sout["dtype"])
        self._in_bytes, self._out_bytes = sin["tdata_bits"] // 8, sout["tdata_bits"] // 8
        self.frame_bytes_in = sin["beats_per_frame"] * self._in_bytes
        self.frame_bytes_out = sout["beats_per_frame"] * self._out_bytes
        self.timeout = timeout
        self.window = window or self._safe_window()
        self.seconds = 0.0  # wall time of the last infer
        self.transport = self._pynq = None
        if port is None:  # packing only (encode / decode), e.g. for a bench with its own UART model
            return
        if port == "pynq":  # on the Zynq board itself: the overlay of hwgen synth, through its AXI DMA
            self._pynq = pynq_overlay(self.out)
            return
        if port == "sim":
            self.transport = self._sim_transport(m)
        else:
            from .transports import SerialTransport

            self.transport = SerialTransport(port, baud or self._baud(m))
        self.transport.send_break()

    # -- set-up -------------------------------------------------------------------------------------
    def _board(self, m):
        from hwgen.boards import get_board

        return None if m.get("board", "none") == "none" else get_board(m["board"])

    def _baud(self, m) -> int:
        shell = (m.get("synth") or {}).get("shell") or {}
        if "baud" in shell:
            return int(shell["baud"])
        board = self._board(m)
        if board is None or board.flow == "vivado":
            raise HwgenError(f"{self.out}: not built for a UART board; give baud=")
        return board.uart_baud(m["clock_mhz"])

    def _divisor(self, m) -> int:
        board = self._board(m)
        if board is None or board.flow == "vivado":
            return SIM_DIVISOR
        from hwgen.flow.synth import shell_divisor

        return shell_divisor(board, m["clock_mhz"])[1]

    def _sim_transport(self, m):
        from amaranth.back import verilog

        from hwgen.flow.shell import SHELL_TOP, ShellCore, shell_params

        from .transports import VerilatorTransport, build_uart_model

        self.divisor = divisor = self._divisor(m)
        cache = self.out / "sim_build"
        cache.mkdir(exist_ok=True)
        shell_v = cache / f"{SHELL_TOP}.v"
        text = verilog.convert(ShellCore(**shell_params(m, divisor)), name=SHELL_TOP)
        if not shell_v.is_file() or shell_v.read_text() != text:
            shell_v.write_text(text)
        files = [shell_v, *(self.out / f for f in m["rtl"]["files"])]
        exe = build_uart_model(files, SHELL_TOP, cache)
        byte = 10 * divisor
        idle = 4 * (m["latency_cycles"] + 2 * m["ii_cycles"] + byte * (self.frame_bytes_out + 64)) + 10_000
        return VerilatorTransport(exe, divisor, idle)

    def _safe_window(self) -> int:
        # The shell holds 32 bytes; while outputs drain slower than inputs arrive the accelerator backs up
        # into that FIFO, so stream only when a frame's output is no longer than its input.
        if self.frame_bytes_out <= self.frame_bytes_in:
            return 64
        return 1

    # -- use ----------------------------------------------------------------------------------------
    def codes(self, x) -> np.ndarray:
        """Input codes (frames, elements) of float frames ``x``."""
        from hwgen.dataflow.io import host_codes

        return host_codes(self.hw_graph, np.asarray(x, dtype=np.float32))

    def infer(self, x) -> np.ndarray:
        """Integer outputs (frames, elements) for float frames ``x`` (batch first)."""
        return self.infer_codes(self.codes(x))

    def encode(self, codes) -> bytes:
        """The bytes the shell receives for input codes (frames, elements): each beat least significant
        byte first, frames back to back."""
        from hwgen.sim.bulk import input_rows

        sin = self.manifest["input"]
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != sin["elements_per_frame"]:
            raise HwgenError(f"codes must be (frames, {sin['elements_per_frame']}), not {codes.shape}")
        return input_rows(codes, self._idt, sin["elements_per_beat"], sin["tdata_bits"]).tobytes()

    def decode(self, data: bytes, frames: int) -> np.ndarray:
        """Integer outputs (frames, elements) from the bytes the shell sent."""
        from hwgen.dataflow.io import unpack_frames
        from hwgen.sim.bulk import bytes_to_beats

        sout = self.manifest["output"]
        if len(data) != frames * self.frame_bytes_out:
            raise HwgenError(
                f"{len(data)} output bytes, {frames} frames need {frames * self.frame_bytes_out}"
            )
        rows = np.frombuffer(bytes(data), dtype=np.uint8).reshape(-1, self._out_bytes)
        beats = bytes_to_beats(rows, sout["bits_per_beat"])
        return unpack_frames(beats, self._odt, sout["elements_per_beat"], frames).astype(np.int64)

    def infer_codes(self, codes) -> np.ndarray:
        """Integer outputs (frames, elements) for input codes (frames, elements)."""
        if self._pynq is not None:
            return np.asarray(self._pynq.infer_codes(np.asarray(codes)), dtype=np.int64)
        if self.transport is None:
            raise HwgenError("opened with port=None: encode() and decode() only")
        data = self.encode(codes)
        n = len(codes)
        got = bytearray()
        t0 = time.monotonic()
        sent = 0
        while len(got) < n * self.frame_bytes_out:
            done = len(got) // self.frame_bytes_out
            if sent < n and sent - done < self.window:
                k = min(n, done + self.window) - sent
                self.transport.write(data[sent * self.frame_bytes_in : (sent + k) * self.frame_bytes_in])
                sent += k
                continue
            want = self.frame_bytes_out - len(got) % self.frame_bytes_out
            chunk = self.transport.read(want, self.timeout)
            if not chunk:
                raise HwgenError(
                    f"no output for frame {done} within {self.timeout:g} s "
                    f"({len(got)} of {n * self.frame_bytes_out} bytes received)"
                )
            got += chunk
        self.seconds = time.monotonic() - t0
        return self.decode(bytes(got), n)

    def reset(self) -> None:
        """Send a break: the shell and the accelerator start over (frames in flight are lost)."""
        self.transport.send_break()

    @property
    def frames_per_second_uart(self) -> float | None:
        """Frame rate the serial line allows (10 bits per byte, both directions overlapped)."""
        baud = getattr(self.transport, "baud", None)
        return None if baud is None else baud / (10 * max(self.frame_bytes_in, self.frame_bytes_out))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
