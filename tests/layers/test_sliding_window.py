"""SlidingWindow in amaranth.sim against hwgen.golden.ops.sliding_window."""

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.golden import ops
from hwgen.ir.datatypes import BIPOLAR, INT, UINT
from hwgen.layers.sliding_window import SlidingWindow
from hwgen.layers.testing import pack, run_stream_test


def check(h, w, ch, k, s, pad, simd, dt, pad_value=0, images=2, stall=0.3, gap=0.3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.choice(dt.values(), size=(images, h, w, ch))
    y = ops.sliding_window(x, k, s, pad, pad_value)
    dut = SlidingWindow(h, w, ch, k=k, stride=s, pad=pad, pad_value=pad_value, simd=simd, dtype=dt)
    assert dut.out_shape == y.shape[1:]
    ins, exp = pack(x, dt, simd), pack(y, dt, simd)
    return dut, run_stream_test(dut, ins, exp, stall_prob=stall, gap_prob=gap, seed=seed)


@pytest.mark.parametrize(
    "h,w,ch,k,s,pad,simd,dt",
    [
        (4, 4, 2, 3, 1, 0, 1, BIPOLAR),
        (5, 5, 2, 3, 2, 1, 2, INT(3)),
        (4, 5, 4, 2, 2, 0, 2, UINT(2)),  # non-overlapping windows
        (3, 3, 1, 3, 1, 0, 1, INT(4)),  # one window: the whole image
        (4, 4, 3, 1, 1, 0, 3, INT(2)),  # 1x1: the identity
        (6, 5, 1, 2, 3, 0, 1, INT(2)),  # stride > k: unused rows and columns
        (4, 4, 2, (3, 2), 1, 1, 1, INT(2)),  # rectangular window with padding
    ],
)
def test_sliding_window(h, w, ch, k, s, pad, simd, dt):
    check(h, w, ch, k, s, pad, simd, dt, seed=h + w + s)


def test_pad_value_bipolar():
    check(3, 3, 1, 3, 1, 1, 1, BIPOLAR, pad_value=-1, seed=3)
    check(3, 3, 1, 3, 1, 2, 1, INT(3), pad_value=-4, seed=4)


@pytest.mark.parametrize(
    "h,w,ch,k,s,pad,simd",
    [
        (4, 4, 2, 3, 1, 0, 2),
        (4, 4, 2, 2, 2, 0, 1),
        (5, 5, 1, 3, 1, 1, 1),
        (4, 6, 2, 1, 1, 0, 1),
        (6, 6, 1, 2, 1, 0, 1),
        (1, 1, 2, 1, 1, 0, 2),  # one beat per frame: two cycles
        (8, 8, 2, 3, 1, 1, 1),  # a 128-word buffer (may be a block RAM): its read word is registered
    ],
)
def test_cycles(h, w, ch, k, s, pad, simd):
    dut, res = check(h, w, ch, k, s, pad, simd, INT(2), images=4, stall=0, gap=0)
    per_image = dut.out_shape[0] * dut.out_shape[1] * dut.out_shape[2] // simd
    assert res.frame_intervals(per_image) == [dut.ii_cycles] * 3
    assert res.latency == dut.latency_cycles
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_random_sweep(seed):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        k = int(rng.integers(1, 4))
        s = int(rng.integers(1, 3))
        pad = int(rng.integers(0, k))
        h, w = int(rng.integers(k, 7)), int(rng.integers(k, 7))
        ch = int(rng.choice([1, 2, 4]))
        simd = int(rng.choice([d for d in (1, 2, 4) if ch % d == 0]))
        check(h, w, ch, k, s, pad, simd, INT(3), images=2, seed=seed)


@pytest.mark.parametrize(
    "args,kwargs,exc,msg",
    [
        ((4, 4, 2), {"pad": 3}, ValueError, r"'pad'=3 must be smaller than the window 3x3"),
        ((2, 2, 2), {}, ValueError, r"a 3x3 window does not fit a 2x2 \(padded\) image"),
        ((4, 4, 2), {"stride": 0}, ValueError, r"'stride' must be >= 1, not 0"),
        (
            (4, 4, 2),
            {"pad": 1, "pad_value": 5, "dtype": INT(2)},
            ValueError,
            r"'pad_value'=5 is not a INT2",
        ),
        ((4, 4, 3), {"simd": 2}, ValueError, r"'simd'=2 must divide channels=3"),
        ((4, 4, 2), {"k": "3"}, TypeError, r"'k' must be an int, not '3'"),
    ],
)
def test_constructor_validation(args, kwargs, exc, msg):
    kw = {"k": 3, "simd": 1, "dtype": INT(4)}
    kw.update(kwargs)
    with pytest.raises(exc, match=msg):
        SlidingWindow(*args, **kw)


def test_converts_to_verilog():
    dut = SlidingWindow(6, 6, 4, k=3, pad=1, pad_value=-1, simd=2, dtype=BIPOLAR)
    assert "module sw_top" in verilog.convert(dut, name="sw_top")


@pytest.mark.slow
def test_cnv_first_layer_size():
    check(32, 32, 3, 3, 1, 0, 3, UINT(8), images=1, stall=0.2, gap=0.2)


@pytest.mark.parametrize(
    "h,w,ch,k,s,pad,simd",
    [(5, 5, 4, 3, 1, 1, 2), (6, 6, 6, 3, 2, 1, 3), (4, 4, 4, 4, 1, 0, 1), (5, 4, 2, (3, 2), 1, 1, 2)],
)
def test_depthwise_order(h, w, ch, k, s, pad, simd):
    """Depthwise order: per window, channel fold by channel fold, the fold's taps in (ky, kx) order: the
    (ky, kx, c) window of ops.sliding_window regrouped, checked under gaps and stalls and on the model."""
    rng = np.random.default_rng(h + ch)
    dt = INT(3)
    x = rng.choice(dt.values(), size=(2, h, w, ch))
    y = ops.sliding_window(x, k, s, pad, -1)
    n, oh, ow, kc = y.shape
    taps = kc // ch
    y = y.reshape(n, oh, ow, taps, ch // simd, simd).transpose(0, 1, 2, 4, 3, 5)
    dut = SlidingWindow(h, w, ch, k=k, stride=s, pad=pad, pad_value=-1, simd=simd, dtype=dt, depthwise=True)
    ins, exp = pack(x, dt, simd), pack(y, dt, simd)
    run_stream_test(dut, ins, exp, stall_prob=0.3, gap_prob=0.3, seed=s)
    res = run_stream_test(dut, ins, exp, stall_prob=0, gap_prob=0, seed=0)
    assert res.frame_intervals(len(exp) // 2) == [dut.ii_cycles]
    assert res.latency == dut.latency_cycles
