"""MVTU after a padded sliding window on bipolar values: the padding lanes count 0 (issue 13).

Bipolar codes cannot hold the model's padding 0, so the window pads with +1 and the MVTU masks those
lanes from its own count of window positions (``pad_rows``/``pad_cols``). Reference: the window of
:func:`hwgen.golden.ops.sliding_window` padded with 0 (an exact integer image, which the bipolar stream
cannot carry) times the weights, and a hand-computed case.
"""

import numpy as np
import pytest

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT
from hwgen.layers.mvtu import MVTU
from hwgen.layers.testing import pack, run_stream_test


def pad_taps(size: int, k: int, stride: int, pad: int) -> np.ndarray:
    """(O, k) 0/1: tap t of output o reads outside the image."""
    out = (size + 2 * pad - k) // stride + 1
    return np.array([[not 0 <= o * stride - pad + t < size for t in range(k)] for o in range(out)], int)


def run(img, wt, k, stride, pad, pe, simd, wdt=BIPOLAR, thr=None, stall=0.3, gap=0.3, seed=0, **kw):
    """The MVTU on the +1-padded window stream of ``img`` (frames, H, W, C); checks every output beat
    against the zero-padded integer convolution and returns (dut, result, outputs)."""
    frames, h, w, ch = img.shape
    rows, cols = pad_taps(h, k, stride, pad), pad_taps(w, k, stride, pad)
    stream = ops.sliding_window(img, k, stride, pad, 1)  # what the hardware window emits
    exact = ops.sliding_window(img, k, stride, pad, 0)  # the model's padding: 0
    mh, mw = wt.shape
    y = ops.mvtu(exact.reshape(-1, mw), wt, thr).reshape(frames, -1, mh)
    dut = MVTU(
        wt, idt=BIPOLAR, wdt=wdt, pe=pe, simd=simd, thresholds=thr, vectors=len(rows) * len(cols),
        pad_rows=rows, pad_cols=cols, **kw,
    )  # fmt: skip
    odt = BINARY if dut.odt == BIPOLAR else dut.odt
    ins = [b for f in range(frames) for v in stream[f].reshape(-1, mw) for b in pack(v, BIPOLAR, simd)]
    exp = [b for f in range(frames) for v in y[f] for b in pack(v, odt, pe)]
    return dut, run_stream_test(dut, ins, exp, stall_prob=stall, gap_prob=gap, seed=seed), y


def test_hand_computed_border_sums():
    """All +1 image and weights, 3x3, pad 1: a corner window sees 4 pixels, an edge 6, the centre 9."""
    img, wt = np.ones((1, 3, 3, 1), int), np.ones((1, 9), int)
    _, _, y = run(img, wt, 3, 1, 1, 1, 3)
    assert y.reshape(3, 3).tolist() == [[4, 6, 4], [6, 9, 6], [4, 6, 4]]


CASES = [  # h, w, ch, k, stride, pad, mh, pe, simd, wdt
    (4, 4, 2, 3, 1, 1, 4, 2, 2, BIPOLAR),  # one pixel per beat
    (5, 4, 3, 3, 1, 1, 2, 1, 9, BIPOLAR),  # three pixels per beat, non-square image
    (4, 4, 4, 3, 2, 1, 3, 3, 12, BIPOLAR),  # stride 2
    (4, 4, 4, 3, 2, 1, 3, 3, 6, BIPOLAR),  # a beat across two pixels
    (4, 4, 4, 3, 1, 1, 2, 1, 36, BIPOLAR),  # the whole window in one beat
    (5, 5, 1, 5, 1, 2, 2, 2, 5, BIPOLAR),  # 5x5, pad 2
    (4, 4, 2, 3, 1, 1, 4, 2, 2, INT(2)),  # bipolar x int: sign lanes, masked weights
    (4, 4, 2, 3, 1, 1, 4, 2, 6, INT(3)),  # sign tree
]


@pytest.mark.parametrize("pipeline", [0, 2])
@pytest.mark.parametrize("nthr", [0, 1, 2])
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_padding_lanes_count_zero_under_stalls(case, nthr, pipeline):
    h, w, ch, k, stride, pad, mh, pe, simd, wdt = case
    rng = np.random.default_rng(h * w + ch + nthr)
    img = rng.choice([-1, 1], size=(2, h, w, ch))
    wt = rng.choice(wdt.values(), size=(mh, k * k * ch))
    bound = int(np.abs(wt).sum(axis=1).max())
    thr = np.sort(rng.integers(-bound, bound + 2, size=(mh, nthr)), axis=1) if nthr else None
    run(img, wt, k, stride, pad, pe, simd, wdt, thr, seed=nthr + pipeline, pipeline=pipeline)


def test_cycle_model_holds_at_full_speed():
    rng = np.random.default_rng(7)
    img = rng.choice([-1, 1], size=(3, 4, 4, 2))
    wt = rng.choice([-1, 1], size=(4, 18))
    thr = np.zeros((4, 1), int)
    dut, res, _ = run(img, wt, 3, 1, 1, 2, 6, thr=thr, stall=0, gap=0, pipeline=2)
    per_frame = 16 * (4 // 2) * (18 // 6)
    assert dut.spec.cycles == per_frame
    assert res.frame_intervals(16 * 4 // 2) == [per_frame] * 2
    assert res.latency == dut.latency_cycles


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        ({"idt": INT(2), "wdt": INT(2)}, r"'pad_rows'/'pad_cols' mask bipolar inputs, not INT2"),
        ({"vectors": 3}, r"describe 2x2 windows, but 'vectors'=3"),
        ({"pad_cols": None}, r"'pad_rows' and 'pad_cols' go together"),
        ({"pad_rows": np.full((2, 3), 2)}, r"must hold 0/1"),
        ({"pad_rows": np.zeros((2, 4), int)}, r"describe a 4x3 window, but MW=18 is not one"),
    ],
)
def test_pad_tables_are_checked(kwargs, msg):
    args = {
        "idt": BIPOLAR, "wdt": BIPOLAR, "vectors": 4, "pad_rows": pad_taps(2, 3, 1, 1),
        "pad_cols": pad_taps(2, 3, 1, 1),
    }  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        MVTU(np.ones((2, 18), int), **args)
