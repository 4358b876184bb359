"""Drive a stream component in ``amaranth.sim`` with random input gaps and output stalls (tier 2).

The Python-side twin of :mod:`hwgen.sim.axis_bench`: the same beats in, the beats that came out
back, for the caller to compare with an independent reference.
"""

from __future__ import annotations

import random

from amaranth.hdl import Value
from amaranth.sim import Simulator

__all__ = ["run_stream_sim", "stream_get", "stream_put"]


async def stream_put(ctx, port, payload) -> None:
    """Offer one beat on ``port`` and hold it (valid and payload) until it is accepted."""
    ctx.set(port.valid, 1)
    ctx.set(Value.cast(port.payload), payload)
    while not (await ctx.tick().sample(port.ready))[2]:
        pass
    ctx.set(port.valid, 0)


async def stream_get(ctx, port) -> int:
    """Accept one beat from ``port``; returns its payload as an integer."""
    ctx.set(port.ready, 1)
    while True:
        _, _, valid, payload = await ctx.tick().sample(port.valid, Value.cast(port.payload))
        if valid:
            ctx.set(port.ready, 0)
            return int(payload)


def run_stream_sim(
    component,
    in_beats,
    n_out: int,
    *,
    gap_prob: float = 0.0,
    stall_prob: float = 0.0,
    seed: int = 0,
    max_cycles: int | None = None,
    extra_cycles: int = 64,
    vcd_path=None,
) -> list[int]:
    """Stream ``in_beats`` through ``component`` and collect ``n_out`` output beats.

    Parameters
    ----------
    component : wiring.Component
        Stream component with ports ``i`` and ``o``.
    in_beats : iterable of int
        Input payloads (as integers: lane 0 in the least significant bits).
    n_out : int
        Number of output beats to wait for.
    gap_prob, stall_prob : float
        Probability, per cycle, of the source withholding ``valid`` / the sink withholding ``ready``.
    seed : int
        Seed of the gap and stall patterns.
    max_cycles : int or None
        Give up after this many cycles (default: generous bound from the beat counts);
        fewer than ``n_out`` beats come back then.
    extra_cycles : int
        Cycles to keep the sink running after the last expected beat.
    vcd_path : str or Path or None
        Write a waveform there (keep it under ``tmp_path``).

    Returns
    -------
    list of int
        Output payloads, in order; beats beyond ``n_out`` that arrive within ``extra_cycles`` are
        included, so a duplicating component is caught.
    """
    in_beats = [int(b) for b in in_beats]
    rng_in, rng_out = random.Random(seed), random.Random(seed + 1)
    if max_cycles is None:
        slowdown = 1.0 / max(1e-3, (1 - gap_prob) * (1 - stall_prob))
        max_cycles = int(1000 + 10 * slowdown * (len(in_beats) + n_out))
    got: list[int] = []

    async def source(ctx):
        for beat in in_beats:
            while rng_in.random() < gap_prob:
                await ctx.tick()
            await stream_put(ctx, component.i, beat)

    async def sink(ctx):
        while True:
            while rng_out.random() < stall_prob:
                await ctx.tick()
            got.append(await stream_get(ctx, component.o))

    async def main(ctx):
        cycles = 0
        while len(got) < n_out and cycles < max_cycles:
            await ctx.tick()
            cycles += 1
        await ctx.tick().repeat(extra_cycles)  # a duplicated or spurious beat shows up here

    sim = Simulator(component)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink, background=True)
    sim.add_testbench(main)
    if vcd_path is not None:
        with sim.write_vcd(str(vcd_path)):
            sim.run()
    else:
        sim.run()
    return got
