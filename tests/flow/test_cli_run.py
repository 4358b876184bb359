"""``hwgen run``: results on a small model, and one-line errors (exit 2, no output file) for bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

QDOM = "qonnx.custom_op.general"


def _model(path, w=None, act_scale=1.0, extra_nodes=(), quant_bits=None, data_loc=None):
    """x (1, 8) -> BipolarQuant (or Quant) -> MatMul(BipolarQuant(W)) -> y (1, 3)."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3)).astype(np.float32) if w is None else w
    inits = [
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(np.float32(act_scale), "s"),
        numpy_helper.from_array(np.float32(1.0), "one"),
        numpy_helper.from_array(np.float32(0.0), "zero"),
    ]
    if quant_bits is None:
        act = helper.make_node("BipolarQuant", ["x", "s"], ["a"], domain=QDOM)
    else:
        inits.append(numpy_helper.from_array(np.float32(quant_bits), "bits"))
        act = helper.make_node(
            "Quant", ["x", "s", "zero", "bits"], ["a"], domain=QDOM, signed=1, narrow=0, rounding_mode="ROUND"
        )
    nodes = [
        act,
        helper.make_node("BipolarQuant", ["w", "one"], ["wq"], domain=QDOM),
        helper.make_node("MatMul", ["a", "wq"], ["y"]),
        *extra_nodes,
    ]
    out = nodes[-1].output[0]
    g = helper.make_graph(
        nodes,
        "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(QDOM, 1)])
    if data_loc:
        onnx.save_model(
            m,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="w.data",
            size_threshold=0,
        )
        m = onnx.load(str(path), load_external_data=False)
        for t in m.graph.initializer:
            for e in t.external_data:
                if e.key == "location":
                    e.value = data_loc
    onnx.save(m, str(path))
    return w


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "hwgen.cli", "run", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def _inputs(tmp_path, shape=(5, 8)):
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    x[0] = 0.0  # sign(0) = +1
    np.save(tmp_path / "x.npy", x)
    return x


def test_run_integer_and_float(tmp_path):
    w = _model(tmp_path / "m.onnx")
    x = _inputs(tmp_path)
    r = _run(
        tmp_path / "m.onnx",
        "--inputs",
        tmp_path / "x.npy",
        "-o",
        tmp_path / "y.npy",
        "--integer",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    want = np.where(x >= 0, 1, -1) @ np.where(w >= 0, 1, -1)
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)
    r = _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "f.npy", cwd=tmp_path)
    assert r.returncode == 0 and np.array_equal(np.load(tmp_path / "f.npy"), want.astype(np.float32))


def _assert_bad(r, tmp_path, *words):
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not (tmp_path / "y.npy").exists()


def test_not_onnx(tmp_path):
    (tmp_path / "m.onnx").write_text("this is not a model\n")
    _inputs(tmp_path)
    _assert_bad(
        _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path),
        tmp_path,
        "m.onnx",
    )


def test_truncated(tmp_path):
    _model(tmp_path / "full.onnx")
    data = (tmp_path / "full.onnx").read_bytes()
    (tmp_path / "m.onnx").write_bytes(data[: len(data) // 2])
    _inputs(tmp_path)
    _assert_bad(
        _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path),
        tmp_path,
        "m.onnx",
    )


def test_unsupported_op(tmp_path):
    _model(tmp_path / "m.onnx", extra_nodes=[helper.make_node("Softmax", ["y"], ["z"], name="soft")])
    _inputs(tmp_path)
    _assert_bad(
        _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path),
        tmp_path,
        "'soft'",
        "Softmax",
        "supported:",
        "MatMul",
    )


def test_float_scale_runs_in_exact_arithmetic(tmp_path):
    """A non-power-of-two activation scale (0.3) is computed exactly: the integer output is the +-1 dot
    product computed here, and the float-scale report is printed."""
    _model(tmp_path / "m.onnx", act_scale=0.3)
    x = _inputs(tmp_path)
    r = _run(
        tmp_path / "m.onnx",
        "--inputs",
        tmp_path / "x.npy",
        "-o",
        tmp_path / "a.npy",
        "--integer",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "float scales (exact arithmetic): 0 boundary cases, 0 other differences" in r.stdout
    w = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    want = np.where(x >= 0, 1, -1) @ np.where(w >= 0, 1, -1)
    assert np.array_equal(np.load(tmp_path / "a.npy"), want)


@pytest.mark.parametrize("kw,word", [({"quant_bits": 2.5}, "bit width")])
def test_unmappable_quantizer(tmp_path, kw, word):
    _model(tmp_path / "m.onnx", **kw)
    _inputs(tmp_path)
    _assert_bad(
        _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path),
        tmp_path,
        word,
    )


def test_external_data_outside_folder_refused(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    _model(d / "m.onnx", data_loc="../w.data")
    (d / "w.data").rename(tmp_path / "w.data")
    _inputs(tmp_path)
    _assert_bad(
        _run(d / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path),
        tmp_path,
        "outside the model folder",
    )


def test_external_data_inside_folder_works(tmp_path):
    _model(tmp_path / "m.onnx", data_loc="w.data")
    _inputs(tmp_path)
    r = _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_empty_inputs(tmp_path):
    _model(tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", np.zeros((0, 8), np.float32))
    r = _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path)
    _assert_bad(r, tmp_path, "no frames")


def test_input_shape_mismatch(tmp_path):
    _model(tmp_path / "m.onnx")
    _inputs(tmp_path, shape=(5, 9))
    _assert_bad(
        _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path),
        tmp_path,
        "x.npy",
        "does not match",
    )


def test_nan_inputs_and_folder_output(tmp_path):
    _model(tmp_path / "m.onnx")
    x = np.zeros((2, 8), np.float32)
    x[1, 3] = np.inf
    np.save(tmp_path / "x.npy", x)
    r = _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path)
    _assert_bad(r, tmp_path, "NaN or infinite")
    np.save(tmp_path / "x.npy", np.zeros((2, 8), np.float32))
    (tmp_path / "y.npy").mkdir()
    r = _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", cwd=tmp_path)
    assert r.returncode == 2 and "is a folder" in r.stderr and "Traceback" not in r.stderr


_UINT8 = ("--input-dtype", "uint8", "--input-scale", "0.00392156862745098")


@pytest.mark.parametrize(
    "values,word",
    [
        (np.full((2, 8), 300 / 255), "UINT8"),
        (np.full((2, 8), 0.3), "input scale"),
        (-np.ones((2, 8)), "UINT8"),
    ],
)
def test_inputs_that_do_not_fit_the_declared_input(tmp_path, values, word):
    _model(tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", values.astype(np.float32))
    r = _run(
        tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", *_UINT8, cwd=tmp_path
    )
    _assert_bad(r, tmp_path, word)


def test_raw_uint8_input_gives_the_same_result(tmp_path):
    """Quant(8 bits, scale 1/128) as the first layer: on chip it becomes a 255-threshold layer on pixels."""
    _model(tmp_path / "m.onnx", quant_bits=8, act_scale=2.0**-7)
    x = (np.random.default_rng(2).integers(0, 256, size=(6, 8)) / 255).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r1 = _run(tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "a.npy", cwd=tmp_path)
    r2 = _run(
        tmp_path / "m.onnx", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "b.npy", *_UINT8, cwd=tmp_path
    )
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert np.array_equal(a, b) and len(np.unique(a)) > 6
