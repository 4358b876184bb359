"""NumPy semantics of the hardware IR's streaming ops — the contract the hardware layers meet.

All arrays hold integer *values* (see :mod:`hwgen.ir.datatypes`: bipolar as -1/+1), int64.
Each function is written the plain way on purpose: it is the reference the Amaranth layers
and the fast golden executor are compared with.

Stream order (DESIGN.md §2/§3): tensors are NHWC with channels fastest. A matrix layer with
MW inputs folded by SIMD receives MW/SIMD beats, beat ``b`` lane ``j`` = ``x[b*SIMD + j]``; it
sends MH/PE beats, beat ``f`` lane ``p`` = output channel ``f*PE + p``. The im2col vector of a
k×k window is ordered (ky, kx, c), c fastest; conv weights (MH, C, k, k) are reordered to match.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "pad_image",
    "add_streams",
    "concat_channels",
    "label_select",
    "matvec",
    "maxpool_nhwc",
    "multithreshold",
    "mvtu",
    "pad_lane_mask",
    "sliding_window",
]


def matvec(x, w) -> np.ndarray:
    """Integer matrix-vector product: ``x`` (..., MW), ``w`` (MH, MW) -> (..., MH) int64.

    For bipolar x and w this equals ``2*popcount(xnor) - MW``.
    """
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if x.shape[-1] != w.shape[1]:
        raise ValueError(f"matvec: x has {x.shape[-1]} inputs, w has {w.shape[1]} columns")
    return x @ w.T


def multithreshold(acc, thresholds, out_offset: int = 0) -> np.ndarray:
    """``out_offset + #{t : acc >= thresholds[c, t]}`` per channel ``c`` (last axis of ``acc``).

    ``thresholds`` is (C, T) or (1, T) (shared by all channels), integers, each row ascending.
    T = 1 gives a binary/bipolar output (offset 0: BINARY 0/1, which as a bit is also the
    bipolar code; the value -1/+1 is ``2*count - 1``), T = 2**n - 1 gives an n-bit output.
    Antitone channels (negative batch-norm gamma) never reach here: the passes negate that
    channel's weight row instead.
    """
    acc = np.asarray(acc, dtype=np.int64)
    thr = np.asarray(thresholds, dtype=np.int64)
    if thr.ndim != 2 or thr.shape[0] not in (1, acc.shape[-1]):
        raise ValueError(
            f"multithreshold: thresholds shape {thr.shape} does not fit {acc.shape[-1]} channels"
        )
    if thr.shape[1] > 1 and np.any(np.diff(thr, axis=1) < 0):
        raise ValueError("multithreshold: threshold rows must be ascending")
    count = (acc[..., None] >= thr).sum(axis=-1)
    return count.astype(np.int64) + int(out_offset)


def pad_lane_mask(pad_rows, pad_cols, mw: int) -> np.ndarray:
    """(OH, OW, MW) booleans: lane (ky, kx, c) of output position (oy, ox) is padding when
    ``pad_rows[oy, ky]`` or ``pad_cols[ox, kx]`` (see the MVTU's ``pad_rows``/``pad_cols``)."""
    rows, cols = np.asarray(pad_rows, bool), np.asarray(pad_cols, bool)
    (oh, kh), (ow, kw) = rows.shape, cols.shape
    if mw % (kh * kw):
        raise ValueError(f"pad_lane_mask: {mw} lanes are not a {kh}x{kw} window of channels")
    m = rows[:, None, :, None] | cols[None, :, None, :]  # (OH, OW, KH, KW)
    return np.repeat(m.reshape(oh, ow, kh * kw), mw // (kh * kw), axis=-1)


def mvtu(x, w, thresholds=None, out_offset: int = 0, pad_rows=None, pad_cols=None) -> np.ndarray:
    """Matrix-vector-threshold unit: thresholds of ``x @ w.T``; raw accumulators if ``thresholds`` is None.

    With ``pad_rows``/``pad_cols`` ``x`` is a window stream (N, OH, OW, MW) and its padding lanes count 0.
    """
    if pad_rows is not None:
        x = np.where(pad_lane_mask(pad_rows, pad_cols, np.shape(x)[-1]), 0, np.asarray(x, np.int64))
    acc = matvec(x, w)
    if thresholds is None:
        return acc
    return multithreshold(acc, thresholds, out_offset)


def pad_image(x, pad, pad_value=0) -> np.ndarray:
    """An NHWC image padded with ``pad_value``: ``pad`` rows/columns on every border, or (top, left, bottom,
    right) as ONNX orders a 2-D ``pads`` attribute."""
    t, left, b, r = (pad,) * 4 if np.isscalar(pad) else pad
    if not (t or left or b or r):
        return np.asarray(x)
    return np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=pad_value)


def sliding_window(x, k: int, stride: int = 1, pad: int = 0, pad_value: int = 0) -> np.ndarray:
    """im2col of an NHWC tensor: (N, H, W, C) -> (N, OH, OW, k*k*C), vector order (ky, kx, c).

    ``k`` may be an int or a (kh, kw) pair; ``pad`` pads every border with ``pad_value`` (or is a (top,
    left, bottom, right) tuple).
    """
    x = pad_image(np.asarray(x, dtype=np.int64), pad, pad_value)
    kh, kw = (k, k) if np.isscalar(k) else k
    n, h, w_, c = x.shape
    oh, ow = (h - kh) // stride + 1, (w_ - kw) // stride + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"sliding_window: {kh}x{kw} window does not fit a {h}x{w_} image")
    out = np.empty((n, oh, ow, kh * kw * c), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            win = x[:, oy * stride : oy * stride + kh, ox * stride : ox * stride + kw, :]
            out[:, oy, ox, :] = win.reshape(n, -1)
    return out


def maxpool_nhwc(x, k: int, stride: int | None = None) -> np.ndarray:
    """Max-pool of an NHWC tensor with a k×k window (floor mode, no padding)."""
    x = np.asarray(x, dtype=np.int64)
    stride = k if stride is None else stride
    n, h, w_, c = x.shape
    oh, ow = (h - k) // stride + 1, (w_ - k) // stride + 1
    out = np.empty((n, oh, ow, c), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            win = x[:, oy * stride : oy * stride + k, ox * stride : ox * stride + k, :]
            out[:, oy, ox, :] = win.max(axis=(1, 2))
    return out


def label_select(x, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values along the last axis, largest first, ties to the lower index
    (as ONNX TopK with ``largest=1, sorted=1``)."""
    x = np.asarray(x, dtype=np.int64)
    if not 1 <= k <= x.shape[-1]:
        raise ValueError(f"label_select: k={k} must be in 1..{x.shape[-1]}")
    order = np.argsort(-x, axis=-1, kind="stable")
    return order[..., :k].astype(np.int64)


def depthwise(x, w, k, stride=1, pad=0, pad_value=0, thresholds=None, out_offset: int = 0) -> np.ndarray:
    """Depthwise convolution of an NHWC image: out[n, y, x, c] = Σ_t w[c, t] · window[n, y, x, t, c] (the
    (ky, kx) taps of :func:`sliding_window`), thresholded when ``thresholds`` is given."""
    x = np.asarray(x, np.int64)
    win = sliding_window(x, k, stride, pad, pad_value)
    n, oh, ow, kc = win.shape
    c = x.shape[-1]
    acc = np.einsum("nyxtc,ct->nyxc", win.reshape(n, oh, ow, kc // c, c), np.asarray(w, np.int64))
    return acc if thresholds is None else multithreshold(acc, thresholds, out_offset)


def add_streams(xs, muls) -> np.ndarray:
    """Element-wise ``Σ_i muls[i] · xs[i]`` of tensors of one shape (a residual add on integer values)."""
    return sum(int(m) * np.asarray(x, np.int64) for x, m in zip(xs, muls, strict=True))


def concat_channels(xs, muls) -> np.ndarray:
    """The channels (last axis) of ``muls[i] · xs[i]`` side by side."""
    return np.concatenate([int(m) * np.asarray(x, np.int64) for x, m in zip(xs, muls, strict=True)], axis=-1)
