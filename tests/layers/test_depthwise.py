"""Depthwise convolution (window generator + vector-vector-threshold unit) in amaranth.sim against a
straightforward NumPy reference: per channel, the dot product of its own k x k window with its own taps."""

import numpy as np
import pytest

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT
from hwgen.layers.depthwise import Depthwise
from hwgen.layers.testing import pack, run_stream_test


def reference(img, w, k, stride, pad, pad_value, thr=None, off=0):
    """(N, OH, OW, C): per channel c, Σ_t w[c, t] · window[t, c], thresholded if ``thr`` is given."""
    win = ops.sliding_window(img, k, stride, pad, pad_value)
    n, oh, ow, kc = win.shape
    ch = img.shape[-1]
    acc = np.einsum("nyxtc,ct->nyxc", win.reshape(n, oh, ow, kc // ch, ch), w)
    return acc if thr is None else ops.multithreshold(acc, thr, off)


def check(h, wd, ch, k, stride, pad, pe, idt, wdt, nthr, seed=0, stall=0.3, frames=2):
    rng = np.random.default_rng(seed)
    img = rng.choice(idt.values(), size=(frames, h, wd, ch))
    w = rng.choice(wdt.values(), size=(ch, k * k))
    acc = reference(img, w, k, stride, pad, 0)
    thr = None
    if nthr:
        thr = np.sort(rng.integers(acc.min() - 1, acc.max() + 2, size=(ch, nthr)), axis=1)
    y = reference(img, w, k, stride, pad, 0, thr)
    dut = Depthwise(h, wd, ch, k=k, w=w, idt=idt, wdt=wdt, stride=stride, pad=pad, pe=pe, thresholds=thr)
    odt = BINARY if dut.odt == BIPOLAR else dut.odt
    exp = pack(y, odt, pe)
    res = run_stream_test(dut, pack(img, idt, pe), exp, stall_prob=stall, gap_prob=stall, seed=seed)
    return dut, res, len(exp) // frames


CASES = [  # h, w, C, k, stride, pad, pe, idt, wdt, thresholds
    (5, 5, 4, 3, 1, 1, 2, UINT(4), INT(4), 3),  # MobileNet-style: 3x3 pad 1, 4-bit, 2-bit activation
    (6, 6, 4, 3, 2, 1, 4, UINT(2), INT(3), 0),  # stride 2, raw dot products out, every channel per beat
    (4, 4, 2, 4, 1, 0, 1, UINT(4), UINT(1), 15),  # global 4x4 sum (average pooling: weights 1)
    (5, 5, 4, 3, 1, 0, 2, BIPOLAR, BIPOLAR, 1),  # binary: XNOR
    (5, 5, 4, 3, 1, 0, 4, BIPOLAR, BIPOLAR, 0),
    (4, 4, 8, 2, 2, 0, 8, INT(4), INT(4), 0),  # 2x2 stride 2, signed
    (3, 3, 3, 3, 1, 1, 3, INT(8), INT(8), 0),  # 8-bit: multipliers
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_exact_under_stalls_and_cycle_model(case):
    check(*case, seed=1)
    dut, res, beats = check(*case, seed=2, stall=0, frames=3)
    assert res.frame_intervals(beats) == [dut.ii_cycles] * 2
    assert res.latency == dut.latency_cycles


def test_average_pooling_of_a_hand_made_image():
    """All-ones weights over 2x2 windows, stride 2: each output is the sum of its block."""
    img = np.arange(16).reshape(1, 4, 4, 1) % 7
    w = np.ones((1, 4), int)
    dut = Depthwise(4, 4, 1, k=2, w=w, idt=UINT(3), wdt=UINT(1), stride=2)
    want = [[0 + 1 + 4 + 5, 2 + 3 + 6 + 0], [1 + 2 + 5 + 6, 3 + 4 + 0 + 1]]
    assert reference(img, w, 2, 2, 0, 0).reshape(2, 2).tolist() == want
    run_stream_test(dut, pack(img, UINT(3), 1), pack(np.array(want), dut.odt, 1))


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        ({"w": np.ones((4, 4), int)}, r"'w' must have shape \(4, 9\) \(channels, taps\)"),
        ({"pe": 3}, r"'simd'=3 must divide channels=4"),
        ({"idt": BIPOLAR, "wdt": BIPOLAR, "w": np.ones((4, 9), int), "pad": 1}, "no value of BIPOLAR is 0"),
        ({"w": np.full((4, 9), 9)}, "'w' holds values outside INT4"),
    ],
)
def test_parameters_are_checked(kwargs, msg):
    args = {"k": 3, "w": np.ones((4, 9), int), "idt": UINT(4), "wdt": INT(4)} | kwargs
    with pytest.raises(ValueError, match=msg):
        Depthwise(5, 5, 4, **args)
