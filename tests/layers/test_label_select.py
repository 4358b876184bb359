"""LabelSelect in amaranth.sim against hwgen.golden.ops.label_select."""

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, INT, UINT
from hwgen.layers.label_select import LabelSelect
from hwgen.layers.testing import pack, run_stream_test


def check(ch, k, pe, idt, x, stall=0.3, gap=0.3, seed=0):
    dut = LabelSelect(ch, k=k, pe=pe, idt=idt)
    y = ops.label_select(x, k)
    res = run_stream_test(
        dut, pack(x, idt, pe), pack(y, dut.odt, 1), stall_prob=stall, gap_prob=gap, seed=seed
    )
    return dut, res


@pytest.mark.parametrize(
    "ch,k,pe,idt",
    [
        (10, 1, 1, INT(8)),
        (10, 3, 2, INT(4)),
        (10, 5, 5, INT(3)),
        (4, 4, 4, UINT(2)),
        (6, 2, 3, BINARY),
        (1, 1, 1, INT(2)),
    ],
)
def test_label_select(ch, k, pe, idt):
    rng = np.random.default_rng(ch * k + pe)
    x = rng.choice(idt.values(), size=(4, ch))  # narrow value ranges: many ties
    check(ch, k, pe, idt, x, seed=k)


def test_ties_go_to_the_lower_index():
    x = np.array([[3, 7, 7, 1, 7, 3]])
    assert ops.label_select(x, 4).tolist() == [[1, 2, 4, 0]]  # hand-computed
    check(6, 4, 2, INT(4), x)
    check(6, 4, 3, INT(4), np.zeros((2, 6), dtype=int))


@pytest.mark.parametrize("ch,k,pe", [(10, 1, 1), (10, 3, 5), (8, 4, 8), (12, 2, 3), (10, 1, 10), (6, 3, 2)])
def test_cycles(ch, k, pe):
    rng = np.random.default_rng(1)
    x = rng.integers(-8, 8, size=(5, ch))
    dut, res = check(ch, k, pe, INT(4), x, stall=0, gap=0)
    assert dut.ii_cycles == max(ch // pe, k)
    assert res.frame_intervals(k) == [dut.ii_cycles] * 4
    assert res.latency == dut.latency_cycles
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


@pytest.mark.parametrize(
    "ch,kwargs,exc,msg",
    [
        (10, {"k": 11}, ValueError, r"'k'=11 must be <= channels=10"),
        (10, {"k": 0}, ValueError, r"'k' must be >= 1, not 0"),
        (10, {"pe": 3}, ValueError, r"'pe'=3 must divide channels=10"),
        (10, {"idt": None}, TypeError, r"'idt' must be a hwgen.ir.datatypes.DataType, not None"),
    ],
)
def test_constructor_validation(ch, kwargs, exc, msg):
    kw = {"k": 2, "pe": 1, "idt": INT(4)}
    kw.update(kwargs)
    with pytest.raises(exc, match=msg):
        LabelSelect(ch, **kw)


def test_converts_to_verilog():
    dut = LabelSelect(10, k=3, pe=2, idt=INT(8))
    assert "module ls_top" in verilog.convert(dut, name="ls_top")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_random_sweep(seed):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        ch = int(rng.integers(1, 13))
        k = int(rng.integers(1, ch + 1))
        pe = int(rng.choice([d for d in range(1, ch + 1) if ch % d == 0]))
        idt = [INT(2), INT(8), UINT(3)][int(rng.integers(0, 3))]
        check(ch, k, pe, idt, rng.choice(idt.values(), size=(3, ch)), seed=seed)
