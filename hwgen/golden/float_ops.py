"""Float32 semantics of the ONNX / QONNX / FINN ops the frontend accepts, as the reference executes them.

The reference (qonnx ``execute_onnx``) runs standard ops one at a time in onnxruntime in float32 and the
QONNX/FINN custom ops in NumPy. Each function here reproduces that bit for bit where it matters:

- element-wise ops are IEEE float32, so NumPy float32 gives the same bits;
- ``BatchNormalization`` follows onnxruntime's CPU kernel: ``inv = 1/sqrt(var + eps)``, ``s = inv * gamma``,
  ``b' = beta - mean * s``, ``y = x * s + b'`` (each step rounded to float32, no fused multiply-add) —
  checked against onnxruntime in ``tests/golden/test_float_ops.py``;
- ``MatMul`` / ``Conv`` / ``Gemm`` are summed in float64 and rounded once: exact (and therefore equal to any
  summation order) whenever the products are multiples of a common power of two and the sum stays below
  2**24 units of it, which the passes check before relying on it;
- ``Quant`` / ``BipolarQuant`` / ``MultiThreshold`` / ``XnorPopcountMatMul`` follow qonnx's NumPy code;
- ``QuantizeLinear`` / ``DequantizeLinear`` / ``Clip`` / ``Relu`` follow onnxruntime (:mod:`.qdq`).

Every function takes ``(inputs, attrs)`` and returns one array.
"""

from __future__ import annotations

import numpy as np

from .qdq import QDQ_OPS

F32 = np.float32

__all__ = ["FLOAT_OPS", "bn_coefficients", "quant_integer"]


def _f(x):
    return np.asarray(x, dtype=F32)


def quant_integer(x, scale, zeropt, bitwidth, signed, narrow, rounding_mode="ROUND"):
    """The integer ``y_int`` of a QONNX ``Quant`` (before ``(y_int - zeropt) * scale``), as float32.

    The model's float32 arithmetic: ``x / scale`` may overflow to infinity and is then clipped, as in qonnx.
    """
    with np.errstate(all="ignore"):
        return _quant_integer(x, scale, zeropt, bitwidth, signed, narrow, rounding_mode)


def _quant_integer(x, scale, zeropt, bitwidth, signed, narrow, rounding_mode):
    y = _f(x) / _f(scale)
    y = y + _f(zeropt)
    bits = float(np.asarray(bitwidth).reshape(-1)[0])
    if bits == 1 and signed:
        return np.where(y >= 0.0, F32(1), F32(-1))
    lo, hi = quant_limits(bits, signed, narrow)
    y = np.where(y > hi, F32(hi), y)
    y = np.where(y < lo, F32(lo), y)
    return _ROUNDING[str(rounding_mode).upper()](y).astype(F32)


def quant_limits(bits, signed: bool, narrow: bool) -> tuple[int, int]:
    """Integer range of a QONNX ``Quant`` of ``bits`` bits."""
    bits = int(bits)
    if signed:
        return -(1 << (bits - 1)) + int(bool(narrow)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(bool(narrow))


_ROUNDING = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "DOWN": np.fix,
    "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)),
    "HALF_UP": lambda x: np.sign(x) * np.floor(np.abs(x) + F32(0.5)),
    "HALF_DOWN": lambda x: np.sign(x) * np.ceil(np.abs(x) - F32(0.5)),
}


def _quant(ins, a):
    x, scale, zeropt, bits = ins
    y = quant_integer(
        x, scale, zeropt, bits, a.get("signed", 1), a.get("narrow", 0), a.get("rounding_mode", "ROUND")
    )
    return (y - _f(zeropt)) * _f(scale)


def trunc_integer(x, scale, zeropt, out_scale, out_bits, signed, narrow, rounding_mode):
    """The integer of a QONNX ``Trunc`` (version 2) before ``(y - zeropt / T) * out_scale``, as float32:
    ``rounding(clip(round(x / scale + zeropt) / T))`` with ``T = 2**round(log2(out_scale / scale))``."""
    y = np.round(_f(x) / _f(scale) + _f(zeropt))
    t = trunc_factor(scale, out_scale)
    lo, hi = quant_limits(out_bits, signed, narrow)
    y = np.clip(y / t, F32(lo), F32(hi))
    return _ROUNDING[str(rounding_mode).upper()](y).astype(F32)


def trunc_factor(scale, out_scale) -> np.float32:
    """``T`` of a ``Trunc``: the power of two nearest ``out_scale / scale`` (float32, as qonnx)."""
    return F32(2) ** np.round(np.log2(_f(out_scale) / _f(scale))).astype(F32)


