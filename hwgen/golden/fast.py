"""Fast NumPy execution of the hardware ops and of the float <-> integer bridges.

Same results as the plain reference in :mod:`hwgen.golden.ops` (``tests/golden/test_fast.py`` compares them),
but vectorised. Matrix layers (and a SlidingWindow fused with the matrix layer after it) with 64 rows or more
run as exact float32 GEMMs in blocks (:mod:`hwgen.golden.gemm`: two output channels per column when the
bounds allow; measured ~1.5x faster per multiply than XNOR-popcount for CNV's convolutions); fewer rows, or
weights too large for float32, use bit-packed XNOR-popcount with ``np.bitwise_count`` (bipolar) or one
float32/float64 product. Thresholds are one comparison per threshold or a per-channel ``searchsorted``.
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import BIPOLAR, DataType
from . import float_ops, ops
from .gemm import OneThreshold, conv_gemm, gemm_plan, rows_gemm

F32 = np.float32
GEMM_MIN_ROWS = 64  # fewer rows: the XNOR-popcount / single product is as fast

__all__ = [
    "HW_EXEC", "conv_xnor", "from_codes", "matvec_fast", "mvtu_after_window", "threshold_fast", "to_codes",
]  # fmt: skip


def pack_bipolar(x: np.ndarray) -> np.ndarray:
    """(..., K) of -1/+1 -> (..., ceil(K/64)) uint64 words, bit 1 = +1, padding bits 0."""
    bits = np.packbits(np.asarray(x) > 0, axis=-1, bitorder="little")
    pad = (-bits.shape[-1]) % 8
    if pad:
        bits = np.concatenate([bits, np.zeros((*bits.shape[:-1], pad), np.uint8)], axis=-1)
    return np.ascontiguousarray(bits).view(np.uint64)


def _bipolar(flag: np.ndarray) -> np.ndarray:
    """Booleans -> int8 -1/+1 (arithmetic on the bytes: much faster than ``np.where`` with scalars)."""
    return flag.view(np.int8) * np.int8(2) - np.int8(1)


_PREPARED: dict = {}


def _prepared(w: np.ndarray, key: str, make):
    """Per-weight-array derived data (packed bits, bounds), computed once per array object."""
    hit = _PREPARED.get((id(w), key))
    if hit is None or hit[0] is not w:
        if len(_PREPARED) > 256:
            _PREPARED.clear()
        hit = _PREPARED[(id(w), key)] = (w, make(w))
    return hit[1]


def popcount_mismatch(xp: np.ndarray, wp: np.ndarray, limit=None, chunk: int = 1024) -> np.ndarray:
    """``popcount(xp[r] xor wp[m])`` summed over words: xp (R, W) and wp (M, W) uint64 -> (R, M) int64.

    With ``limit`` (M,) the result is instead the bipolar value ``+1 if mismatches <= limit[m] else -1``
    (int8): a one-threshold layer fused into the popcount. Works in row chunks with preallocated buffers
    (the temporaries stay in cache), large inputs split over two threads (NumPy releases the GIL).
    """
    r, m = xp.shape[0], wp.shape[0]
    xt, wt = np.ascontiguousarray(xp.T), np.ascontiguousarray(wp.T)
    out = np.empty((r, m), dtype=np.int64 if limit is None else np.int8)

    def work(lo: int, hi: int) -> None:
        n0 = min(chunk, hi - lo)
        tmp, cnt = np.empty((n0, m), dtype=np.uint64), np.empty((n0, m), dtype=np.uint8)
        acc = np.empty((n0, m), dtype=np.uint16 if xt.shape[0] * 64 < 1 << 16 else np.int32)
        for s in range(lo, hi, chunk):
            e = min(hi, s + chunk)
            n = e - s
            acc[:n] = 0
            for j in range(xt.shape[0]):
                np.bitwise_xor(xt[j, s:e, None], wt[j], out=tmp[:n])
                np.bitwise_count(tmp[:n], out=cnt[:n])
                acc[:n] += cnt[:n]
            out[s:e] = acc[:n] if limit is None else _bipolar(acc[:n] <= limit)

    half = (r // 2 // chunk + 1) * chunk
    if r * m * xt.shape[0] < 1 << 22 or half >= r:
        work(0, r)
    else:
        t = threading.Thread(target=work, args=(half, r))
        t.start()
        work(0, min(half, r))
        t.join()
    return out


def _xnor_limit(a: dict, k: int):
    """Mismatch limits equivalent to a single threshold with bipolar output, or None."""
    thr = a.get("thresholds")
    if thr is None or thr.shape[1] != 1 or not _is_bipolar(a["out_dtype"]):
        return None
    t = np.broadcast_to(np.asarray(thr[:, 0], np.int64), (a["weights"].shape[0],))
    return np.floor_divide(k - t, 2)  # k - 2*miss >= t  <=>  miss <= floor((k - t) / 2)


def xnor_popcount_dot(x: np.ndarray, w: np.ndarray, limit=None) -> np.ndarray:
    """Bipolar dot products ``x @ w.T`` as ``K - 2*popcount(x xor w)``; x (R, K), w (MH, K)."""
    miss = popcount_mismatch(pack_bipolar(x), _prepared(w, "packed", pack_bipolar), limit)
    return miss if limit is not None else x.shape[-1] - 2 * miss


def conv_xnor(x, sw: dict, w, limit=None) -> np.ndarray:
    """SlidingWindow followed by a bipolar matrix, without building the window: (N, OH, OW, MH) dot products.

    The window vector is ordered (ky, kx, c): its XNOR-popcount is the sum over (ky, kx) of the popcounts of
    the per-pixel channel words, so the window is built from packed words (64 channels per word).
    """
    x = np.asarray(x)
    (kh, kw), s, p = _kernel(sw), sw["stride"], sw.get("pad", 0)
    x = ops.pad_image(x, p, sw.get("pad_value", 0))
    c = x.shape[-1]
    xp = pack_bipolar(x)
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::s, ::s]
    n, oh, ow, nw = win.shape[:4]
    win = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n * oh * ow, kh * kw * nw)
    shape = (-1, kh, kw, c)
    wp = _prepared(
        w, f"packed{kh}x{kw}", lambda w: pack_bipolar(np.reshape(w, shape)).reshape(-1, kh * kw * nw)
    )
    miss = popcount_mismatch(win, wp, limit)
    return (miss if limit is not None else kh * kw * c - 2 * miss).reshape(n, oh, ow, -1)


def _kernel(sw: dict) -> tuple[int, int]:  # (kh, kw) of a window's k (an int or a pair)
    return (int(sw["k"]),) * 2 if np.isscalar(sw["k"]) else tuple(int(v) for v in sw["k"])


def matvec_fast(x, w, xnor: bool = False, x_bound: int | None = None):
    """``x (..., MW) @ w.T`` with exact integer results (int64, or float32 holding exact integers).

    ``x_bound`` is a known bound of ``|x|`` (from its datatype); without it the data is scanned.
    """
    x = np.asarray(x)
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    w = np.asarray(w)
    if x_bound is None:
        x_bound = int(np.abs(x2).max(initial=0))
    if xnor:
        acc = xnor_popcount_dot(x2, w)
    elif _prepared(w, "l1", lambda w: int(np.abs(w).sum(axis=1).max(initial=0))) * x_bound < 1 << 24:
        wf = _prepared(w, "f32T", lambda w: np.ascontiguousarray(w.astype(np.float32).T))
        acc = x2.astype(np.float32) @ wf  # every partial sum is an exact float32 integer
    else:
        acc = np.rint(x2.astype(np.float64) @ w.astype(np.float64).T).astype(np.int64)
    return acc.reshape(*lead, -1)


def threshold_fast(acc, thr, out_offset: int = 0, bipolar: bool = False, narrow: bool = False) -> np.ndarray:
    """Multithreshold on the last axis; ``2*count - 1`` (int8) for a bipolar output.

    With ``narrow`` the result is int8 whenever every possible output value fits (else int64).
    """
    acc = np.asarray(acc)
    thr = np.asarray(thr, dtype=np.int64)
    if acc.dtype.kind == "f":
        thr = thr.astype(acc.dtype)  # exact: |thr| <= accumulator range + 1 < 2**24
    n_thr, off = thr.shape[1], int(out_offset)
    lo, hi = (-1, 2 * n_thr - 1) if bipolar else (off, off + n_thr)
    ct = np.int8 if narrow and -128 <= lo and hi <= 127 else np.int64
    if n_thr == 1:
        hit = acc >= thr[:, 0]
        return _bipolar(hit) if bipolar else hit.view(np.int8).astype(ct) + ct(off)
    if n_thr <= 16:
        cnt = np.zeros(acc.shape, dtype=ct)
        for t in range(n_thr):
            cnt += (acc >= thr[:, t]).view(np.int8)
    else:
        flat = acc.reshape(-1, acc.shape[-1])
        cnt = np.empty(flat.shape, dtype=np.int64)
        for c in range(flat.shape[1]):
            cnt[:, c] = np.searchsorted(thr[c if thr.shape[0] > 1 else 0], flat[:, c], side="right")
        cnt = cnt.reshape(acc.shape).astype(ct, copy=False)
    return cnt * ct(2) - ct(1) if bipolar else cnt + ct(off)


def _is_bipolar(dt: DataType) -> bool:
    return dt == BIPOLAR


def is_xnor(a: dict) -> bool:
    """True if an MVTU's attributes make it an XNOR-popcount layer."""
    return _is_bipolar(a["in_dtype"]) and _is_bipolar(a["w_dtype"])


