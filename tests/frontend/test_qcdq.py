"""QCDQ graphs built with onnx.helper in Brevitas' layout (opset 18, QuantizeLinear -> [Clip] ->
DequantizeLinear, scalar scales and int8/uint8 zero points shared between the pair, per-channel weights
along axis 0, integer weight constants read by Clip -> DequantizeLinear): ``hwgen run`` == onnxruntime;
unsupported chains are refused with one line naming the node."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.cli import hwgen

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from hwgen.errors import HwgenError  # noqa: E402
from hwgen.frontend import SUPPORTED_OPS, load  # noqa: E402
from hwgen.passes import streamline  # noqa: E402

U8_128 = np.uint8(128)


def _model(path, act_zp=U8_128, act_clip=None, dq_scale=2.0**-5, int_weights=True, mul_int8=False):
    """x (1, 12) -> Q(s=2^-5, uint8 zp) -> [Clip] -> DQ -> Gemm(W^T) -> y (1, 4).

    W: int8 constants -> Clip(-3, 3) -> DQ with per-channel power-of-two scales (``int_weights``), or float
    weights -> Q -> Clip -> DQ on axis 0."""
    rng = np.random.default_rng(4)
    inits = {
        "s": np.float32(2.0**-5),
        "s_dq": np.float32(dq_scale),
        "zp": np.asarray(act_zp),
        "ws": np.asarray([2.0**-3, 2.0**-1, 2.0**-2, 2.0**-3], np.float32),
        "wzp": np.zeros(4, np.int8),
        "wlo": np.int8(-3),
        "whi": np.int8(3),
    }
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="act_q")]
    a = "q"
    if act_clip is not None:
        inits["clo"], inits["chi"] = (np.asarray(v, act_zp.dtype) for v in act_clip)
        nodes.append(helper.make_node("Clip", ["q", "clo", "chi"], ["qc"], name="act_clip"))
        a = "qc"
    nodes.append(helper.make_node("DequantizeLinear", [a, "s_dq", "zp"], ["a"], name="act_dq"))
    if int_weights:
        inits["w"] = rng.integers(-5, 6, size=(4, 12)).astype(np.int8)
        nodes.append(helper.make_node("Clip", ["w", "wlo", "whi"], ["wc"], name="w_clip"))
    else:
        inits["w"] = (rng.normal(size=(4, 12)) * 0.5).astype(np.float32)
        nodes.append(helper.make_node("QuantizeLinear", ["w", "ws", "wzp"], ["wq"], name="w_q", axis=0))
        nodes.append(helper.make_node("Clip", ["wq", "wlo", "whi"], ["wc"], name="w_clip"))
    nodes.append(helper.make_node("DequantizeLinear", ["wc", "ws", "wzp"], ["wd"], name="w_dq", axis=0))
    nodes.append(helper.make_node("Gemm", ["a", "wd"], ["y"], name="fc", transB=1))
    if mul_int8:
        inits["k"] = np.int8(2)
        nodes.append(helper.make_node("Mul", ["y", "k"], ["y2"], name="bad_mul"))
    g = helper.make_graph(
        nodes,
        "qcdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 12])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(m, str(path))
    return path


def _ort(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def _x(n=64):
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(n, 12)) * 2).astype(np.float32)
    x[: n // 2] = ((rng.integers(-300, 300, size=(n // 2, 12)) + 0.5) / 32).astype(np.float32)  # ties
    return x


@pytest.mark.parametrize(
    ("act_zp", "act_clip", "int_weights"),
    [
        (np.uint8(128), None, True),  # uint8 with zero point 128 is signed 8-bit: range [-128, 127]
        (np.int8(0), (-7, 7), False),  # narrow 4-bit, float weights quantized per channel
        (np.uint8(0), (0, 15), True),  # unsigned 4-bit
        (np.int8(-8), (-16, -1), False),  # zero point -8: Clip(-16, -1) is the signed 4-bit range [-8, 7]
    ],
)
def test_qcdq_run_equals_onnxruntime(tmp_path, capsys, act_zp, act_clip, int_weights):
    f = _model(tmp_path / "m.onnx", act_zp=act_zp, act_clip=act_clip, int_weights=int_weights)
    x = _x()
    np.save(tmp_path / "x.npy", x)
    rc, _, err = hwgen(capsys, "run", f, "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert rc == 0, err
    ref = np.concatenate([_ort(f, x[i : i + 1]) for i in range(len(x))])
    assert np.array_equal(np.load(tmp_path / "y.npy"), ref)
    hw = streamline(load(f))
    assert [n.op for n in hw.hw_nodes()] == ["MVTU"]
    assert hw.hw_nodes()[0].attrs["w_dtype"].name in ("INT3", "INT4")


def test_qcdq_ops_are_supported():
    assert {"QuantizeLinear", "DequantizeLinear", "Clip", "Relu"} <= set(SUPPORTED_OPS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dq_scale": 2.0**-4}, r"node 'act_q' \(QuantizeLinear\): scale, zero point and axis differ"),
        ({"act_zp": np.uint8(10), "act_clip": (0, 15)}, r"node 'act_q' .*range \[-10, 5\]"),
        (
            {"mul_int8": True},
            r"'k' \(read by node 'bad_mul', Mul\) is INT8; hwgen reads float32 tensors only",
        ),
    ],
)
def test_unsupported_qcdq_is_one_line_naming_the_node(tmp_path, capsys, kwargs, message):
    f = _model(tmp_path / "m.onnx", **kwargs)
    np.save(tmp_path / "x.npy", _x(4))
    rc, _, err = hwgen(capsys, "run", f, "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    with pytest.raises(HwgenError, match=message):
        streamline(load(f))
