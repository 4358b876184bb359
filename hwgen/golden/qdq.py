"""Standard ONNX quantization ops as onnxruntime's CPU kernels compute them: ``QuantizeLinear``,
``DequantizeLinear``, ``Clip`` and ``Relu`` (Brevitas' QCDQ export and ``QuantReLU``).

- ``QuantizeLinear``: ``x / scale`` in float32 (a true division, not a multiplication by ``1/scale``),
  clamped to ``[qmin - zp, qmax - zp]``, rounded half to even, then ``zp`` added as an integer; the output
  has the zero point's type (uint8 without one). Per-axis scales and zero points along ``axis``.
- ``DequantizeLinear``: ``float32(int(x) - zp) * scale``.
- ``Clip``: ``min(max(x, lo), hi)``; a missing bound is the type's extreme (for float32 onnxruntime uses
  ``-FLT_MAX`` / ``FLT_MAX``, not infinities, so ``-inf`` is clipped to ``-FLT_MAX``); opset 6 takes the
  bounds as attributes.
- ``Relu``: ``0`` where ``x < 0``, else ``x`` (``-0.0`` and NaN pass unchanged, as onnxruntime).

Checked against onnxruntime in ``tests/golden/test_qdq_ops.py`` (ties, saturation, per-axis, zero points).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32

__all__ = ["QDQ_OPS", "QUANT_TYPES", "per_axis"]

#: Integer types of QuantizeLinear outputs hwgen implements, with their ranges.
QUANT_TYPES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}
_DQ_TYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int32))


def per_axis(p, ndim: int, axis: int) -> np.ndarray:
    """A scalar or 1-D quantization parameter shaped to broadcast along ``axis`` of an ``ndim`` tensor."""
    p = np.asarray(p)
    if p.ndim == 0 or p.size == 1 and p.ndim <= 1:
        return p.reshape(())
    if p.ndim != 1:
        raise ValueError(f"quantization parameters must be a scalar or 1-D, not shape {p.shape}")
    ax = axis + ndim if axis < 0 else axis
    if not 0 <= ax < ndim:
        raise ValueError(f"axis {axis} out of range for a {ndim}-D tensor")
    shape = [1] * ndim
    shape[ax] = p.size
    return p.reshape(shape)


def _zero_point(ins, dtype) -> np.ndarray:
    if len(ins) > 2 and ins[2] is not None:
        return np.asarray(ins[2])
    return np.zeros((), dtype)


def _quantize_linear(ins, a):
    if a.get("block_size", 0):
        raise ValueError("QuantizeLinear: blocked quantization (block_size) is not supported")
    x = np.asarray(ins[0], F32)
    zp = _zero_point(ins, np.uint8)
    if zp.dtype not in QUANT_TYPES:
        raise ValueError(f"QuantizeLinear: output type {zp.dtype} is not supported (int8 or uint8)")
    qmin, qmax = QUANT_TYPES[zp.dtype]
    axis = int(a.get("axis", 1))
    s = per_axis(np.asarray(ins[1], F32), x.ndim, axis)
    z = per_axis(zp.astype(np.int64), x.ndim, axis)
    with np.errstate(all="ignore"):  # x / s may overflow to infinity, then saturates, as in onnxruntime
        y = x / s
    y = np.minimum(np.maximum(y, (qmin - z).astype(F32)), (qmax - z).astype(F32))
    return (np.rint(y).astype(np.int64) + z).astype(zp.dtype)


def _dequantize_linear(ins, a):
    x = np.asarray(ins[0])
    if x.dtype not in _DQ_TYPES:
        raise ValueError(f"DequantizeLinear: input type {x.dtype} is not supported (int8, uint8, int32)")
    if a.get("block_size", 0):
        raise ValueError("DequantizeLinear: blocked quantization (block_size) is not supported")
    axis = int(a.get("axis", 1))
    s = per_axis(np.asarray(ins[1], F32), x.ndim, axis)
    z = per_axis(_zero_point(ins, x.dtype).astype(np.int64), x.ndim, axis)
    return ((x.astype(np.int64) - z).astype(F32) * s).astype(F32)


def clip_bounds(ins, a, dtype) -> tuple:
    """``(lo, hi)`` of a Clip on a tensor of ``dtype`` (inputs 1, 2 or opset-6 attributes; else extremes)."""
    if np.dtype(dtype).kind == "f":
        lo, hi = np.finfo(F32).min, np.finfo(F32).max
        lo, hi = F32(a.get("min", lo)), F32(a.get("max", hi))
    else:
        info = np.iinfo(dtype)
        lo, hi = info.min, info.max
    if len(ins) > 1 and ins[1] is not None:
        lo = np.asarray(ins[1]).reshape(())
    if len(ins) > 2 and ins[2] is not None:
        hi = np.asarray(ins[2]).reshape(())
    return lo, hi


def _clip(ins, a):
    x = np.asarray(ins[0])
    if x.dtype.kind == "f":
        x = x.astype(F32, copy=False)
    lo, hi = clip_bounds(ins, a, x.dtype)
    return np.minimum(np.maximum(x, np.asarray(lo, x.dtype)), np.asarray(hi, x.dtype))


def _relu(ins, a):
    x = np.asarray(ins[0], F32)
    return np.where(x < 0, F32(0), x)


QDQ_OPS = {
    "QuantizeLinear": _quantize_linear,
    "DequantizeLinear": _dequantize_linear,
    "Clip": _clip,
    "Relu": _relu,
}
