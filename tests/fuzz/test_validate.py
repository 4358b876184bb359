"""hwgen.frontend.validate and hwgen.flow.manifest_schema on their own: what they refuse and accept."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fuzz import corpus
from hwgen.errors import HwgenError
from hwgen.flow import manifest as manifest_mod
from hwgen.frontend import load, validate

QDOM = "qonnx.custom_op.general"


def _tiny(path, in_dims=(1, 8), out_shape=None, name_a="act", name_w="wquant"):
    w = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("BipolarQuant", ["x", "one"], ["a"], domain=QDOM, name=name_a),
            helper.make_node("BipolarQuant", ["w", "one"], ["wq"], domain=QDOM, name=name_w),
            helper.make_node("MatMul", ["a", "wq"], ["y"], name="fc"),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_dims))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.float32(1.0), "one")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(QDOM, 1)])
    onnx.save(m, str(path))
    return path


def test_custom_schemas_register_once_and_check_attributes():
    validate.register_custom_schemas()
    validate.register_custom_schemas()  # idempotent
    schema = onnx.defs.get_schema("Quant", 2, QDOM)
    assert {"signed", "narrow", "rounding_mode"} <= set(schema.attributes)
    assert schema.attributes["signed"].required and not schema.attributes["rounding_mode"].required


def test_output_without_shape_and_symbolic_batch_are_accepted(tmp_path):
    g = load(_tiny(tmp_path / "a.onnx", in_dims=("N", 8), out_shape=None))
    assert g.meta["input_shape"] == (1, 8)


def test_symbolic_feature_axis_is_refused(tmp_path):
    with pytest.raises(HwgenError, match=r"symbolic or missing dimension 1"):
        load(_tiny(tmp_path / "a.onnx", in_dims=(1, "F")))


def test_memory_estimate_refuses_before_allocating(tmp_path, monkeypatch):
    path = _tiny(tmp_path / "a.onnx")
    monkeypatch.setattr(validate, "MAX_TENSOR_BYTES", 100)
    with pytest.raises(HwgenError, match=r"tensors need about .* GiB for one frame"):
        load(path)


def test_unique_names_prefer_the_first_and_avoid_existing_names(tmp_path):
    g = load(_tiny(tmp_path / "a.onnx", name_a="fc", name_w=""))
    names = [n.name for n in g.nodes]
    assert len(set(names)) == len(names) and "fc" in names


def test_pow_of_constants_is_checked_after_evaluation(tmp_path):
    """The raw Brevitas form computes scales with Pow nodes; their values are checked once evaluated."""
    g = load(corpus.W1A1_RAW)
    assert not any(n.op == "Pow" for n in g.nodes)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    from hwgen.cli import main

    out = tmp_path_factory.mktemp("schema") / "b"
    assert main(["build", str(corpus.W2A2_CLEAN), "-o", str(out)]) == 0
    return out


def test_manifest_of_a_fresh_build_is_valid_and_replaceable(build):
    m = manifest_mod.read_manifest(build)
    assert m["model"]["file"] == "model.onnx"
    assert manifest_mod.is_build(build)


def test_is_build_refuses_extra_files_and_accepts_verify_cache(build, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(build, b)
    (b / "sim_build").mkdir(exist_ok=True)
    (b / "sim_build" / "anything").write_text("cache")
    assert manifest_mod.is_build(b)
    (b / "rtl" / "extra.v").write_text("")
    assert not manifest_mod.is_build(b)


@pytest.mark.parametrize(
    "key,value,why",
    [
        ("fps", "fast", "fps must be a finite number"),
        ("clock_mhz", -5, "clock_mhz = -5 must be positive"),
        ("latency_cycles", True, "latency_cycles must be an integer"),
    ],
)
def test_schema_names_the_key(build, tmp_path, key, value, why):
    b = tmp_path / "b"
    shutil.copytree(build, b)
    m = json.loads((b / "manifest.json").read_text())
    m[key] = value
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(HwgenError, match=why):
        manifest_mod.read_manifest(b)
    assert not manifest_mod.is_build(b)
