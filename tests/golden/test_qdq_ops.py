"""QuantizeLinear / DequantizeLinear / Clip / Relu: the golden ops equal onnxruntime bit for bit (ties,
saturation, zero points, per-axis parameters, missing Clip bounds, -0.0 and NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.golden.float_ops import FLOAT_OPS

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int8): TensorProto.INT8}
_TYPES |= {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int32): TensorProto.INT32}


def _run_ort(op, x, consts, out_dtype, opset=18, **attrs):
    names = [("" if c is None else f"c{i}") for i, c in enumerate(consts)]
    g = helper.make_graph(
        [helper.make_node(op, ["x", *names], ["y"], **attrs)],
        "t",
        [helper.make_tensor_value_info("x", _TYPES[x.dtype], x.shape)],
        [helper.make_tensor_value_info("y", _TYPES[np.dtype(out_dtype)], None)],
        [
            numpy_helper.from_array(np.asarray(c), n)
            for c, n in zip(consts, names, strict=True)
            if c is not None
        ],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def _inputs(scale, rng):
    """Random values, exact ties k + 1/2 (in units of the scale), values far out of range, signed zeros."""
    k = rng.integers(-300, 300, size=4000)
    return np.concatenate(
        [
            (rng.normal(size=20000) * 60 * scale).astype(np.float32),
            ((k + 0.5) * np.float32(scale)).astype(np.float32),
            np.array([np.inf, -np.inf, -0.0, 0.0, 3e38, -3e38], np.float32),
        ]
    )


@pytest.mark.parametrize("scale", [0.0078125, 0.10317077, 1 / 3, 3.1e-5, 2.0])
@pytest.mark.parametrize("zp", [np.int8(0), np.int8(-5), np.uint8(0), np.uint8(128), np.uint8(3)])
def test_quantize_linear_per_tensor(scale, zp):
    rng = np.random.default_rng(int(scale * 1000) + int(zp) + 128)
    x = _inputs(scale, rng)
    consts = [np.float32(scale), zp]
    got = FLOAT_OPS["QuantizeLinear"]([x, *consts], {})
    want = _run_ort("QuantizeLinear", x, consts, zp.dtype)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_quantize_linear_without_zero_point_is_uint8():
    x = _inputs(0.05, np.random.default_rng(1))
    got = FLOAT_OPS["QuantizeLinear"]([x, np.float32(0.05)], {})
    want = _run_ort("QuantizeLinear", x, [np.float32(0.05)], np.uint8)
    assert got.dtype == np.uint8 and np.array_equal(got, want)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_and_dequantize_per_axis(axis):
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(6, 5, 4)) * 3).astype(np.float32)
    n = x.shape[axis]
    scale = rng.uniform(0.01, 0.5, size=n).astype(np.float32)
    zp = rng.integers(-3, 4, size=n).astype(np.int8)
    q = FLOAT_OPS["QuantizeLinear"]([x, scale, zp], {"axis": axis})
    assert np.array_equal(q, _run_ort("QuantizeLinear", x, [scale, zp], np.int8, axis=axis))
    y = FLOAT_OPS["DequantizeLinear"]([q, scale, zp], {"axis": axis})
    assert np.array_equal(y, _run_ort("DequantizeLinear", q, [scale, zp], np.float32, axis=axis))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32])
def test_dequantize_linear(dtype):
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -(1 << 20)), min(info.max, 1 << 20)
    x = np.random.default_rng(2).integers(lo, hi, size=5000, endpoint=True).astype(dtype)
    for scale, zp in ((np.float32(0.37), dtype(0)), (np.float32(2**-9), dtype(7)), (np.float32(1e-7), None)):
        consts = [scale, zp]
        got = FLOAT_OPS["DequantizeLinear"]([x, *consts], {})
        assert np.array_equal(got, _run_ort("DequantizeLinear", x, consts, np.float32))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.float32])
def test_clip(dtype):
    rng = np.random.default_rng(3)
    if dtype == np.float32:
        x = np.concatenate([(rng.normal(size=3000) * 4), [np.nan, -np.inf, np.inf, -0.0, 0.0]]).astype(dtype)
        bounds = [(np.float32(-1.5), np.float32(2.25)), (None, np.float32(1.0)), (np.float32(-0.5), None)]
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=3000, endpoint=True).astype(dtype)
        bounds = [(dtype(info.min + 2), dtype(9)), (None, dtype(15)), (dtype(1), None)]
    for lo, hi in bounds:
        got = FLOAT_OPS["Clip"]([x, lo, hi], {})
        want = _run_ort("Clip", x, [lo, hi], dtype)
        assert got.dtype == want.dtype
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8))  # bits: NaN, -0.0 and -FLT_MAX too


def test_clip_opset6_attributes():
    x = np.linspace(-3, 3, 101, dtype=np.float32)
    got = FLOAT_OPS["Clip"]([x], {"min": -1.0, "max": 0.5})
    assert np.array_equal(got, _run_ort("Clip", x, [], np.float32, opset=6, min=-1.0, max=0.5))


def test_relu_keeps_negative_zero_and_nan_like_onnxruntime():
    x = np.array([-0.0, 0.0, np.nan, -np.nan, -1, 2, np.inf, -np.inf, -1e-45], np.float32)
    got = FLOAT_OPS["Relu"]([x], {})
    assert np.array_equal(got.view(np.uint32), _run_ort("Relu", x, [], np.float32).view(np.uint32))