def _x_bound(a: dict) -> int:
    dt = a["in_dtype"]
    return max(abs(dt.min), abs(dt.max))


def _post(a: dict):
    """Dot products -> the MVTU's output (thresholds, or the int64 accumulators)."""
    thr = a.get("thresholds")
    if thr is None:
        return lambda acc: acc.astype(np.int64)
    off, bip = a.get("out_offset", 0), _is_bipolar(a["out_dtype"])
    if np.shape(thr)[1] == 1:
        return OneThreshold(np.asarray(thr)[:, 0], bip, off)
    return lambda acc: threshold_fast(acc, thr, off, bip, narrow=True)


def _plan(a: dict):
    """Cached float32 GEMM operand of an MVTU (None when float32 would not be exact)."""
    xb = _x_bound(a)
    return _prepared(a["weights"], f"gemm{xb}", lambda w: gemm_plan(w, xb))


def _unpadded(a: dict) -> dict:
    return {**a, "thresholds": None, "pad_rows": None, "pad_cols": None}


def _pad_correction(a: dict, pad_value: int) -> np.ndarray:
    """(OH, OW, MH): what the padding lanes, holding ``pad_value``, add to each dot product."""
    w = np.asarray(a["weights"], np.int64)
    rows, cols = np.asarray(a["pad_rows"], np.int64), np.asarray(a["pad_cols"], np.int64)
    kh, kw = rows.shape[1], cols.shape[1]
    wsum = w.reshape(w.shape[0], kh, kw, -1).sum(axis=-1)  # (MH, KH, KW)
    mask = (rows[:, None, :, None] | cols[None, :, None, :]).astype(np.int64)  # (OH, OW, KH, KW)
    return pad_value * np.einsum("yxhw,ohw->yxo", mask, wsum)