def _trunc(ins, a):
    if len(ins) != 6:
        raise ValueError("Trunc: only version 2 (six inputs, with an output scale) is supported")
    x, scale, zeropt, _, out_scale, out_bits = ins
    bits = float(np.asarray(out_bits).reshape(-1)[0])
    y = trunc_integer(x, scale, zeropt, out_scale, bits, a.get("signed", 1), a.get("narrow", 0),
                      a.get("rounding_mode", "FLOOR"))  # fmt: skip
    return (y - _f(zeropt) / trunc_factor(scale, out_scale)) * _f(out_scale)


def _avgpool(ins, a):
    """ONNX ``AveragePool`` without padding: the window sums, then divided by the window size (float32)."""
    x = _f(ins[0])
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    if any(a.get("pads", [0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
        raise ValueError("AveragePool: padding, ceil_mode and dilations are not supported")
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win.astype(np.float64).sum(axis=(-2, -1)).astype(F32) / F32(kh * kw)


def reduce_axes(ins, a, ndim: int) -> tuple[int, ...] | None:
    """The axes of a ``ReduceMean`` (attribute before opset 18, else the second input), non-negative;
    None for all axes."""
    axes = a.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None and np.size(ins[1]):
        axes = np.asarray(ins[1]).reshape(-1).tolist()
    if axes is None or len(axes) == 0:
        return None if not a.get("noop_with_empty_axes", 0) else ()
    return tuple(sorted(int(x) % ndim for x in axes))


def _reduce_mean(ins, a):
    x = _f(ins[0])
    axes = reduce_axes(ins, a, x.ndim)
    if axes == ():
        return x
    axes = tuple(range(x.ndim)) if axes is None else axes
    count = int(np.prod([x.shape[k] for k in axes]))
    total = x.astype(np.float64).sum(axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(F32)
    return total / F32(count)


def _global_avgpool(ins, a):
    x = _f(ins[0])
    return x.astype(np.float64).sum(axis=(2, 3), keepdims=True).astype(F32) / F32(x.shape[2] * x.shape[3])


def _bipolar_quant(ins, a):
    x, scale = ins
    x = _f(x)
    return np.where(x >= 0.0, F32(1), F32(-1)) * _f(scale)


def mt_channel_axis(a, ndim: int) -> int:
    """Channel axis of a MultiThreshold input as qonnx finds it: the position of ``C`` in ``data_layout``
    (without one: NC, NWC or NCHW by rank)."""
    layout = a.get("data_layout", "") or ""
    if not layout:  # qonnx guesses the layout from the rank
        layout = {2: "NC", 3: "NWC", 4: "NCHW"}.get(ndim, "")
    if "C" in layout:
        return layout.index("C")
    return 1 if ndim > 1 else 0


def mt_count(x, thr, axis: int):
    """Number of thresholds each element is >= to (qonnx ``multithreshold`` without scale/bias)."""
    x = _f(x)
    thr = _f(thr)
    xm = np.moveaxis(x, axis, -1)[..., None]
    cnt = np.count_nonzero(xm >= thr, axis=-1).astype(F32)
    return np.moveaxis(cnt, -1, axis)


def _multithreshold(ins, a):
    x, thr = ins
    cnt = mt_count(x, thr, mt_channel_axis(a, np.ndim(x)))
    return F32(a.get("out_scale", 1.0)) * cnt + F32(a.get("out_bias", 0.0))


def _matmul(ins, a):
    x, w = ins
    return (np.asarray(x, np.float64) @ np.asarray(w, np.float64)).astype(F32)


def _gemm(ins, a):
    x, w = np.asarray(ins[0], np.float64), np.asarray(ins[1], np.float64)
    if a.get("transA", 0):
        x = x.T
    if a.get("transB", 0):
        w = w.T
    y = (F32(a.get("alpha", 1.0)) * (x @ w).astype(F32)).astype(F32)
    if len(ins) > 2 and ins[2] is not None:
        y = y + F32(a.get("beta", 1.0)) * _f(ins[2])
    return y


def im2col_nchw(x, kh: int, kw: int, stride: tuple, pads: tuple, pad_value=0.0):
    """(N, C, H, W) -> (N, OH, OW, C*kh*kw) in ONNX weight order (c, ky, kx)."""
    t, l_, b, r = pads
    x = np.pad(x, ((0, 0), (0, 0), (t, b), (l_, r)), constant_values=pad_value)
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh, ow, c * kh * kw)


def _conv(ins, a):
    x, w = np.asarray(ins[0], np.float64), np.asarray(ins[1], np.float64)
    g = a.get("group", 1)
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise ValueError("Conv: only dilation 1 is supported")
    m, c, kh, kw = w.shape
    if m % g or x.shape[1] != c * g:
        raise ValueError(f"Conv: group {g} does not divide {x.shape[1]} input and {m} output channels")
    pads = tuple(a.get("pads", [0, 0, 0, 0]))
    pads = (pads[0], pads[1], pads[2], pads[3])
    cols = im2col_nchw(x, kh, kw, tuple(a.get("strides", [1, 1])), pads)  # (N, OH, OW, C*kh*kw)
    n, oh, ow, _ = cols.shape
    cols = cols.reshape(n, oh, ow, g, c * kh * kw)
    wg = w.reshape(g, m // g, c * kh * kw)
    y = np.concatenate([cols[..., j, :] @ wg[j].T for j in range(g)], axis=-1).astype(F32)
    if len(ins) > 2 and ins[2] is not None:
        y = y + _f(ins[2])
    return y.transpose(0, 3, 1, 2)


def bn_coefficients(gamma, beta, mean, var, eps):
    """onnxruntime's fused BatchNormalization coefficients ``(s, b)``: ``y = x * s + b`` in float32."""
    inv = F32(1) / np.sqrt(_f(var) + F32(eps))
    s = (inv * _f(gamma)).astype(F32)
    b = (_f(beta) - _f(mean) * s).astype(F32)
    return s, b


def _batchnorm(ins, a):
    x, gamma, beta, mean, var = ins
    s, b = bn_coefficients(gamma, beta, mean, var, a.get("epsilon", 1e-5))
    shape = (1, -1) + (1,) * (np.ndim(x) - 2)
    return _f(x) * s.reshape(shape) + b.reshape(shape)


def maxpool_unsupported(a) -> str | None:
    """Why an ONNX ``MaxPool`` with attributes ``a`` is not supported, or None."""
    if any(a.get("pads", [0])) or a.get("ceil_mode", 0):
        return "padding and ceil_mode are not supported"
    if any(d != 1 for d in a.get("dilations", [1])):
        return "dilations are not supported"
    auto_pad = a.get("auto_pad", "NOTSET")
    if (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) not in ("NOTSET", "VALID"):
        return "auto_pad is not supported"
    return None


def _maxpool(ins, a):
    x = _f(ins[0])
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])  # the ONNX default, unlike FINN's MaxPoolNHWC below
    why = maxpool_unsupported(a)
    if why:
        raise ValueError(f"MaxPool: {why}")
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win.max(axis=(-2, -1))


def _maxpool_nhwc(ins, a):
    x = _f(ins[0])
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [kh, kw])
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    return win.max(axis=(-2, -1))


def _im2col(ins, a):
    """FINN ``Im2Col`` on NHWC: (N, H, W, C) -> (N, OH, OW, kh*kw*C), order (ky, kx, c)."""
    x = _f(ins[0])
    kh, kw = a["kernel_size"]
    sh, sw = a.get("stride", [1, 1])
    pads = a.get("pad_amount", [0, 0, 0, 0])
    x = np.pad(
        x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)), constant_values=a.get("pad_value", 0)
    )
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    n, oh, ow, c = win.shape[:4]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n, oh, ow, kh * kw * c)


