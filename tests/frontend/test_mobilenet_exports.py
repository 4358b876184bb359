"""MobileNet-style Brevitas exports (``data/make_brevitas.py``): depthwise 3x3 convolutions (one of stride 2),
pointwise 1x1 convolutions and average pooling over the whole map, as ``TruncAvgPool2d`` (AveragePool + Trunc)
and as ``AdaptiveAvgPool2d(1)`` + a quantizer (ReduceMean + Quant), each in QONNX and QCDQ form.
``hwgen run`` equals the qonnx executor (QONNX) and onnxruntime (QCDQ) with ``==``; the accelerators are
bit-exact under stalls in Verilator, with measured cycles per frame and latency equal to the model's."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.cli import hwgen

from hwgen.frontend import load
from hwgen.passes import streamline
from tests.frontend.test_brevitas_exports import DATA, _inputs, _ort, _qonnx, _run

FORMS = [f"mobilenet_{pool}.{form}.onnx" for pool in ("trunc", "global") for form in ("qonnx", "qcdq")]


@pytest.mark.parametrize("name", FORMS)
def test_run_equals_the_executor(capsys, tmp_path, name):
    model = DATA / name
    x = _inputs((1, 8, 8), n=32, seed=7)
    ref = _ort(model, x) if ".qcdq." in name else _qonnx(model, x)
    assert np.array_equal(_run(capsys, tmp_path, model, x), ref)


@pytest.mark.parametrize("pool", ["trunc", "global"])
def test_both_forms_give_the_same_integers_and_layers(capsys, tmp_path, pool):
    x = _inputs((1, 8, 8), n=16, seed=8)
    runs = [
        _run(capsys, tmp_path, DATA / f"mobilenet_{pool}.{f}.onnx", x, "--integer") for f in ("qonnx", "qcdq")
    ]
    assert np.array_equal(*runs)
    kinds = [n.op for n in streamline(load(DATA / f"mobilenet_{pool}.qonnx.onnx")).hw_nodes()]
    # two depthwise convolutions and the pooling (unit weights) are depthwise layers, all thresholded
    assert kinds.count("DepthwiseConv") == 3 and kinds.count("MVTU") == 4


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.parametrize("name", ["mobilenet_trunc.qonnx.onnx", "mobilenet_global.qcdq.onnx"])
def test_builds_and_verifies_bit_exact(capsys, tmp_path, name):
    x = _inputs((1, 8, 8), n=40, seed=9)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    rc, _, err = hwgen(capsys, "build", DATA / name, "-o", out)
    assert rc == 0, err
    rc, so, err = hwgen(capsys, "verify", out, "--inputs", tmp_path / "x.npy", "--stall", 0.3, "--jobs", 1)
    assert rc == 0 and "frames 40, mismatching frames 0" in so, so + err
    rc, so, err = hwgen(capsys, "verify", out, "--random", 48, "--cocotb-frames", 0, "--jobs", 1)
    assert rc == 0, so + err
    import json

    m = json.loads((out / "manifest.json").read_text())
    assert m["verify"]["cycles_per_frame"] == m["ii_cycles"]
    assert m["verify"]["first_out_latency"] == m["latency_cycles"]
