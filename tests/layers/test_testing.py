"""The stream harness itself: it must catch each kind of broken component it is meant to catch."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hwgen.ir.datatypes import BIPOLAR, INT
from hwgen.layers.fifo import FIFO
from hwgen.layers.testing import pack, run_stream_test, stream_get, stream_put, unpack


class _Stage(wiring.Component):
    """A one-beat register stage with selectable defects."""

    i: In(stream.Signature(unsigned(4)))
    o: Out(stream.Signature(unsigned(4)))

    def __init__(self, defect=None):
        self._defect = defect
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        if self._defect == "comb_ready":
            m.d.comb += [
                self.o.valid.eq(self.i.valid),
                self.o.payload.eq(self.i.payload),
                self.i.ready.eq(self.o.ready),
            ]
            return m
        full = Signal()
        count = Signal(4)
        m.d.comb += [self.i.ready.eq(~full), self.o.valid.eq(full)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.payload.eq(self.i.payload), full.eq(1), count.eq(count + 1)]
            if self._defect == "corrupt":
                with m.If(count == 3):
                    m.d.sync += self.o.payload.eq(self.i.payload ^ 1)
        with m.Elif(self.o.ready | (self._defect == "drop")):
            m.d.sync += full.eq(self._defect == "duplicate")
        return m


def test_good_stage_passes():
    res = run_stream_test(_Stage(), list(range(10)), list(range(10)), stall_prob=0.5, gap_prob=0.5, seed=1)
    assert len(res.in_cycles) == len(res.out_cycles) == 10


@pytest.mark.parametrize(
    "defect,msg",
    [
        ("comb_ready", r"i.ready depends combinationally on o.ready"),
        ("drop", r"dropped or changed before ready"),
        ("duplicate", r"unexpected extra output beat|timeout"),
        ("corrupt", r"output beat 3: got 0x2, expected 0x3"),
    ],
)
def test_broken_stage_is_caught(defect, msg):
    with pytest.raises(AssertionError, match=msg):
        run_stream_test(
            _Stage(defect), list(range(10)), list(range(10)), stall_prob=0.5, gap_prob=0.3, seed=1
        )


def test_lost_beat_times_out():
    with pytest.raises(AssertionError, match=r"no beat moved for 20\d cycles: 10/10 in, 10/11 out"):
        run_stream_test(_Stage(), list(range(10)), list(range(11)))
    with pytest.raises(AssertionError, match=r"timeout after 30 cycles: \d+/10 in"):
        run_stream_test(_Stage(), list(range(10)), list(range(10)), max_cycles=30, stall_prob=0.5)


def test_pack_unpack_round_trip():
    x = np.array([1, -1, -1, 1, 1, 1, -1, 1])
    assert pack(x, BIPOLAR, 4) == [0b1001, 0b1011]  # element 0 in the LSB
    assert pack([-1, 2], INT(3), 2) == [0b010_111]
    assert unpack(pack(x, BIPOLAR, 4), BIPOLAR, 4).tolist() == x.tolist()
    with pytest.raises(ValueError, match=r"3 values do not fill beats of 2 lanes"):
        pack([1, 1, 1], INT(3), 2)


def test_stream_put_and_get_through_a_fifo():
    dut = FIFO(8, 4)
    got = []

    async def producer(ctx):
        for v in (3, 1, 4, 1, 5, 9):
            await stream_put(ctx, dut.i, v)

    async def consumer(ctx):
        for _ in range(6):
            got.append(await stream_get(ctx, dut.o))
            await ctx.tick().repeat(2)  # a slow reader: backpressure on the producer

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    assert got == [3, 1, 4, 1, 5, 9]


def test_positional_arguments_follow_the_documented_order():
    res = run_stream_test(_Stage(), [1, 2, 3], [1, 2, 3], 0.5, 0.5, 7)
    assert res.outputs == [1, 2, 3]


def test_deterministic_patterns():
    res = run_stream_test(_Stage(), list(range(6)), list(range(6)), stall_pattern=[True, True, False])
    assert all(c % 3 == 2 for c in res.out_cycles)
    res = run_stream_test(_Stage(), list(range(6)), list(range(6)), gap_pattern=[True, False])
    assert res.outputs == list(range(6))
