"""Real Brevitas exports (``data/make_brevitas.py``): a QCDQ CNN, the same CNN as QONNX (``QuantReLU`` writes
``Relu`` before its ``Quant``) and a binarized CNN with zero-padded convolutions (also built and verified).
``hwgen run`` equals onnxruntime (QCDQ) and the qonnx executor (QONNX) with ``==`` on float outputs;
``--integer`` equals the executor's output divided by the product of the last layer's (power-of-two) scales,
read from the model."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import hwgen

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
QCDQ, QONNX, BNN = DATA / "cnn_w4a4.qcdq.onnx", DATA / "cnn_w4a4.qonnx.onnx", DATA / "bnn_pad.qonnx.onnx"


def _inputs(shape, n=48, seed=0):
    """Random inputs in [0, 1); a quarter on the 8-bit input quantizer's grid and half-steps (ties)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape)).astype(np.float32)
    x[: n // 4] = (rng.integers(0, 256, size=x[: n // 4].shape) / 256).astype(np.float32)
    return x


def _ort(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])


def _qonnx(path, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.util.cleanup import cleanup_model

        m = cleanup_model(ModelWrapper(str(path)))
        i, o = m.graph.input[0].name, m.graph.output[0].name
        return np.concatenate([execute_onnx(m, {i: x[k : k + 1]})[o] for k in range(len(x))])


def _last_layer_scale(path) -> np.float32:
    """Product of the scales of the last matrix layer's two operands (QCDQ: their DequantizeLinear scales)."""
    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    prod = {o: n for n in m.graph.node for o in n.output}
    last = [n for n in m.graph.node if n.op_type in ("Gemm", "MatMul", "Conv")][-1]
    scales = []
    for t in last.input[:2]:
        n = prod[t]
        while n.op_type not in ("DequantizeLinear", "Quant", "BipolarQuant"):
            n = prod[n.input[0]]
        scales.append(np.float32(inits[n.input[1]]))
    return np.float32(scales[0] * scales[1])


def _run(capsys, tmp_path, model, x, *flags):
    xf, yf = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(xf, x)
    rc, _, err = hwgen(capsys, "run", model, "--inputs", xf, "-o", yf, *flags)
    assert rc == 0, err
    return np.load(yf)


def test_qcdq_cnn_run_equals_onnxruntime(capsys, tmp_path):
    x = _inputs((2, 8, 8))
    ref = _ort(QCDQ, x)
    assert np.array_equal(_run(capsys, tmp_path, QCDQ, x), ref)
    acc = _run(capsys, tmp_path, QCDQ, x, "--integer")
    want = ref / _last_layer_scale(QCDQ)
    assert np.array_equal(want, np.round(want)) and np.array_equal(acc, want.astype(np.int64))


def test_qonnx_cnn_with_relu_equals_qonnx_executor_and_the_qcdq_form(capsys, tmp_path):
    x = _inputs((2, 8, 8), n=16, seed=1)
    ref = _qonnx(QONNX, x)
    assert np.array_equal(_run(capsys, tmp_path, QONNX, x), ref)
    acc = _run(capsys, tmp_path, QONNX, x, "--integer")
    assert np.array_equal(acc, (ref / _last_layer_scale(QONNX)).astype(np.int64))
    assert np.array_equal(acc, _run(capsys, tmp_path, QCDQ, x, "--integer"))
    assert np.array_equal(ref, _ort(QCDQ, x))  # the two export forms compute the same function


def test_binary_padded_convolutions_equal_qonnx_executor(capsys, tmp_path):
    x = _inputs((2, 6, 6), n=16, seed=2)
    x[:4] = 0.5  # sign(0) = +1 after the input's x - 0.5
    ref = _qonnx(BNN, x)
    assert np.array_equal(_run(capsys, tmp_path, BNN, x), ref)
    assert _last_layer_scale(BNN) == 1
    assert np.array_equal(_run(capsys, tmp_path, BNN, x, "--integer"), ref.transpose(0, 2, 3, 1))


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.parametrize("pipeline", ["0", "2"])
def test_binary_padded_convolutions_build_and_verify_bit_exact(capsys, tmp_path, pipeline):
    """The padding lanes masked in hardware: the accelerator equals the golden model (== the executor,
    above) on every frame under pauses, at the shallowest and the deepest register pipelining."""
    x = _inputs((2, 6, 6), n=12, seed=4)
    x[:3] = 0.5
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    rc, _, err = hwgen(capsys, "build", BNN, "-o", out, "--pipeline", pipeline)
    assert rc == 0, err
    rc, so, err = hwgen(capsys, "verify", out, "--inputs", tmp_path / "x.npy", "--stall", 0.3, "--jobs", 1)
    assert rc == 0, so + err
    assert "frames 12, mismatching frames 0" in so and "PASS" in so


@pytest.mark.slow
@pytest.mark.verilator
def test_qcdq_cnn_builds_and_verifies_bit_exact(capsys, tmp_path):
    x = _inputs((2, 8, 8), n=12, seed=3)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    rc, _, err = hwgen(capsys, "build", QCDQ, "-o", out)
    assert rc == 0, err
    rc, so, err = hwgen(capsys, "verify", out, "--inputs", tmp_path / "x.npy", "--stall", 0.3, "--jobs", 1)
    assert rc == 0, so + err
    assert "mismatching frames 0" in so and "PASS" in so
