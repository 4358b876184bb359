"""StreamingMaxPool in amaranth.sim against hwgen.golden.ops.maxpool_nhwc."""

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT
from hwgen.layers.maxpool import StreamingMaxPool
from hwgen.layers.testing import pack, run_stream_test


def check(h, w, ch, k, simd, dt, images=2, stall=0.3, gap=0.3, seed=0, stride=None):
    rng = np.random.default_rng(seed)
    x = rng.choice(dt.values(), size=(images, h, w, ch))
    y = ops.maxpool_nhwc(x, k, stride)
    dut = StreamingMaxPool(h, w, ch, k=k, stride=stride, simd=simd, dtype=dt)
    assert dut.out_shape == y.shape[1:]
    res = run_stream_test(
        dut, pack(x, dt, simd), pack(y, dt, simd), stall_prob=stall, gap_prob=gap, seed=seed
    )
    return dut, res


@pytest.mark.parametrize(
    "h,w,ch,k,simd,dt",
    [
        (4, 4, 2, 2, 1, BIPOLAR),
        (4, 4, 4, 2, 4, BINARY),
        (5, 7, 2, 2, 2, INT(4)),  # odd sizes: last row and column dropped
        (6, 6, 3, 3, 1, UINT(2)),
        (3, 3, 2, 1, 1, INT(2)),  # k = 1 is the identity
        (2, 2, 1, 2, 1, INT(3)),  # one output pixel, one channel
    ],
)
def test_maxpool(h, w, ch, k, simd, dt):
    check(h, w, ch, k, simd, dt, seed=h * w + k)


@pytest.mark.parametrize(
    "h,w,ch,k,s,simd,dt",
    [
        (5, 5, 2, 3, 2, 1, INT(3)),
        (4, 5, 4, 2, 1, 2, BIPOLAR),
        (6, 6, 1, 2, 3, 1, UINT(2)),
        (3, 3, 2, 3, 1, 2, INT(4)),
    ],
)
def test_other_strides(h, w, ch, k, s, simd, dt):
    check(h, w, ch, k, simd, dt, stride=s, seed=h + s)


@pytest.mark.parametrize("h,w,ch,k,s,simd", [(5, 5, 2, 3, 2, 1), (4, 4, 2, 2, 1, 2), (6, 6, 1, 2, 3, 1)])
def test_cycles_other_strides(h, w, ch, k, s, simd):
    dut, res = check(h, w, ch, k, simd, INT(2), images=4, stall=0, gap=0, stride=s)
    per_image = dut.out_shape[0] * dut.out_shape[1] * ch // simd
    assert res.frame_intervals(per_image) == [dut.ii_cycles] * 3
    assert res.latency == dut.latency_cycles


def test_hand_case():
    x = np.array([[-1, 1], [-1, -1]]).reshape(1, 2, 2, 1)
    assert ops.maxpool_nhwc(x, 2).reshape(-1).tolist() == [1]
    dut = StreamingMaxPool(2, 2, 1, k=2, simd=1, dtype=BIPOLAR)
    run_stream_test(dut, [0, 1, 0, 0], [1], stall_prob=0.5, seed=1)


@pytest.mark.parametrize("h,w,ch,k,simd", [(4, 4, 2, 2, 1), (4, 6, 4, 2, 2), (3, 3, 2, 1, 2)])
def test_cycles(h, w, ch, k, simd):
    dut, res = check(h, w, ch, k, simd, INT(3), images=4, stall=0, gap=0)
    per_image = (h // k) * (w // k) * ch // simd
    assert res.frame_intervals(per_image) == [dut.ii_cycles] * 3 == [h * w * ch // simd] * 3
    assert res.latency == dut.latency_cycles
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


@pytest.mark.parametrize(
    "args,kwargs,exc,msg",
    [
        ((4, 4, 2), {"k": 5}, ValueError, r"'k'=5 does not fit a 4x4 image"),
        ((4, 4, 3), {"simd": 2}, ValueError, r"'simd'=2 must divide channels=3"),
        ((4, 0, 2), {}, ValueError, r"'width' must be >= 1, not 0"),
        ((4, 4, 2), {"stride": 0}, ValueError, r"'stride' must be >= 1, not 0"),
        ((4, 4, 2), {"dtype": "INT4"}, TypeError, r"'dtype' must be a hwgen.ir.datatypes.DataType"),
    ],
)
def test_constructor_validation(args, kwargs, exc, msg):
    kw = {"k": 2, "simd": 1, "dtype": INT(4)}
    kw.update(kwargs)
    with pytest.raises(exc, match=msg):
        StreamingMaxPool(*args, **kw)


def test_converts_to_verilog():
    dut = StreamingMaxPool(4, 4, 4, k=2, simd=2, dtype=INT(4))
    assert "module mp_top" in verilog.convert(dut, name="mp_top")


@pytest.mark.slow
def test_cnv_pool_size():
    check(28, 28, 64, 2, 16, BIPOLAR, images=1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_random_sweep(seed):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        k = int(rng.integers(1, 4))
        stride = int(rng.integers(1, 4))
        h, w = int(rng.integers(k, 8)), int(rng.integers(k, 8))
        ch = int(rng.choice([1, 2, 4]))
        simd = int(rng.choice([d for d in (1, 2, 4) if ch % d == 0]))
        dt = [BIPOLAR, INT(3), UINT(4)][int(rng.integers(0, 3))]
        check(h, w, ch, k, simd, dt, seed=seed, stride=stride)
