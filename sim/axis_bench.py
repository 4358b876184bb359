"""The one AXI-Stream cocotb bench: drives any exported layer or whole accelerator (tier 3).

Started by :func:`hwgen.sim.runner.run_bench`, which names a JSON spec in ``$HWGEN_AXIS_BENCH``:
``clock_ns``, ``results`` (path of the JSON this bench writes) and ``runs``, each with input beats,
expected output beats (hex), beats per frame in and out, pause probabilities (or 0/1 patterns) for the
source and the sink, a seed and time limits. Per run: reset, send every frame, wait for the output,
compare every beat exactly, check the sink is empty and the input monitor saw what was sent, and
record when each output frame completed. The results file is rewritten after every run, so a run
that fails still leaves its evidence; the cocotb test fails if any run did.

The design needs the ports of :class:`hwgen.flow.verilog.AxisTop`: ``clk``, ``rst`` (synchronous,
active high), ``s_axis_*`` and ``m_axis_*`` with ``tdata``, ``tvalid``, ``tready``, ``tlast``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_steps
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamMonitor, AxiStreamSink, AxiStreamSource

SPEC_ENV = "HWGEN_AXIS_BENCH"
_POLL = 32  # cycles between progress checks


def pause_generator(pause, seed: int):
    """``pause`` as a generator for ``set_pause_generator``: a probability or a 0/1 pattern; None if never."""
    if isinstance(pause, list):
        return itertools.cycle(bool(p) for p in pause) if any(pause) else None
    if not pause:
        return None
    rng = random.Random(seed)
    return (rng.random() < pause for _ in itertools.count())


def split_beats(data: bytes, nbytes: int) -> list[int]:
    """Bytes of a frame (as the sink collects them) back to beat integers."""
    return [int.from_bytes(data[k : k + nbytes], "little") for k in range(0, len(data), nbytes)]


class TB:
    """Clock, reset, source and sink on the design's AXI-Stream ports, and a monitor on its input."""

    def __init__(self, dut, clock_ns: int):
        self.dut = dut
        self.period_steps = get_sim_steps(clock_ns, "ns")
        Clock(dut.clk, clock_ns, unit="ns").start()
        cocotb_log = logging.getLogger("cocotb")  # the stream ends' banners and per-frame lines: quiet
        level = cocotb_log.level
        cocotb_log.setLevel(logging.WARNING)
        try:
            self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
            self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
            self.monitor = AxiStreamMonitor(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        finally:
            cocotb_log.setLevel(level)
        for end in (self.source, self.sink, self.monitor):
            end.log.setLevel(logging.WARNING)
        self.in_bytes = len(dut.s_axis_tdata) // 8
        self.out_bytes = len(dut.m_axis_tdata) // 8
        self.t0 = 0

    def set_pauses(self, in_pause, out_pause, seed: int) -> None:
        for end, pause, s in ((self.source, in_pause, seed), (self.sink, out_pause, seed + 1)):
            gen = pause_generator(pause, s)
            if gen is None:
                end.clear_pause_generator()
                end.pause = False
            else:
                end.set_pause_generator(gen)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        self.sink.clear()
        self.monitor.clear()
        await RisingEdge(self.dut.clk)
        self.t0 = get_sim_time()

    def cycle_of(self, steps) -> int:
        return int((steps - self.t0) // self.period_steps)


async def _run_one(tb: TB, run: dict) -> dict:
    in_beats = [int(b, 16) for b in run["in_beats"]]
    expected = [int(b, 16) for b in run["expected"]]
    bpf_in, bpf_out = run["beats_per_frame_in"], run["beats_per_frame_out"]
    tb.set_pauses(run["in_pause"], run["out_pause"], run["seed"])
    await tb.reset()

    for k in range(0, len(in_beats), bpf_in):
        data = b"".join(b.to_bytes(tb.in_bytes, "little") for b in in_beats[k : k + bpf_in])
        tb.source.send_nowait(AxiStreamFrame(data))

    frames, idle, cycles = [], 0, 0
    received_beats = 0
    while received_beats < len(expected) and idle < run["idle_timeout"]:
        await ClockCycles(tb.dut.clk, _POLL)
        cycles += _POLL
        got_new = False
        while not tb.sink.empty():
            frame = tb.sink.recv_nowait(compact=False)
            frames.append(frame)
            received_beats += len(frame.tdata) // tb.out_bytes
            got_new = True
        idle = 0 if got_new else idle + _POLL
    timeout = received_beats < len(expected)
    await ClockCycles(tb.dut.clk, run["extra_cycles"])  # spurious or duplicated beats show up here
    while not tb.sink.empty():
        frames.append(tb.sink.recv_nowait(compact=False))

    received = [b for f in frames for b in split_beats(bytes(f.tdata), tb.out_bytes)]
    n = max(len(received), len(expected))
    wrong = [k for k in range(n) if k >= len(received) or k >= len(expected) or received[k] != expected[k]]
    first = [[k, _hex(received, k), _hex(expected, k)] for k in wrong[:8]]
    framing_ok = all(len(f.tdata) == bpf_out * tb.out_bytes for f in frames)

    sent, first_in = [], None
    while not tb.monitor.empty():
        frame = tb.monitor.recv_nowait(compact=False)
        first_in = frame.sim_time_start if first_in is None else first_in
        sent += split_beats(bytes(frame.tdata), tb.in_bytes)
    monitor_ok = sent == in_beats or timeout  # after a timeout the design may still hold input

    ends = [tb.cycle_of(f.sim_time_end) for f in frames]
    intervals = [b - a for a, b in itertools.pairwise(ends)]
    steady = intervals[len(intervals) // 2 :]
    latency = None
    if frames and first_in is not None:
        latency = tb.cycle_of(frames[0].sim_time_start) - tb.cycle_of(first_in)
    sink_empty = tb.sink.empty()
    passed = not wrong and not timeout and framing_ok and sink_empty and monitor_ok
    return {
        "name": run["name"],
        "passed": passed,
        "expected": run["expected"],
        "received": [f"{b:x}" for b in received],
        "mismatches": len(wrong),
        "first_mismatches": first,
        "framing_ok": framing_ok,
        "sink_empty": sink_empty,
        "monitor_ok": monitor_ok,
        "timeout": timeout,
        "cycles": tb.cycle_of(get_sim_time()),
        "frame_end_cycles": ends,
        "intervals": intervals,
        "cycles_per_frame": max(steady) if steady else None,
        "first_out_latency": latency,
    }


def _hex(beats: list[int], k: int) -> str | None:
    return f"{beats[k]:x}" if k < len(beats) else None


@cocotb.test()
async def axis_bench(dut):
    """Every run of the spec: exact beats, empty sink, frame completion times."""
    spec = json.loads(Path(os.environ[SPEC_ENV]).read_text())
    tb = TB(dut, spec["clock_ns"])
    results = []
    for run in spec["runs"]:
        try:
            results.append(await _run_one(tb, run))
        finally:
            Path(spec["results"]).write_text(json.dumps({"runs": results}))
    failed = [r["name"] for r in results if not r["passed"]]
    assert not failed, f"runs failed: {failed}"
