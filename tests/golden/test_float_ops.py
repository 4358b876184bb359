"""Float32 emulation of the reference ops, compared with onnxruntime and qonnx themselves."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.golden.float_ops import FLOAT_OPS

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _run_ort(op, x, consts, **attrs):
    names = [f"c{i}" for i in range(len(consts))]
    node = helper.make_node(op, ["x", *names], ["y"], **attrs)
    g = helper.make_graph(
        [node],
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(c, n) for c, n in zip(consts, names, strict=True)],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x}
    )[0]


@pytest.mark.parametrize("shape", [(2001, 32), (3, 32, 5, 5)])
def test_batchnorm_matches_onnxruntime_on_every_integer(shape):
    rng = np.random.default_rng(len(shape))
    c = shape[1]
    gamma = rng.normal(size=c).astype(np.float32)
    gamma[:3] = [-1.5, 0.0, 1e-3]
    beta = rng.normal(size=c).astype(np.float32)
    mean = (rng.normal(size=c) * 50).astype(np.float32)
    var = rng.uniform(0, 400, size=c).astype(np.float32)
    var[3] = 0
    if len(shape) == 2:
        x = np.repeat(np.arange(-1000, 1001, dtype=np.float32)[:, None], c, axis=1)
    else:
        x = rng.integers(-1152, 1153, size=shape).astype(np.float32)
    for eps in (1e-5, 1e-4):
        want = _run_ort("BatchNormalization", x, [gamma, beta, mean, var], epsilon=eps)
        got = FLOAT_OPS["BatchNormalization"]([x, gamma, beta, mean, var], {"epsilon": eps})
        assert np.array_equal(got, want)


@pytest.mark.parametrize("op", ["Mul", "Add", "Sub", "Div"])
def test_elementwise_matches_onnxruntime(op):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(50, 10)) * 100).astype(np.float32)
    c = rng.normal(size=(10,)).astype(np.float32)
    assert np.array_equal(FLOAT_OPS[op]([x, c], {}), _run_ort(op, x, [c]))


def test_quant_matches_qonnx_on_ties():
    qonnx_quant = pytest.importorskip("qonnx.custom_op.general.quant").quant
    x = (np.arange(-600, 601, dtype=np.float32) / 128).reshape(-1, 1)
    for bits, signed, narrow in [(2, 1, 1), (8, 1, 0), (4, 0, 0), (3, 1, 0)]:
        for scale in (np.float32(1.0), np.float32(2.0**-6), np.float32(0.3)):
            a = {"signed": signed, "narrow": narrow, "rounding_mode": "ROUND"}
            ins = [x, scale, np.float32(0), np.float32(bits)]
            want = qonnx_quant(x, scale, np.float32(0), np.float32(bits), signed, narrow, "ROUND")
            assert np.array_equal(FLOAT_OPS["Quant"](ins, a), want)


def test_multithreshold_matches_qonnx():
    mt = pytest.importorskip("qonnx.custom_op.general.multithreshold").multithreshold
    rng = np.random.default_rng(5)
    x = rng.integers(-10, 10, size=(4, 6, 3, 3)).astype(np.float32)
    thr = np.sort(rng.integers(-10, 10, size=(6, 3)), axis=1).astype(np.float32)
    a = {"out_scale": 2.0, "out_bias": -1.0, "data_layout": "NCHW"}
    assert np.array_equal(FLOAT_OPS["MultiThreshold"]([x, thr], a), mt(x, thr, 2.0, -1.0))


@pytest.mark.parametrize("attrs", [{"kernel_shape": [2, 2]}, {"kernel_shape": [3, 3], "strides": [2, 2]}])
def test_maxpool_matches_onnxruntime_including_the_default_stride(attrs):
    x = np.random.default_rng(3).normal(size=(2, 3, 7, 7)).astype(np.float32)
    ref = _run_ort("MaxPool", x, [], **attrs)
    got = FLOAT_OPS["MaxPool"]([x], attrs)
    assert got.shape == ref.shape and np.array_equal(got, ref)


def test_maxpool_refuses_dilations():
    x = np.zeros((1, 1, 5, 5), np.float32)
    with pytest.raises(ValueError, match="dilations"):
        FLOAT_OPS["MaxPool"]([x], {"kernel_shape": [2, 2], "dilations": [2, 2]})
