"""FIFO in amaranth.sim: order and count preserved under gaps and stalls; fill level honoured."""

import random

import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from hwgen.layers.fifo import FIFO, ram_style
from hwgen.layers.testing import run_stream_test


@pytest.mark.parametrize("width,depth", [(8, 1), (8, 2), (5, 3), (16, 17), (1, 64), (32, 12), (16, 40)])
@pytest.mark.parametrize("stall,gap", [(0.5, 0.2), (0.1, 0.6)])
def test_fifo_order(width, depth, stall, gap):
    rng = random.Random(width * depth)
    beats = [rng.randrange(1 << width) for _ in range(60)]
    run_stream_test(FIFO(width, depth), beats, beats, stall_prob=stall, gap_prob=gap, seed=depth)


@pytest.mark.parametrize("depth", [2, 4, 9])
def test_fifo_holds_depth_beats_without_reader(depth):
    """With the reader stalled for long, exactly ``depth`` beats are accepted."""
    dut = FIFO(4, depth)
    accepted = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 0)
        ctx.set(dut.i.valid, 1)
        for cycle in range(depth + 10):
            ctx.set(dut.i.payload, cycle % 16)
            if ctx.get(dut.i.ready):
                accepted.append(cycle)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(accepted) == depth


@pytest.mark.parametrize(
    "width,depth,style,latency",
    [
        (8, 1, "registers", 1),
        (8, 2, "registers", 1),
        (8, 8, "registers", 1),
        (16, 40, "lutram", 3),
        (64, 512, "bram", 4),
    ],
)
def test_fifo_cycles(width, depth, style, latency):
    """A small FIFO is a shift queue of registers (latency 1), a larger one a memory in front of a queue
    (write, read, queue: latency 3; a block RAM also registers its read word: 4); all move one beat
    per cycle."""
    dut = FIFO(width, depth, beats_per_frame=4)
    res = run_stream_test(dut, list(range(20)), list(range(20)))
    expected_ii = 4 if depth > 1 else 8  # a one-register FIFO passes a beat every other cycle
    assert res.frame_intervals(4) == [expected_ii] * 4 == [dut.ii_cycles] * 4
    assert res.latency == dut.latency_cycles == latency
    assert dut.ram_style == style
    assert ram_style(64, 512) == "bram"
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


@pytest.mark.parametrize("depth", [3, 5, 40])
def test_fifo_outputs_come_from_flip_flops(depth):
    """``o.valid``, ``o.payload`` and ``i.ready`` do not depend combinationally on the neighbours' signals
    (they hold when ``o.ready`` and ``i.valid`` toggle within a cycle)."""
    dut = FIFO(16, depth)
    seen = []

    async def bench(ctx):
        for cycle in range(3 * depth + 10):
            ctx.set(dut.i.payload, cycle)
            ctx.set(dut.i.valid, cycle % 3 != 0)
            ctx.set(dut.o.ready, cycle % 5 == 0)
            a = (ctx.get(dut.o.valid), ctx.get(dut.o.payload), ctx.get(dut.i.ready))
            ctx.set(dut.o.ready, cycle % 5 != 0)
            ctx.set(dut.i.valid, cycle % 3 == 0)
            b = (ctx.get(dut.o.valid), ctx.get(dut.o.payload), ctx.get(dut.i.ready))
            seen.append(a == b)
            ctx.set(dut.i.valid, cycle % 3 != 0)
            ctx.set(dut.o.ready, cycle % 5 == 0)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert all(seen)


@pytest.mark.parametrize(
    "args,exc,msg",
    [
        ((0, 4), ValueError, r"'width' must be >= 1, not 0"),
        ((8, 0), ValueError, r"'depth' must be >= 1, not 0"),
        ((8, "4"), TypeError, r"'depth' must be an int, not '4'"),
    ],
)
def test_constructor_validation(args, exc, msg):
    with pytest.raises(exc, match=msg):
        FIFO(*args)


@pytest.mark.parametrize("depth", [2, 16])
def test_converts_to_verilog(depth):
    assert "module fifo_top" in verilog.convert(FIFO(8, depth), name="fifo_top")


@pytest.mark.parametrize("width,depth", [(64, 100), (8, 200), (32, 512), (64, 32)])
def test_ram_style_agrees_with_the_resource_estimate(width, depth):
    dut = FIFO(width, depth)
    assert (dut.ram_style == "bram") == (dut.resources()["bram_bits"] > 0)
