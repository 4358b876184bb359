"""UART receiver and transmitter of the board shell, in the Amaranth simulator: random bytes through a
transmitter into a receiver, a hand-made line with a bad stop bit, and constructor checks."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from hwgen.flow.uart import UartRx, UartTx


@pytest.mark.parametrize("divisor", [4, 7])
def test_loopback_carries_every_byte(divisor):
    rng = random.Random(divisor)
    data = [rng.randrange(256) for _ in range(40)] + [0x00, 0xFF, 0x55, 0xAA]
    m = Module()
    m.submodules.tx = tx = UartTx(divisor)
    m.submodules.rx = rx = UartRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    got = []

    async def source(ctx):
        for b in data:
            ctx.set(tx.i.payload, b)
            ctx.set(tx.i.valid, 1)
            await ctx.tick().until(tx.i.ready)
            ctx.set(tx.i.valid, 0)
            for _ in range(rng.randrange(3)):  # gaps between bytes
                await ctx.tick()

    async def sink(ctx):
        ctx.set(rx.o.ready, 1)
        while len(got) < len(data):
            _, _, valid, payload, framing, overrun = await ctx.tick().sample(
                rx.o.valid, rx.o.payload, rx.framing, rx.overrun
            )
            assert not framing and not overrun
            if valid:
                got.append(payload)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run_until(1e-6 * 12 * divisor * (len(data) + 4))
    assert got == data


def test_bad_stop_bit_drops_the_byte_and_unread_bytes_overrun():
    d = 4
    rx = UartRx(d)
    seen = {"framing": 0, "bytes": [], "overrun": 0}

    def bits(byte, stop=1):
        return [0, *((byte >> k) & 1 for k in range(8)), stop]

    async def line(ctx):
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(5)
        for b in [*bits(0x3C, stop=0), 1, 1, *bits(0xA5), *bits(0x81)]:
            ctx.set(rx.rx, b)
            await ctx.tick().repeat(d)
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(4 * d)

    async def monitor(ctx):  # never ready: the second good byte overruns the first
        sampled = ctx.tick().sample(rx.framing, rx.o.valid, rx.o.payload, rx.overrun)
        async for _, _, framing, valid, payload, overrun in sampled:
            seen["framing"] += framing
            seen["overrun"] = overrun
            if valid and payload not in seen["bytes"]:
                seen["bytes"].append(payload)

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(line)
    sim.add_process(monitor)
    sim.run_until(1e-6 * 60 * d)
    assert seen["framing"] == 1
    assert seen["bytes"] == [0xA5, 0x81]
    assert seen["overrun"] == 1


@pytest.mark.parametrize("bad", [3, 0, 4.0, True])
def test_divisor_is_checked(bad):
    with pytest.raises(TypeError, match=r"'divisor' must be an integer of at least 4 clock cycles per bit"):
        UartRx(bad)
    with pytest.raises(TypeError, match="'divisor'"):
        UartTx(bad)
