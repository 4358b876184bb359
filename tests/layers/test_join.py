"""The join layers (AddStreams, ConcatStreams) and the fork in amaranth.sim.

Each input port is driven on its own with random gaps, the output stalled at random; the reference is
written out here with NumPy (element-wise weighted sum; channels side by side). At full speed the measured
cycles per frame and the first-output latency equal the spec's.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import BIPOLAR, INT, UINT
from hwgen.layers import AddStreams, ConcatStreams, FIFOSpec, Fork
from hwgen.layers.testing import pack, run_stream_test, unpack


def _rand(rng, dt, shape):
    return rng.choice(dt.values(), size=shape)


@pytest.mark.parametrize(
    "dts,muls,odt,ch,simd",
    [
        ((UINT(4), UINT(4)), (1, 1), UINT(5), 4, 2),  # a 4-bit residual add, equal scales
        ((UINT(3), UINT(4)), (2, 1), UINT(5), 6, 3),  # the first operand's scale twice the second's
        ((BIPOLAR, BIPOLAR), (1, 1), INT(3), 4, 4),  # binary residual: -2, 0, 2
        ((INT(4), BIPOLAR), (1, 4), INT(5), 2, 1),
    ],
)
@pytest.mark.parametrize("speed", ["random", "full"])
def test_add_streams(dts, muls, odt, ch, simd, speed):
    rng = np.random.default_rng(ch * simd)
    pixels = 5
    xs = [_rand(rng, dt, (pixels, ch)) for dt in dts]
    want = muls[0] * xs[0] + muls[1] * xs[1]
    dut = AddStreams(ch, in_dtypes=dts, muls=muls, out_dtype=odt, pixels=pixels, simd=simd)
    ins = {f"i{k}": pack(x, dt, simd) for k, (x, dt) in enumerate(zip(xs, dts, strict=True))}
    p = 0.3 if speed == "random" else 0.0
    res = run_stream_test(dut, ins, pack(want, odt, simd), stall_prob=p, gap_prob=p, seed=ch)
    if speed == "full":
        assert res.frame_intervals(ch // simd) == [ch // simd] * (pixels - 1)  # one beat per cycle
        assert res.latency == dut.latency_cycles == 2
        assert dut.ii_cycles == pixels * ch // simd


@pytest.mark.parametrize(
    "dts,muls,chans,odt,simd",
    [
        ((UINT(3), UINT(3)), (1, 1), (2, 4), UINT(3), 2),  # equal scales: values pass through
        ((UINT(3), UINT(4)), (2, 1), (4, 4), UINT(4), 4),
        ((BIPOLAR, BIPOLAR), (1, 1), (3, 6), BIPOLAR, 3),  # binary stays binary
        ((INT(2), BIPOLAR), (1, 2), (1, 3), INT(3), 1),
    ],
)
@pytest.mark.parametrize("speed", ["random", "full"])
def test_concat_streams(dts, muls, chans, odt, simd, speed):
    rng = np.random.default_rng(sum(chans) * simd)
    pixels = 4
    xs = [_rand(rng, dt, (pixels, c)) for dt, c in zip(dts, chans, strict=True)]
    want = np.concatenate([muls[0] * xs[0], muls[1] * xs[1]], axis=1)
    dut = ConcatStreams(chans, in_dtypes=dts, muls=muls, out_dtype=odt, pixels=pixels, simd=simd)
    ins = {f"i{k}": pack(x, dt, simd) for k, (x, dt) in enumerate(zip(xs, dts, strict=True))}
    p = 0.3 if speed == "random" else 0.0
    res = run_stream_test(dut, ins, pack(want, odt, simd), stall_prob=p, gap_prob=p, seed=simd)
    if speed == "full":
        beats = sum(chans) // simd
        assert res.frame_intervals(beats) == [beats] * (pixels - 1)
        assert res.latency == dut.latency_cycles == 2
        assert dut.ii_cycles == pixels * beats


def test_join_timing_model_waits_for_the_late_input():
    dut = AddStreams(2, in_dtypes=(UINT(2), UINT(2)), muls=(1, 1), out_dtype=UINT(3), pixels=2, simd=1)
    out, taken = dut.spec.join_times([[0, 1, 2, 3], [5, 5, 9, 10]])
    assert taken == [[5, 6, 9, 10], [5, 6, 9, 10]] and out == [7, 8, 11, 12]
    cat = ConcatStreams((1, 2), in_dtypes=(UINT(2), UINT(2)), muls=(1, 1), out_dtype=UINT(2), pixels=2)
    out, taken = cat.spec.join_times([[0, 1], [3, 4, 5, 6]])
    assert taken == [[0, 5], [3, 4, 6, 7]] and out == [2, 5, 6, 7, 8, 9]


class _ForkToAdd(wiring.Component):
    """A fork of one stream into two FIFOs, added back with multipliers 1 and 2 (output = 3x)."""

    def __init__(self, dt, lanes, beats):
        self._dt, self._lanes, self._beats = dt, lanes, beats
        w = dt.bits * lanes
        super().__init__({"i": In(_sig(w)), "o": Out(_sig(INT(dt.bits + 3).bits * lanes))})

    def elaborate(self, platform):
        m = Module()
        dt, lanes = self._dt, self._lanes
        m.submodules.fork = fork = Fork(dt.bits * lanes, 2, beats_per_frame=self._beats)
        fifos = [
            FIFOSpec(dtype=dt, lanes=lanes, depth=2, frame_elems=self._beats * lanes).component()
            for _ in "ab"
        ]
        m.submodules.fa, m.submodules.fb = fifos
        add = AddStreams(lanes, in_dtypes=(dt, dt), muls=(1, 2), out_dtype=INT(dt.bits + 3), simd=lanes)
        m.submodules.add = add
        wiring.connect(m, wiring.flipped(self.i), fork.i)
        wiring.connect(m, fork.o0, fifos[0].i)
        wiring.connect(m, fork.o1, fifos[1].i)
        wiring.connect(m, fifos[0].o, add.i0)
        wiring.connect(m, fifos[1].o, add.i1)
        wiring.connect(m, add.o, wiring.flipped(self.o))
        return m


def _sig(width):
    from amaranth.hdl import unsigned
    from amaranth.lib import stream

    return stream.Signature(unsigned(width))


def test_fork_feeds_both_consumers_every_beat_once():
    rng = np.random.default_rng(3)
    x = _rand(rng, INT(4), (40, 2))
    dut = _ForkToAdd(INT(4), 2, 40)
    res = run_stream_test(
        dut, pack(x, INT(4), 2), pack(3 * x, INT(7), 2), stall_prob=0.4, gap_prob=0.3, seed=5
    )
    assert np.array_equal(unpack(res.outputs, INT(7), 2).reshape(x.shape), 3 * x)
    full = run_stream_test(_ForkToAdd(INT(4), 2, 40), pack(x, INT(4), 2), pack(3 * x, INT(7), 2))
    assert full.frame_intervals(1)[1:] == [1] * (len(x) - 2)  # one beat per cycle through fork and join


@pytest.mark.parametrize(
    "make,msg",
    [
        (lambda: AddStreams(4, in_dtypes=(UINT(4),), muls=(1,), out_dtype=UINT(5)), "two or more inputs"),
        (lambda: AddStreams(4, in_dtypes=(UINT(4), UINT(4)), muls=(1, 1), out_dtype=UINT(4)), "cannot hold"),
        (
            lambda: AddStreams(4, in_dtypes=(UINT(4), UINT(4)), muls=(1, 1), out_dtype=UINT(5), simd=3),
            "divide",
        ),
        (
            lambda: ConcatStreams(
                (2, 3), in_dtypes=(UINT(2), UINT(2)), muls=(1, 1), out_dtype=UINT(2), simd=2
            ),
            "divide",
        ),
        (lambda: ConcatStreams((2, 2), in_dtypes=(UINT(2), UINT(2)), muls=(1, 0), out_dtype=UINT(2)), ">= 1"),
    ],
)
def test_constructor_validation(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()