def _xnor_popcount(ins, a):
    x, w = np.asarray(ins[0], np.float64), np.asarray(ins[1], np.float64)
    out = (2.0 * x - 1.0) @ (2.0 * w - 1.0)
    return ((out + x.shape[-1]) * 0.5).astype(F32)


def _reshape(ins, a):
    x, shape = ins
    shape = [int(s) for s in np.asarray(shape).reshape(-1)]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    if shape and shape[0] == 1 and x.shape[0] != 1:  # models are exported for batch 1; keep the batch axis
        shape[0] = x.shape[0]
    return np.reshape(x, shape)


def _flatten(ins, a):
    x = ins[0]
    ax = a.get("axis", 1)
    return np.reshape(x, (int(np.prod(x.shape[:ax])), -1))


def _pow(ins, a):
    return np.power(_f(ins[0]), _f(ins[1])).astype(F32)


FLOAT_OPS = {
    "Quant": _quant,
    "BipolarQuant": _bipolar_quant,
    "MultiThreshold": _multithreshold,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Conv": _conv,
    "BatchNormalization": _batchnorm,
    "MaxPool": _maxpool,
    "AveragePool": _avgpool,
    "GlobalAveragePool": _global_avgpool,
    "ReduceMean": _reduce_mean,
    "Trunc": _trunc,
    "MaxPoolNHWC": _maxpool_nhwc,
    "Im2Col": _im2col,
    "XnorPopcountMatMul": _xnor_popcount,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": lambda ins, a: np.transpose(ins[0], a.get("perm")),
    "Identity": lambda ins, a: ins[0],
    "Mul": lambda ins, a: _f(ins[0]) * _f(ins[1]),
    "Add": lambda ins, a: _f(ins[0]) + _f(ins[1]),
    "Concat": lambda ins, a: np.concatenate([np.asarray(x) for x in ins], axis=int(a["axis"])),
    "Sub": lambda ins, a: _f(ins[0]) - _f(ins[1]),
    "Div": lambda ins, a: _f(ins[0]) / _f(ins[1]),
    "Pow": _pow,
    **QDQ_OPS,
}
