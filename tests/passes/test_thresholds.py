"""Thresholds: hand-computed cases (ties, negative gamma, gamma = 0, clipping) and the exhaustive check."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.models import _B

from hwgen.golden import execute
from hwgen.ir.datatypes import BIPOLAR, INT
from hwgen.passes import streamline
from hwgen.passes.thresholds import ThresholdCheckError, check_thresholds, derive_thresholds

F32 = np.float32


def _one_layer(mul, add, quant_bits=2, n_in=4):
    """x (N, 4) -> BipolarQuant -> MatMul(all +1) -> Mul(mul) -> Add(add) -> Quant(2 bits, narrow)."""
    c = len(mul)
    b = _B((1, n_in))
    t = b.op("BipolarQuant", ["x", b.c(1.0)])
    t = b.op("MatMul", [t, b.c(np.ones((n_in, c), F32))])
    t = b.op("Add", [b.op("Mul", [t, b.c(np.asarray(mul, F32))]), b.c(np.asarray(add, F32))])
    return b.done(b.quant(t, quant_bits))


def test_hand_computed_thresholds():
    # acc in [-4, 4]; values -1/0/1 (2-bit narrow), out_offset -1.
    # ch0: round(acc/4): -0.5 -> 0 and 0.5 -> 0 (half to even), 0.75 -> 1:  thresholds [-2, 3]
    # ch1: round(-acc/4): antitone -> row negated, same thresholds on -acc: [-2, 3], negated
    # ch2: gamma = 0: 0*acc + 0.7 -> 1 for all acc:                          [-4, -4] (clipped: acc_min)
    # ch3: round(acc) clipped to [-1, 1]: acc >= 0 -> 0, acc >= 1 -> 1:      [0, 1]
    # ch4: acc - 10 <= -6 -> -1 always:                                      [5, 5] (acc_max + 1)
    g = _one_layer([0.25, -0.25, 0.0, 1.0, 1.0], [0.0, 0.0, 0.7, 0.0, -10.0])
    hw = streamline(g)
    (mv,) = [n for n in hw.hw_nodes() if n.op == "MVTU"]
    assert mv.attrs["thresholds"].tolist() == [[-2, 3], [-2, 3], [-4, -4], [0, 1], [5, 5]]
    assert mv.attrs["out_offset"] == -1 and mv.attrs["out_dtype"] == INT(2)
    assert list(mv.attrs["negated"]) == [1]
    assert np.all(mv.attrs["weights"][1] == -1) and np.all(mv.attrs["weights"][0] == 1)
    x = np.array(np.meshgrid(*[[-1.0, 0.0, 1.0]] * 4)).reshape(4, -1).T.astype(F32)
    assert np.array_equal(execute(hw, x)[0], execute(g, x)[0])


def test_batchnorm_with_eps_and_negative_gamma():
    # y = (acc - 0.25) * gamma / sqrt(var + eps) + 0 with var + eps = 1 exactly: sign(2acc - 0.5) -> acc >= 1;
    # gamma = -2: -2acc + 0.5 >= 0 <=> acc <= 0 <=> -acc >= 0 -> threshold 0 on the negated row.
    b = _B((1, 4))
    t = b.op("BipolarQuant", ["x", b.c(1.0)])
    t = b.op("MatMul", [t, b.c(np.ones((4, 2), F32))])
    eps = 0.25
    t = b.op(
        "BatchNormalization",
        [t, b.c([2.0, -2.0]), b.c([0.0, 0.0]), b.c([0.25, 0.25]), b.c([0.75, 0.75])],
        epsilon=eps,
    )
    hw = streamline(b.done(b.op("BipolarQuant", [t, b.c(1.0)])))
    (mv,) = hw.hw_nodes()
    assert mv.attrs["thresholds"].tolist() == [[1], [0]]
    assert mv.attrs["out_dtype"] == BIPOLAR


def _table():
    v = np.arange(-6, 7)
    table = np.stack([np.clip((v + 1) // 3 + 1, 0, 3), np.clip(v // 2 + 1, 0, 3)], axis=1)
    lo, hi = np.array([-6, -4]), np.array([6, 4])
    table = np.where((v[:, None] >= lo) & (v[:, None] <= hi), table, 0)
    return table, lo, hi


def test_derive_then_check_passes():
    table, lo, hi = _table()
    thr = derive_thresholds(table, lo, hi, -6, 3)
    assert np.all(np.diff(thr, axis=1) >= 0)
    assert np.all((thr >= lo[:, None]) & (thr <= hi[:, None] + 1))
    check_thresholds(table, lo, hi, -6, thr)


@pytest.mark.parametrize("ch,k,delta", [(0, 0, 1), (0, 1, -1), (1, 2, 1), (1, 0, -1)])
def test_check_fails_when_a_threshold_is_off_by_one(ch, k, delta):
    table, lo, hi = _table()
    thr = derive_thresholds(table, lo, hi, -6, 3)
    bad = thr.copy()
    bad[ch, k] += delta
    with pytest.raises(ThresholdCheckError, match=f"channel {ch}"):
        check_thresholds(table, lo, hi, -6, bad)


def test_streamlined_model_thresholds_are_tight_and_checked():
    """Perturbing a threshold of a real streamlined layer changes its output on some reachable value."""
    g = _one_layer([0.25, 0.5, 1.0], [0.1, -0.3, 0.0])
    hw = streamline(g)
    (mv,) = hw.hw_nodes()
    x = np.array(np.meshgrid(*[[-1.0, 1.0]] * 4)).reshape(4, -1).T.astype(F32)
    ref = execute(g, x)[0]
    for c in range(3):
        for k in range(2):
            t = mv.attrs["thresholds"][c, k]
            if mv.attrs["acc_min"][c] < t <= mv.attrs["acc_max"][c]:
                mv.attrs["thresholds"][c, k] += 2  # acc parity: all reachable accumulators are even
                assert not np.array_equal(execute(hw, x)[0], ref)
                mv.attrs["thresholds"][c, k] -= 2
    assert np.array_equal(execute(hw, x)[0], ref)


def test_real_arithmetic_off_by_one_is_repaired_to_float32():
    # 0.1f = 0.10000000149: in real arithmetic 5 * 0.1f > 0.5, so round() gives 1 from v = 5; in float32
    # 5 * 0.1f rounds to exactly 0.5, a tie that rounds to 0 (even): float32 first reaches 1 at v = 6.
    # Likewise -5 * 0.1f is exactly -0.5 in float32, which rounds to 0: level 0 starts at -5, not -4.
    g = _one_layer([0.1], [0.0], n_in=8)
    hw = streamline(g)
    (mv,) = hw.hw_nodes()
    assert mv.attrs["thresholds_repaired"] == 2
    assert mv.attrs["thresholds"].tolist() == [[-5, 6]]
    x = np.array(np.meshgrid(*[[-1.0, 1.0]] * 8)).reshape(8, -1).T.astype(F32)
    assert np.array_equal(execute(hw, x)[0], execute(g, x)[0])


def test_analytic_derivation_needs_no_repair_on_hand_cases():
    hw = streamline(_one_layer([0.25, -0.25, 0.0, 1.0, 1.0], [0.0, 0.0, 0.7, 0.0, -10.0]))
    assert hw.hw_nodes()[0].attrs["thresholds_repaired"] == 0


def test_check_refuses_unsorted_threshold_rows():
    """A count of reached thresholds does not see their order, but the hardware and the fast golden path
    (searchsorted) need ascending rows."""
    table, lo, hi = _table()
    thr = derive_thresholds(table, lo, hi, -6, 3)
    unsorted = thr[:, ::-1].copy()
    assert np.any(np.diff(unsorted, axis=1) < 0)
    with pytest.raises(ThresholdCheckError, match="not ascending"):
        check_thresholds(table, lo, hi, -6, unsorted)
