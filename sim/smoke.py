"""Toolchain smoke test: a tiny stream component through every verification tier (issue #2).

``XnorPopcount`` takes beats of two 16-bit words ``a`` (low half) and ``b`` (high half) and returns
``popcount(~(a ^ b))`` one cycle later behind a valid/ready register. The chain: ``amaranth.sim`` with
random gaps and stalls, Verilog export, Verilator + cocotb 2.x with pause generators on both ends,
every beat compared with NumPy. ``bug=`` builds a deliberately wrong variant so the tests can show
the chain catches it.

Run ``python -m hwgen.sim.smoke [--quiet]``: one line of result, exit status 0 when all is well.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from hwgen.ir.datatypes import UINT

__all__ = ["BUGS", "XnorPopcount", "reference", "random_words", "pack", "main"]

BUGS = (None, "drop_bit", "ignore_ready")


class XnorPopcount(wiring.Component):
    """Registered XNOR-popcount of two ``width``-bit words.

    Parameters
    ----------
    width : int
        Bits per word; a beat carries ``a`` in bits ``[0, width)`` and ``b`` in ``[width, 2*width)``.
    bug : None, "drop_bit" or "ignore_ready"
        A deliberately wrong variant: ``"drop_bit"`` leaves the top bit out of the count,
        ``"ignore_ready"`` overwrites its output register while the sink stalls (loses beats).

    Members
    -------
    i : In(stream.Signature(2 * width))
    o : Out(stream.Signature(unsigned(bits_for(width))))
    """

    def __new__(cls, width: int = 16, bug: str | None = None):
        # checked before the object exists: a rejected one leaves no unused elaboratable behind
        if bug not in BUGS:
            raise ValueError(f"'bug' must be one of {BUGS}, not {bug!r}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"'width' must be a positive integer, not {width!r}")
        return super().__new__(cls, src_loc_at=1)

    def __init__(self, width: int = 16, bug: str | None = None):
        self._width = width
        self._bug = bug
        super().__init__(
            {
                "i": In(stream.Signature(2 * width)),
                "o": Out(stream.Signature(unsigned(bits_for(width)))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        w = self._width
        a, b = self.i.payload[:w], self.i.payload[w:]
        same = ~(a ^ b)
        if self._bug == "drop_bit":
            same = same[: w - 1]
        count = sum(same[k] for k in range(len(same)))

        can_load = self.o.ready | ~self.o.valid
        if self._bug == "ignore_ready":
            can_load = 1
        with m.If(can_load):
            m.d.comb += self.i.ready.eq(1)
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(count)]
        return m


def random_words(n: int, width: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random pairs of ``width``-bit words (uint64 arrays)."""
    rng = np.random.default_rng(seed)
    hi = 1 << width
    return rng.integers(0, hi, n, dtype=np.uint64), rng.integers(0, hi, n, dtype=np.uint64)


def pack(a, b, width: int = 16) -> list[int]:
    """Input beats: ``a`` in the low half, ``b`` in the high half."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b differ in shape: {a.shape} and {b.shape}")
    return UINT(width).pack(np.stack([a.reshape(-1), b.reshape(-1)], axis=1), 2)


def reference(a, b, width: int = 16) -> np.ndarray:
    """NumPy popcount of the XNOR: the number of equal bits of ``a`` and ``b``."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    bits = (a[:, None] >> np.arange(width, dtype=np.uint64)) & 1
    bits_b = (b[:, None] >> np.arange(width, dtype=np.uint64)) & 1
    return (bits == bits_b).sum(axis=1).astype(np.int64)


def run_amaranth(n: int = 200, width: int = 16, bug=None, stall: float = 0.3, seed: int = 1) -> dict:
    """Tier 2: ``amaranth.sim`` with random gaps and stalls; compares with :func:`reference`."""
    from hwgen.sim.amaranth_bench import run_stream_sim

    a, b = random_words(n, width, seed)
    want = reference(a, b, width)
    got = run_stream_sim(
        XnorPopcount(width, bug), pack(a, b, width), n, gap_prob=stall, stall_prob=stall, seed=seed
    )
    ok = len(got) == n and np.array_equal(np.array(got, dtype=np.int64), want)
    return {
        "ok": ok,
        "beats": n,
        "received": len(got),
        "mismatches": int(sum(g != w for g, w in zip(got, want.tolist(), strict=False))),
    }


def run_verilator(
    work: Path,
    n: int = 200,
    width: int = 16,
    bug=None,
    stall: float = 0.3,
    seed: int = 1,
    frame: int = 4,
    cache: Path | None = None,
) -> dict:
    """Tier 3: export, build under Verilator, run the cocotb bench with stalls, at full speed, with patterns.

    The full-speed run measures cycles per frame (``frame`` beats per frame; one beat per cycle).
    Returns the bench result of the runs (``"stalls"``, ``"full_speed"``, ``"patterns"``), whether the
    received beats equal NumPy's, and the build and simulation wall times.
    """
    from hwgen.sim.runner import BenchRun, build_verilator, run_bench

    from hwgen.flow.verilog import export_stream_verilog

    a, b = random_words(n, width, seed)
    want = reference(a, b, width).tolist()
    beats = pack(a, b, width)
    v = export_stream_verilog(XnorPopcount(width, bug), work / "rtl" / "smoke.v", "smoke_top", frame)
    t0 = time.monotonic()
    model = build_verilator(v["path"], "smoke_top", cache or (work / "verilator"))
    t_build = time.monotonic() - t0
    common = {"beats_per_frame_in": frame, "beats_per_frame_out": frame, "idle_timeout": 2000}
    runs = [
        BenchRun(beats, want, in_pause=stall, out_pause=stall, seed=seed, name="stalls", **common),
        BenchRun(beats, want, name="full_speed", **common),
        # fixed patterns as in cocotbext-axi's own tests: source 1 beat in 3, sink stalls 1 cycle in 4
        BenchRun(beats, want, in_pause=[1, 1, 0], out_pause=[0, 0, 0, 1], name="patterns", **common),
    ]
    res = run_bench(model, runs, work / "run")
    numpy_ok = all(r.received == want for r in res.runs)
    return {
        "ok": res.passed and numpy_ok,
        "bench": res,
        "numpy_ok": numpy_ok,
        "build_s": t_build,
        "run_s": res.seconds,
        "cached": model.cached,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwgen.sim.smoke", description=__doc__.split("\n")[0])
    ap.add_argument("--quiet", action="store_true", help="print only the one-line result")
    ap.add_argument("--bug", choices=[b for b in BUGS if b], help="run a deliberately broken variant")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    t0 = time.monotonic()
    am = run_amaranth(bug=args.bug)
    with tempfile.TemporaryDirectory(prefix="hwgen-smoke-") as tmp:
        vl = run_verilator(Path(tmp), bug=args.bug)
    stalls, full = vl["bench"]["stalls"], vl["bench"]["full_speed"]
    ok = am["ok"] and vl["ok"]
    print(
        f"smoke {'OK' if ok else 'FAIL'}{f' (bug={args.bug})' if args.bug else ''}: 16-bit xnor-popcount, "
        f"amaranth.sim {am['received']}/{am['beats']} beats, {am['mismatches']} wrong; "
        f"Verilator+cocotb {stalls.n_received}/{len(stalls.expected)} beats with 30% stalls, "
        f"{stalls.mismatches} wrong, {full.cycles_per_frame} cycles per 4-beat frame; "
        f"build {vl['build_s']:.1f}s, sim {vl['run_s']:.1f}s, total {time.monotonic() - t0:.1f}s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
