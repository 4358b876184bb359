"""Masked padding lanes of a matrix layer after a padded window on bipolar values: the plain reference, the
fast executor (standalone and fused with the window) and an independent zero-padded convolution agree."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.golden import ops
from hwgen.golden.fast import HW_EXEC, mvtu_after_window
from hwgen.golden.float_ops import FLOAT_OPS
from hwgen.ir.datatypes import BIPOLAR, INT


def _masks(size, k, stride, pad):
    o = np.arange((size + 2 * pad - k) // stride + 1)
    rows = np.array([[not 0 <= oy * stride - pad + t < size for t in range(k)] for oy in o], np.int64)
    return rows


@pytest.mark.parametrize(
    ("k", "stride", "pad", "mh", "c"), [(3, 1, 1, 5, 3), (3, 2, 1, 70, 2), (5, 1, 2, 4, 65)]
)
@pytest.mark.parametrize("with_thresholds", [False, True])
def test_masked_lanes_equal_zero_padded_convolution(k, stride, pad, mh, c, with_thresholds):
    rng = np.random.default_rng(k * 100 + stride * 10 + c)
    n, h, w_ = 3, 7, 6
    x = rng.choice([-1, 1], size=(n, h, w_, c)).astype(np.int8)
    w = rng.choice([-1, 1], size=(mh, k * k * c)).astype(np.int64)
    # independent reference: the float model's zero-padded convolution on -1/+1 values (NCHW, weights MCkk)
    wc = w.reshape(mh, k, k, c).transpose(0, 3, 1, 2).astype(np.float32)
    conv = FLOAT_OPS["Conv"](
        [x.transpose(0, 3, 1, 2).astype(np.float32), wc], {"pads": [pad] * 4, "strides": [stride] * 2}
    )
    want = conv.transpose(0, 2, 3, 1).astype(np.int64)
    sw = {"k": k, "stride": stride, "pad": pad, "pad_value": 1}
    a = {
        "weights": w,
        "thresholds": None,
        "out_offset": 0,
        "in_dtype": BIPOLAR,
        "w_dtype": BIPOLAR,
        "out_dtype": INT(12),
        "pad_rows": _masks(h, k, stride, pad),
        "pad_cols": _masks(w_, k, stride, pad),
    }
    if with_thresholds:
        thr = np.sort(rng.integers(-k * k * c, k * k * c, size=(mh, 3)), axis=1)
        a.update(thresholds=thr, out_offset=-1, out_dtype=INT(3))
        want = ops.multithreshold(want, thr, -1)
    win = ops.sliding_window(x, k, stride, pad, pad_value=1)
    plain = ops.mvtu(win, w, a["thresholds"], a["out_offset"], a["pad_rows"], a["pad_cols"])
    assert np.array_equal(plain, want)
    assert np.array_equal(np.asarray(HW_EXEC["MVTU"]([win], a), np.int64), want)
    assert np.array_equal(np.asarray(mvtu_after_window(x, sw, a), np.int64), want)
    # without the masks the padded window would count the +1 padding: the masks matter on every border
    unmasked = ops.mvtu(win, w)
    if not with_thresholds:
        border = np.ones(want.shape[1:3], bool)
        border[1:-1, 1:-1] = False
        assert np.any(unmasked[:, border] != want[:, border])