def _mvtu(ins, a):
    x = np.asarray(ins[0])
    if a.get("pad_rows") is not None:  # padding lanes count 0: mask them, then an exact integer product
        x = np.where(ops.pad_lane_mask(a["pad_rows"], a["pad_cols"], x.shape[-1]), 0, x)
        acc = matvec_fast(x, a["weights"], xnor=False, x_bound=_x_bound(a))
        return _post(a)(np.asarray(acc))
    if x.ndim > 1 and x.size // x.shape[-1] >= GEMM_MIN_ROWS and _plan(a) is not None:
        return rows_gemm(x, a["weights"], _x_bound(a), _post(a), _plan(a))
    if is_xnor(a):
        limit = _xnor_limit(a, x.shape[-1])
        if limit is not None:
            return xnor_popcount_dot(x.reshape(-1, x.shape[-1]), a["weights"], limit).reshape(
                *x.shape[:-1], -1
            )
    acc = matvec_fast(x, a["weights"], xnor=is_xnor(a), x_bound=_x_bound(a))
    return _post(a)(np.asarray(acc))


def mvtu_after_window(x, sw: dict, a: dict) -> np.ndarray:
    """SlidingWindow + MVTU in one step (same result as running them one after the other).

    Float32 GEMM on window blocks when exact (:mod:`hwgen.golden.gemm`), else XNOR-popcount on packed words
    (bipolar), else the two nodes one after the other.
    """
    if a.get("pad_rows") is not None:  # the padded window's dot products minus the padding lanes' share
        acc = np.asarray(mvtu_after_window(x, sw, _unpadded(a)), np.int64)
        return _post(a)(acc - _pad_correction(a, int(sw.get("pad_value", 0))))
    plan = _plan(a)
    if plan is not None and abs(int(sw.get("pad_value", 0)) if sw.get("pad") else 0) <= _x_bound(a):
        return conv_gemm(x, sw, a["weights"], _x_bound(a), _post(a), plan)
    if not is_xnor(a):
        return _mvtu([_sliding_window([x], sw)], a)
    kh, kw = _kernel(sw)
    k = kh * kw * np.shape(x)[-1]
    limit = _xnor_limit(a, k)
    acc = conv_xnor(x, sw, a["weights"], limit)
    if limit is not None or a.get("thresholds") is None:
        return acc
    return _post(a)(acc)


