"""WidthConverter in amaranth.sim: the element sequence is unchanged, only re-sliced into beats."""

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.ir.datatypes import INT, UINT
from hwgen.layers.testing import pack, run_stream_test
from hwgen.layers.width_converter import WidthConverter, buffer_elems

CASES = [(1, 4), (4, 1), (2, 8), (8, 2), (3, 3), (2, 3), (3, 2), (4, 6), (5, 3)]
CASES += [(12, 8), (8, 12), (64, 48), (6, 10)]  # chunks of gcd(in, out) elements


@pytest.mark.parametrize("n_in,n_out", CASES)
def test_order_under_stalls(n_in, n_out):
    dt = INT(3)
    rng = np.random.default_rng(n_in * 10 + n_out)
    n = 4 * np.lcm(n_in, n_out)
    x = rng.choice(dt.values(), size=n)
    dut = WidthConverter(dt.bits, n_in, n_out)
    run_stream_test(dut, pack(x, dt, n_in), pack(x, dt, n_out), stall_prob=0.4, gap_prob=0.4, seed=n_in)


@pytest.mark.parametrize("n_in,n_out", CASES)
def test_cycles(n_in, n_out):
    dt = UINT(4)
    frame = 2 * np.lcm(n_in, n_out)
    x = np.arange(5 * frame) % 16
    dut = WidthConverter(dt.bits, n_in, n_out, frame_elems=int(frame))
    res = run_stream_test(dut, pack(x, dt, n_in), pack(x, dt, n_out))
    assert dut.ii_cycles == frame // min(n_in, n_out)
    assert res.frame_intervals(frame // n_out) == [dut.ii_cycles] * 4
    assert res.latency == dut.latency_cycles
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


def test_buffer_sizes():
    assert buffer_elems(2, 8) == buffer_elems(8, 2) == 10
    assert buffer_elems(2, 3) == 6


@pytest.mark.parametrize(
    "args,kwargs,exc,msg",
    [
        ((0, 1, 1), {}, ValueError, r"'bits' must be >= 1, not 0"),
        ((1, 2, None), {}, TypeError, r"'out_lanes' must be an int, not None"),
        (
            (1, 2, 3),
            {"frame_elems": 9},
            ValueError,
            r"'frame_elems'=9 must be a multiple of in_lanes",
        ),
    ],
)
def test_constructor_validation(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        WidthConverter(*args, **kwargs)


def test_converts_to_verilog():
    assert "module wc_top" in verilog.convert(WidthConverter(2, 3, 2), name="wc_top")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_random_ratios(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = (int(v) for v in rng.integers(1, 9, size=2))
    dt = UINT(int(rng.integers(1, 5)))
    x = rng.choice(dt.values(), size=3 * int(np.lcm(n_in, n_out)))
    dut = WidthConverter(dt.bits, n_in, n_out)
    run_stream_test(dut, pack(x, dt, n_in), pack(x, dt, n_out), stall_prob=0.5, gap_prob=0.5, seed=seed)
