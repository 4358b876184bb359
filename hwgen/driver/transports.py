"""Byte pipes to a UART board shell: a real serial port (pyserial) or the Verilator model of the shell.

Both offer ``write(data)``, ``read(n, timeout) -> bytes`` (fewer when the timeout passes), ``send_break()``
and ``close()``. :class:`VerilatorTransport` compiles the shell (:class:`hwgen.flow.shell.ShellCore`) and the
accelerator's Verilog with the UART line model ``rtl_templates/uart_model.cpp`` once per build folder
(cached under ``OUT/sim_build``), then runs it as a child process: the bytes go through the shell's real
receiver and transmitter bit by bit.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import string
import struct
import subprocess
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

from hwgen.errors import HwgenError

__all__ = ["BREAK_BIT_TIMES", "SerialTransport", "VerilatorTransport", "build_uart_model"]

#: Length of the break the host sends to reset the shell (the shell needs 24 bit times low).
BREAK_BIT_TIMES = 32


class SerialTransport:
    """A serial port opened with pyserial at ``baud``."""

    def __init__(self, port: str, baud: int):
        try:
            import serial
        except ImportError:
            raise HwgenError("the serial driver needs pyserial (pip install pyserial)") from None
        try:
            self._s = serial.Serial(port, baud, timeout=0.1)
        except (serial.SerialException, ValueError) as e:
            raise HwgenError(f"{port}: cannot open the serial port at {baud} baud ({e})") from None
        self.baud = baud

    def write(self, data: bytes) -> None:
        self._s.write(data)

    def read(self, n: int, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        got = bytearray()
        while len(got) < n and time.monotonic() < end:
            got += self._s.read(n - len(got))
        return bytes(got)

    def send_break(self) -> None:
        self._s.send_break(duration=max(0.001, BREAK_BIT_TIMES * 2 / self.baud))
        time.sleep(16 / self.baud + 0.001)
        self._s.reset_input_buffer()

    def close(self) -> None:
        self._s.close()


def _template() -> string.Template:
    return string.Template(resources.files("hwgen.rtl_templates").joinpath("uart_model.cpp").read_text())


def build_uart_model(sources, shell_top: str, cache_dir) -> Path:
    """Compile ``sources`` (the shell's and the accelerator's Verilog) with the UART line model; returns the
    executable (reused when the same sources were compiled before)."""
    from hwgen.toolchain import find_verilator, verilator_env

    main = _template().substitute(top=shell_top)
    h = hashlib.sha256(main.encode())
    for s in sources:
        h.update(Path(s).name.encode() + b"\0" + Path(s).read_bytes())
    h.update(find_verilator().version.encode())
    cache_dir = Path(cache_dir)
    build = cache_dir / f"uart-{shell_top}-{h.hexdigest()[:16]}"
    exe = build / "obj" / "uart_model"
    if exe.is_file():
        return exe
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=build.name + ".tmp", dir=cache_dir))
    (tmp / "uart_model.cpp").write_text(main)
    env = verilator_env(standalone=True)
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} OPT_FAST=-O1 OPT_SLOW=-O1 OPT_GLOBAL=-O1".strip()
    cmd = [
        str(find_verilator().executable), "--cc", "--exe", "--build", "-j", "2",
        "--top-module", shell_top, "-Wno-fatal", "-Wno-lint", "-Wno-style",
        "-Mdir", "obj", "-o", "uart_model", *[str(Path(s).resolve()) for s in sources], "uart_model.cpp",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        (tmp / "build.log").write_text(proc.stdout + proc.stderr)
        tail = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "rror" in ln][:1] or ["no output"]
        raise HwgenError(f"Verilator could not build the UART model (log in {tmp}): {tail[0]}")
    shutil.rmtree(build, ignore_errors=True)
    os.replace(tmp, build)
    return exe


class VerilatorTransport:
    """The shell and the accelerator under Verilator, behind the same byte interface as a serial port."""

    def __init__(self, exe: Path, divisor: int, idle_cycles: int):
        self._p = subprocess.Popen(
            [str(exe), str(divisor), str(idle_cycles)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.cycles = None  # (first data bit, last byte out) in clock cycles, known after close()
        self._buf = bytearray()
        self._cv = threading.Condition()
        self._eof = False
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        fd = self._p.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            with self._cv:
                if not chunk:
                    self._eof = True
                else:
                    self._buf += chunk
                self._cv.notify_all()
            if not chunk:
                return

    def _send(self, data: bytes) -> None:
        try:
            self._p.stdin.write(data)
            self._p.stdin.flush()
        except BrokenPipeError:
            err = self._p.stderr.read().decode(errors="replace").strip()
            raise HwgenError(f"the UART model stopped: {err or 'no message'}") from None

    def write(self, data: bytes) -> None:
        self._send(b"D" + struct.pack("<I", len(data)) + data)

    def read(self, n: int, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        with self._cv:
            while len(self._buf) < n and not self._eof and time.monotonic() < end:
                self._cv.wait(max(0.0, end - time.monotonic()))
            got = bytes(self._buf[:n])
            del self._buf[:n]
        return got

    def send_break(self) -> None:
        self._send(b"B" + struct.pack("<I", BREAK_BIT_TIMES))

    def close(self) -> None:
        if self._p.poll() is None:
            try:
                self._send(b"Q")
                self._p.stdin.close()
            except (HwgenError, OSError):
                pass
            try:
                self._p.wait(10)
            except subprocess.TimeoutExpired:
                self._p.kill()
                self._p.wait()
        self._thread.join(10)
        if self._p.stderr is not None and not self._p.stderr.closed:
            for line in self._p.stderr.read().decode(errors="replace").splitlines():
                if line.startswith("uart_model: cycles "):
                    first, last = map(int, line.split()[2:4])
                    self.cycles = (first, last)
        for f in (self._p.stdin, self._p.stdout, self._p.stderr):
            if f is not None and not f.closed:
                try:
                    f.close()
                except OSError:
                    pass