def _thresholding(ins, a):
    return threshold_fast(ins[0], a["thresholds"], a.get("out_offset", 0), _is_bipolar(a["out_dtype"]))


def _sliding_window(ins, a):
    (kh, kw), s = _kernel(a), a["stride"]
    x = ops.pad_image(np.asarray(ins[0]), a.get("pad", 0), a.get("pad_value", 0))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::s, ::s]
    n, oh, ow, c = win.shape[:4]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n, oh, ow, kh * kw * c)


def _depthwise(ins, a):
    acc = ops.depthwise(
        ins[0], a["weights"], a["k"], a.get("stride", 1), a.get("pad", 0), a.get("pad_value", 0)
    )
    return _post(a)(acc)


def _maxpool_hw(ins, a):
    x = np.asarray(ins[0])
    k, s = a["k"], a["stride"]
    oh, ow = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
    if s == k:  # non-overlapping windows: an element-wise maximum of k*k strided slices
        out = x[:, : oh * k : k, : ow * k : k]
        for dy in range(k):
            for dx in range(k):
                out = np.maximum(out, x[:, dy : oh * k : k, dx : ow * k : k])
        return out
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
    return win.max(axis=(-2, -1))


def activation_raw(act: dict, x) -> np.ndarray:
    """Integer output of an activation (Quant / BipolarQuant / MultiThreshold / Grid) on float input ``x``.

    ``Quant`` gives ``y_int - zeropt``, ``BipolarQuant`` -1/+1, ``MultiThreshold`` the count, ``Grid``
    (raw integer input declared by the user) ``rint(x / scale)``.
    """
    with np.errstate(all="ignore"):  # the model's float32 arithmetic, as the executor computes it
        return _activation_raw(act, x)


