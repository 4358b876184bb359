"""Test helpers for stream components in ``amaranth.sim``: packing, put/get, and a stall/gap harness.

The harness drives the ``i`` stream (or each input of a join) and drains the ``o`` stream of a
component, with random input gaps (valid low before a beat) and random output stalls (ready low), and
checks on every cycle:

- the AXI4-Stream rule on the component's output: once ``o.valid`` is high it stays high with the
  same payload until ``o.ready``;
- that ``i.ready`` does not depend combinationally on ``o.ready`` (it is read with ``o.ready`` at 0
  and at 1 in the same cycle), so chaining components cannot make a combinational loop;
- that no beat appears after the expected ones (no duplication), for a few idle cycles.

It records the cycle of every accepted input and output beat, so tests can check the cycle model.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import numpy as np
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hwgen.ir.datatypes import UINT

__all__ = ["JoinBehindFork", "StreamResult", "pack", "run_stream_test", "stream_get", "stream_put", "unpack"]


def pack(values, dtype, lanes: int) -> list[int]:
    """Encode a sequence of values (flattened) into beats of ``lanes`` elements, element 0 in the LSBs.

    :meth:`~hwgen.ir.datatypes.DataType.pack` with the message the stream tests expect.
    """
    values = np.asarray(values)
    if values.size % lanes:
        raise ValueError(f"{values.size} values do not fill beats of {lanes} lanes")
    return dtype.pack(values, lanes)


def unpack(beats, dtype, lanes: int) -> np.ndarray:
    """Decode beats of ``lanes`` elements into a 1-D int64 array of values."""
    return dtype.unpack(beats, lanes).reshape(-1)


async def stream_put(ctx, stream, payload) -> None:
    """Offer one beat on ``stream`` and wait until it is taken (valid then held until ready)."""
    ctx.set(stream.valid, 1)
    ctx.set(stream.payload, payload)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream) -> int:
    """Take one beat from ``stream``."""
    ctx.set(stream.ready, 1)
    (payload,) = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


@dataclass
class StreamResult:
    """What :func:`run_stream_test` saw: output beats and the cycles of every handshake."""

    outputs: list[int] = field(default_factory=list)
    in_cycles: list[int] = field(default_factory=list)
    out_cycles: list[int] = field(default_factory=list)
    cycles: int = 0

    def frame_intervals(self, beats_per_frame: int) -> list[int]:
        """Cycles between the last output beats of consecutive frames."""
        ends = self.out_cycles[beats_per_frame - 1 :: beats_per_frame]
        return [b - a for a, b in zip(ends, ends[1:], strict=False)]

    @property
    def latency(self) -> int:
        """Cycles from the first accepted input beat to the first valid output beat."""
        return self.first_valid - self.in_cycles[0]

    first_valid: int = -1


def run_stream_test(
    dut,
    input_beats,
    expected_beats=None,
    stall_prob: float = 0.0,
    gap_prob: float = 0.0,
    seed: int = 0,
    *,
    n_out: int | None = None,
    max_cycles: int | None = None,
    idle_cycles: int = 8,
    stall_pattern=None,
    gap_pattern=None,
    vcd: str | None = None,
) -> StreamResult:
    """Simulate ``dut`` (ports ``i`` and ``o``) on ``input_beats``; compare with ``expected_beats``.

    Parameters
    ----------
    dut : wiring.Component
        Component with stream ports ``i`` and ``o``.
    input_beats : sequence of int, or dict of them
        Payloads to send, in order; for a component with several input ports (a join: ``i0``, ``i1``, ...)
        a dict port name -> payloads, each port with its own random gaps.
    expected_beats : sequence of int, optional
        Payloads the output must carry, in order; compared with ``==`` (AssertionError otherwise).
    n_out : int, optional
        Number of output beats to collect (default ``len(expected_beats)``).
    stall_prob, gap_prob : float
        Probability of ``o.ready`` low in a cycle; of an idle input cycle before a beat.
    seed : int
        Seed of the stall/gap pattern.
    max_cycles : int, optional
        Give up (AssertionError) after this many cycles in all (default: no limit). Independently,
        the run fails when no beat moves on either side for longer than a few frame times
        (``dut.ii_cycles`` when the component declares it), which catches lost beats and deadlocks.
    stall_pattern, gap_pattern : iterable of bool, optional
        Deterministic alternatives to the probabilities, one value per cycle (cycled), as
        cocotbext-axi pause generators: True = ``o.ready`` low / no new input beat this cycle.
    idle_cycles : int
        Cycles with ``o.ready`` high after the last expected beat during which no beat may appear.
    vcd : str, optional
        Write a waveform to this path.
    """
    if not isinstance(input_beats, dict):
        input_beats = {"i": input_beats}
    inputs = {name: [int(b) for b in beats] for name, beats in input_beats.items()}
    ports = {name: getattr(dut, name) for name in inputs}
    if n_out is None:
        if expected_beats is None:
            raise ValueError("give expected_beats or n_out")
        n_out = len(expected_beats)
    slack = 1 / max(1e-3, 1 - max(stall_prob, gap_prob))
    stuck_limit = int((200 + 4 * getattr(dut, "ii_cycles", 0)) * slack)
    rng = random.Random(seed)
    stalls = itertools.cycle(stall_pattern) if stall_pattern is not None else None
    gaps = itertools.cycle(gap_pattern) if gap_pattern is not None else None
    res = StreamResult()
    first = next(iter(inputs))

    async def bench(ctx):
        nxt = dict.fromkeys(inputs, 0)
        presenting = dict.fromkeys(inputs, False)
        held = None  # payload of an output beat that was valid but not taken
        cycle = last_move = 0
        idle_left = idle_cycles

        def sent() -> bool:
            return all(nxt[n] >= len(inputs[n]) for n in inputs)

        while len(res.outputs) < n_out or not sent() or idle_left > 0:
            done = len(res.outputs) >= n_out and sent()
            if done:
                idle_left -= 1
            if cycle - last_move > stuck_limit and not done:
                got = ", ".join(f"{nxt[n]}/{len(inputs[n])}" for n in inputs)
                raise AssertionError(
                    f"no beat moved for {cycle - last_move} cycles: {got} in, {len(res.outputs)}/{n_out} out"
                )
            if max_cycles is not None and cycle >= max_cycles:
                got = ", ".join(f"{nxt[n]}/{len(inputs[n])}" for n in inputs)
                raise AssertionError(
                    f"timeout after {cycle} cycles: {got} in, {len(res.outputs)}/{n_out} out"
                )
            for n, port in ports.items():
                if not presenting[n] and nxt[n] < len(inputs[n]):
                    presenting[n] = not next(gaps) if gaps else rng.random() >= gap_prob
                ctx.set(port.valid, int(presenting[n]))
                if presenting[n]:
                    ctx.set(port.payload, inputs[n][nxt[n]])
            stalled = next(stalls) if stalls else rng.random() < stall_prob
            ready = not stalled or len(res.outputs) >= n_out
            ctx.set(dut.o.ready, 0)
            r0 = ([ctx.get(p.ready) for p in ports.values()], ctx.get(dut.o.valid), ctx.get(dut.o.payload))
            ctx.set(dut.o.ready, 1)
            r1 = ([ctx.get(p.ready) for p in ports.values()], ctx.get(dut.o.valid), ctx.get(dut.o.payload))
            assert r0[0] == r1[0], f"cycle {cycle}: i.ready depends combinationally on o.ready"
            assert r0[1:] == r1[1:], f"cycle {cycle}: o.valid/o.payload depend combinationally on o.ready"
            ctx.set(dut.o.ready, int(ready))
            i_ready = {n: ctx.get(p.ready) for n, p in ports.items()}
            o_valid = ctx.get(dut.o.valid)
            o_payload = ctx.get(dut.o.payload)
            if held is not None:
                assert o_valid and o_payload == held, (
                    f"cycle {cycle}: output beat dropped or changed before ready (AXI4-Stream rule)"
                )
            if o_valid and res.first_valid < 0:
                res.first_valid = cycle
            for n in inputs:
                if presenting[n] and i_ready[n]:
                    last_move = cycle
                    if n == first:
                        res.in_cycles.append(cycle)
                    nxt[n] += 1
                    presenting[n] = False
            held = None
            if o_valid:
                if ready:
                    last_move = cycle
                    assert len(res.outputs) < n_out, (
                        f"cycle {cycle}: unexpected extra output beat {o_payload:#x}"
                    )
                    res.outputs.append(int(o_payload))
                    res.out_cycles.append(cycle)
                else:
                    held = int(o_payload)
            await ctx.tick()
            cycle += 1
        res.cycles = cycle

    top = Module()  # a sync domain exists even if the component is purely combinational
    top.submodules.dut = dut
    tick = Signal()
    top.d.sync += tick.eq(~tick)
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    assert len(res.in_cycles) == len(inputs[first]), (
        f"only {len(res.in_cycles)}/{len(inputs[first])} input beats taken"
    )
    if expected_beats is not None:
        exp = [int(b) for b in expected_beats]
        assert len(res.outputs) == len(exp), f"{len(res.outputs)} output beats, expected {len(exp)}"
        for k, (got, want) in enumerate(zip(res.outputs, exp, strict=True)):
            assert got == want, f"output beat {k}: got {got:#x}, expected {want:#x}"
    return res


class JoinBehindFork(wiring.Component):
    """A join layer (``i0``, ``i1``, ...) behind a fork, as one stream component for the single-input benches:
    each beat of ``i`` carries one beat of every join input side by side (input ``k`` in the ``k``-th slice,
    input 0 in the least significant bits); the fork's outputs reach the join through a two-beat FIFO each,
    as the stitcher connects them. The join's inputs must have equal beats per frame. ``spec.cycles`` and
    ``latency_cycles`` are the cycle model of the three stages (fork 0, FIFO 1, the join's latency)."""

    def __init__(self, join):
        from types import SimpleNamespace

        from hwgen.layers.fifo import FIFOSpec
        from hwgen.layers.fork import ForkSpec

        s = join.spec
        beats = {s.port_elems(k) // s.simd for k in range(s.in_ports)}
        if len(beats) != 1:
            raise ValueError("the join's inputs must have equal beats per frame")
        self.join, self._beats = join, beats.pop()
        self.widths = [s.simd * dt.bits for dt in s.in_dtypes]
        self.fork = ForkSpec(
            dtype=UINT(sum(self.widths)), lanes=1, outputs=s.in_ports, frame_elems=self._beats
        )
        self.fifos = [FIFOSpec(dtype=UINT(w), lanes=1, depth=2, frame_elems=self._beats) for w in self.widths]
        self.stages = [self.fork, self.fifos[0], s]
        self.spec = SimpleNamespace(cycles=s.cycles, in_beats=self._beats, out_beats=s.out_beats)
        self.latency_cycles = self.fifos[0].latency + join.latency_cycles
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(sum(self.widths)))),
                "o": Out(stream.Signature(unsigned(s.simd * s.odt.bits))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.fork = fork = self.fork.component()
        m.submodules.join = self.join
        wiring.connect(m, wiring.flipped(self.i), fork.i)
        lo = 0
        for k, (w, spec) in enumerate(zip(self.widths, self.fifos, strict=True)):
            m.submodules[f"fifo{k}"] = fifo = spec.component()
            o = getattr(fork, f"o{k}")
            m.d.comb += [
                fifo.i.valid.eq(o.valid),
                fifo.i.payload.eq(o.payload[lo : lo + w]),
                o.ready.eq(fifo.i.ready),
            ]
            wiring.connect(m, fifo.o, getattr(self.join, f"i{k}"))
            lo += w
        wiring.connect(m, self.join.o, wiring.flipped(self.o))
        return m
