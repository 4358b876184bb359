"""Frontend: the three Brevitas export forms read to the same function; errors name the file or node."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.models import EXAMPLES, ORACLE

from hwgen.errors import HwgenError
from hwgen.frontend import SUPPORTED_OPS, load
from hwgen.golden import execute

onnx = pytest.importorskip("onnx")


def _forms():
    for base in (EXAMPLES, ORACLE):
        for d in sorted(base.glob("tfc*")) if base.is_dir() else []:
            files = {f.name.split(".")[1]: f for f in d.glob("*.qonnx*.onnx")}
            if {"qonnx", "qonnx_dynamo", "qonnx_clean"} <= set(files) and (d / "inputs.npy").is_file():
                return d, files
    return None, None


def test_raw_dynamo_and_clean_exports_compute_the_same():
    d, files = _forms()
    if d is None:
        pytest.skip("no model with all three QONNX forms")
    x = np.load(d / "inputs.npy")
    outs = {
        k: execute(load(f), x)[0] for k, f in files.items() if k in ("qonnx", "qonnx_dynamo", "qonnx_clean")
    }
    ref = np.load(d / "out_ref.npy")
    for form, y in outs.items():
        assert np.array_equal(y, ref), form
    raw = load(files["qonnx"])
    assert raw.inputs[0] not in raw.consts and len(raw.inputs) == 1  # weights listed as inputs are constants
    assert not any(n.op == "Pow" for n in raw.nodes)  # Pow of constants is folded


def test_missing_file(tmp_path):
    with pytest.raises(HwgenError, match="no such file"):
        load(tmp_path / "absent.onnx")


def test_two_real_inputs_refused(tmp_path):
    from onnx import TensorProto, helper

    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2]) for n in ("a", "b", "c")]
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "g", vi[:2], vi[2:])
    onnx.save(helper.make_model(g), str(tmp_path / "m.onnx"))
    with pytest.raises(HwgenError, match="exactly one non-constant graph input"):
        load(tmp_path / "m.onnx")


def test_supported_ops_list():
    assert {"Quant", "BipolarQuant", "MultiThreshold", "XnorPopcountMatMul", "Conv", "Gemm"} <= set(
        SUPPORTED_OPS
    )
