"""The reference semantics in hwgen/golden/ops.py against hand-computed cases.

Everything else (hardware layers, the fast golden executor) is compared with these functions,
so here they are pinned to values worked out by hand.
"""

import numpy as np
import pytest

from hwgen.golden import ops


def test_matvec_bipolar_is_xnor_popcount():
    x = np.array([1, -1, 1, 1])
    w = np.array([[1, 1, 1, 1], [1, -1, 1, 1], [-1, 1, -1, -1]])
    # agreements: 3, 4, 0  ->  2*P - N = 2, 4, -4
    assert ops.matvec(x, w).tolist() == [2, 4, -4]


def test_multithreshold_counts_thresholds_reached():
    acc = np.array([[-3, 0, 2, 5]])
    thr = np.array([[-1, 2, 4]])  # shared by all channels
    assert ops.multithreshold(acc, thr).tolist() == [[0, 1, 2, 3]]
    assert ops.multithreshold(acc, thr, out_offset=-1).tolist() == [[-1, 0, 1, 2]]


def test_multithreshold_per_channel_and_equality_counts():
    acc = np.array([[4, 4]])
    thr = np.array([[4], [5]])
    assert ops.multithreshold(acc, thr).tolist() == [[1, 0]]


def test_multithreshold_rejects_bad_shapes():
    with pytest.raises(ValueError, match="does not fit 2 channels"):
        ops.multithreshold(np.zeros((1, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="ascending"):
        ops.multithreshold(np.zeros((1, 1)), np.array([[2, 1]]))


def test_sliding_window_order_is_ky_kx_c():
    # 1 image, 3x3, 2 channels: value = 100*y + 10*x + c
    y, x, c = np.meshgrid(np.arange(3), np.arange(3), np.arange(2), indexing="ij")
    img = (100 * y + 10 * x + c)[None]
    out = ops.sliding_window(img, 2, stride=1)
    assert out.shape == (1, 2, 2, 8)
    assert out[0, 1, 0].tolist() == [100, 101, 110, 111, 200, 201, 210, 211]


def test_sliding_window_padding_and_stride():
    img = np.ones((1, 2, 2, 1), dtype=np.int64)
    out = ops.sliding_window(img, 3, stride=1, pad=1, pad_value=-1)
    assert out.shape == (1, 2, 2, 9)
    assert out[0, 0, 0].tolist() == [-1, -1, -1, -1, 1, 1, -1, 1, 1]
    out2 = ops.sliding_window(np.arange(16).reshape(1, 4, 4, 1), 2, stride=2)
    assert out2[0, 1, 1].tolist() == [10, 11, 14, 15]


def test_maxpool():
    img = np.array([1, 5, 2, 0, 3, 4, 9, 8, -1, 7, 6, 2, 0, 0, 0, 0]).reshape(1, 4, 4, 1)
    assert ops.maxpool_nhwc(img, 2)[..., 0].tolist() == [[[5, 9], [7, 6]]]


def test_label_select_ties_to_lower_index():
    x = np.array([[3, 7, 7, 1, 7]])
    assert ops.label_select(x, 3).tolist() == [[1, 2, 4]]
    assert ops.label_select(x, 1).tolist() == [[1]]
    with pytest.raises(ValueError):
        ops.label_select(x, 6)