def _activation_raw(act: dict, x) -> np.ndarray:
    op, c, at = act["op"], act["consts"], act["attrs"]
    if op == "Quant":
        y = float_ops.quant_integer(
            x, c[0], c[1], c[2], at.get("signed", 1), at.get("narrow", 0), at.get("rounding_mode", "ROUND")
        )
        y = y - F32(c[1])
    elif op == "Trunc":  # consts: scale, zeropt, output scale, output bits
        y = float_ops.trunc_integer(
            x,
            c[0],
            c[1],
            c[2],
            c[3],
            at.get("signed", 1),
            at.get("narrow", 0),
            at.get("rounding_mode", "FLOOR"),
        )
        y = y - F32(c[1]) / float_ops.trunc_factor(c[0], c[2])
    elif op == "BipolarQuant":
        y = _bipolar(np.asarray(x, F32) >= 0)
    elif op == "MultiThreshold":
        y = float_ops.mt_count(x, c[0], float_ops.mt_channel_axis(at, np.ndim(x)))
    elif op == "Grid":  # raw integer input: x must be exactly the value the chip rebuilds from the code
        scale, how, c = float(c[0]), c[1], F32(c[2])
        x32 = np.asarray(x, F32)
        y = np.rint(np.asarray(x32, np.float64) / scale)
        back = (y.astype(F32) / c) if how == "Div" else (y.astype(F32) * c)
        if not np.array_equal(back.astype(F32), x32):
            form = f"k / {c:g} in float32" if how == "Div" else f"k * {c!r} in float32"
            raise HwgenError(
                f"input values are not exactly integers k times the declared input scale {scale:g} ({form})"
            )
    else:
        raise ValueError(f"not an activation: {op}")
    return np.asarray(y).astype(np.int64)


def to_codes(ins, a):
    """Float -> integer values: ``a_mul * raw + a_add``, then ``perm`` (what the host does)."""
    v = activation_raw(a["act"], ins[0]) * int(a.get("a_mul", 1)) + int(a.get("a_add", 0))
    dt = a["dtype"]
    if v.size and (
        not dt.allowed(v) if dt.kind == "bipolar" else (v.min() < dt.min or v.max() > dt.max)
    ):  # integer values: the range is the whole check (DataType.allowed also tests integrality, slower)
        raise HwgenError(f"inputs: quantized input values fall outside {dt} (the input datatype)")
    if -128 <= dt.min and dt.max <= 127:
        v = v.astype(np.int8)  # smaller tensors downstream; values unchanged
    return np.transpose(v, a["perm"]) if a.get("perm") else v


def from_codes(ins, a):
    """Integer values -> float32: ``float32(v * mul) + add`` on the last axis, then ``perm``, then ``shape``
    (the batch axis kept)."""
    v = np.asarray(ins[0])
    if "exact_mul" in a:  # exact-arithmetic layer: the float value is acc * mul rounded (via float64)
        y = (v.astype(np.float64) * a["exact_mul"]).astype(F32)
    else:
        y = v.astype(F32) * np.asarray(a["mul"], F32)
    add = np.asarray(a.get("add", 0.0), F32)
    if np.any(add != 0):
        y = y + add
    y = y.astype(F32)
    if a.get("perm"):
        y = np.transpose(y, a["perm"])
    if a.get("shape"):
        y = y.reshape(y.shape[0], *a["shape"][1:])
    return y


HW_EXEC = {
    "AddStreams": lambda ins, a: ops.add_streams(ins, a["muls"]),
    "ConcatStreams": lambda ins, a: ops.concat_channels(ins, a["muls"]),
    "MVTU": _mvtu,
    "Thresholding": _thresholding,
    "SlidingWindow": _sliding_window,
    "StreamingMaxPool": _maxpool_hw,
    "DepthwiseConv": _depthwise,
    "LabelSelect": lambda ins, a: ops.label_select(ins[0], a["k"]),
    "ToCodes": to_codes,
    "FromCodes": from_codes,
}
