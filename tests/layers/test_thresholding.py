"""Thresholding unit in amaranth.sim against hwgen.golden.ops.multithreshold."""

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT
from hwgen.layers.testing import pack, run_stream_test
from hwgen.layers.thresholding import Thresholding


def check(ch, pe, idt, thr, off=0, pixels=3, stall=0.3, gap=0.3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    dut = Thresholding(ch, pe=pe, idt=idt, thresholds=thr, out_offset=off, **kw)
    x = rng.choice(idt.values(), size=(pixels, ch))
    y = ops.multithreshold(x if idt != BIPOLAR else x, thr, off)
    odt = BINARY if dut.odt == BIPOLAR else dut.odt
    res = run_stream_test(dut, pack(x, idt, pe), pack(y, odt, pe), stall_prob=stall, gap_prob=gap, seed=seed)
    return dut, res


@pytest.mark.parametrize(
    "ch,pe,idt,nthr,off",
    [
        (4, 2, INT(6), 3, -2),
        (6, 3, UINT(8), 1, 0),  # on-chip first quantizer of raw pixels
        (6, 6, UINT(8), 3, 0),
        (1, 1, INT(4), 15, -8),
        (4, 1, BIPOLAR, 1, 0),
        (8, 4, INT(10), 7, 0),
    ],
)
def test_thresholding(ch, pe, idt, nthr, off):
    rng = np.random.default_rng(ch + pe + nthr)
    thr = np.sort(rng.integers(idt.min - 2, idt.max + 3, size=(ch, nthr)), axis=1)
    check(ch, pe, idt, thr, off, seed=nthr)


def test_block_ram_threshold_rom():
    # 128 folds of one channel: the threshold ROM is a synchronous block-RAM read port.
    rng = np.random.default_rng(7)
    thr = np.sort(rng.integers(-34, 35, size=(128, 3)), axis=1)
    check(128, 1, INT(6), thr, -1, pixels=2, seed=4)


def test_edges_shared_row_and_extremes():
    check(4, 2, INT(4), np.array([[-8, -8, 7, 8]]), seed=1, pixels=4)  # shared row at both extremes
    check(2, 1, INT(4), np.array([[3, 3, 3], [-100, 0, 100]]), seed=2, pixels=8)  # all equal; out of range
    dut, _ = check(2, 2, INT(4), np.array([[0], [1]]), odt=BIPOLAR, seed=3, pixels=8, storage="rom")
    assert dut.odt == BIPOLAR


@pytest.mark.parametrize("ch,pe", [(6, 2), (4, 4), (3, 1)])
def test_cycles(ch, pe):
    thr = np.arange(3 * ch).reshape(ch, 3) - 4
    dut, res = check(ch, pe, INT(5), thr, pixels=5, stall=0, gap=0)
    assert res.frame_intervals(ch // pe) == [dut.ii_cycles] * 4 == [ch // pe] * 4
    assert res.latency == dut.latency_cycles
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        ({"channels": 0}, ValueError, r"'channels' must be >= 1, not 0"),
        ({"pe": 3}, ValueError, r"'pe'=3 must divide channels=4"),
        ({"idt": 4}, TypeError, r"'idt' must be a hwgen.ir.datatypes.DataType, not 4"),
        ({"thresholds": np.zeros((2, 2))}, ValueError, r"'thresholds' must have shape \(4 or 1, T>=1\)"),
        ({"thresholds": [[1.5]]}, ValueError, r"'thresholds' must hold integer values"),
        ({"storage": "bram"}, ValueError, r"'storage' must be 'auto', 'rom' or 'hardwired', not 'bram'"),
        ({"odt": UINT(1)}, ValueError, r"'odt' UINT1 cannot hold outputs 0..3"),
    ],
)
def test_constructor_validation(kwargs, exc, msg):
    args = {"channels": 4, "pe": 2, "idt": INT(4), "thresholds": np.zeros((4, 3), dtype=int)}
    args.update(kwargs)
    ch = args.pop("channels")
    with pytest.raises(exc, match=msg):
        Thresholding(ch, **args)


def test_converts_to_verilog():
    dut = Thresholding(4, pe=2, idt=INT(8), thresholds=np.arange(12).reshape(4, 3))
    assert "module thr_top" in verilog.convert(dut, name="thr_top")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_random_sweep(seed):
    rng = np.random.default_rng(seed)
    for _ in range(4):
        ch = int(rng.choice([1, 2, 3, 4, 6, 8]))
        pe = int(rng.choice([d for d in range(1, ch + 1) if ch % d == 0]))
        idt = [BIPOLAR, INT(2), INT(8), UINT(8), UINT(3)][int(rng.integers(0, 5))]
        nthr = int(rng.choice([1, 3, 7]))
        rows = int(rng.choice([1, ch]))
        thr = np.sort(rng.integers(idt.min - 2, idt.max + 3, size=(rows, nthr)), axis=1)
        check(ch, pe, idt, thr, int(rng.integers(-4, 1)), seed=seed)


@pytest.mark.parametrize("a_shape,b_shape", [("s4", "s5"), ("u3", "s4"), ("s5", "u2"), ("u4", "u4")])
def test_staged_comparison_is_exhaustively_ge(a_shape, b_shape):
    """``ge_staged`` (a comparison cut in two halves with registered partials) against ``>=`` on
    every pair of values of both shapes, one cycle later."""
    from amaranth.hdl import Module, Signal, signed, unsigned
    from amaranth.sim import Simulator

    from hwgen.layers._thresholds import ge_staged

    def shape(t):
        return (signed if t[0] == "s" else unsigned)(int(t[1:]))

    def values(t):
        n = int(t[1:])
        return range(-(1 << (n - 1)), 1 << (n - 1)) if t[0] == "s" else range(1 << n)

    m = Module()
    a, b = Signal(shape(a_shape)), Signal(shape(b_shape))
    ge = ge_staged(m, a, b, "cmp")
    pairs = [(x, y) for x in values(a_shape) for y in values(b_shape)]
    got = []

    async def bench(ctx):
        for x, y in pairs:
            ctx.set(a, x)
            ctx.set(b, y)
            await ctx.tick()
            got.append(ctx.get(ge))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == [int(x >= y) for x, y in pairs]
