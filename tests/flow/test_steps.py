"""The build steps of :mod:`hwgen.flow.steps`, each called alone, and how the CLI reports a bug in one of
them (exit 3, one line; the traceback only with ``HWGEN_DEBUG=1``) as opposed to a user error (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.cli import hwgen
from helpers.models import tiny_mlp

from hwgen.errors import HwgenError
from hwgen.flow import steps
from hwgen.flow.manifest import read_manifest
from hwgen.flow.steps import BuildOptions, graph_of_build
from hwgen.ir.graph import Graph, Node

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

QDOM = "qonnx.custom_op.general"


def tiny_onnx(path):
    """x (1, 8) -> BipolarQuant -> MatMul(BipolarQuant(W (8, 4))) -> y (1, 4), written to ``path``."""
    w = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("BipolarQuant", ["x", "one"], ["a"], domain=QDOM, name="act"),
            helper.make_node("BipolarQuant", ["w", "one"], ["wq"], domain=QDOM, name="wquant"),
            helper.make_node("MatMul", ["a", "wq"], ["y"], name="fc"),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.float32(1.0), "one")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(QDOM, 1)])
    onnx.save(m, str(path))
    return path


@pytest.fixture
def model(tmp_path):
    return tiny_onnx(tmp_path / "tiny.onnx")


def test_steps_are_listed_in_build_order():
    assert [name for name, _ in steps.STEPS] == [
        "load",
        "streamline",
        "fold",
        "generate",
        "export_verilog",
        "write_manifest",
        "write_report",
    ]
    assert all(fn is getattr(steps, name) for name, fn in steps.STEPS)


def test_build_options_are_frozen_with_the_cli_defaults():
    o = BuildOptions(model="m.onnx")
    assert (o.board, o.clock_mhz, o.folding_file, o.target_fps, o.topk) == ("none", 100.0, None, None, None)
    with pytest.raises(AttributeError):
        o.topk = 3


def test_load(model):
    g = steps.load(model)
    assert isinstance(g, Graph)
    assert g.meta["input_shape"] == (1, 8)
    assert [n.op for n in g.nodes if n.op == "MatMul"] == ["MatMul"]


def test_streamline_uses_the_options():
    graph = tiny_mlp()
    before = [n.op for n in graph.nodes]
    hw = steps.streamline(graph, BuildOptions(model="tiny"))
    assert len(hw.hw_nodes()) == 3 and "LabelSelect" not in [n.op for n in hw.hw_nodes()]
    top = steps.streamline(graph, BuildOptions(model="tiny", topk=2))
    assert top.hw_nodes()[-1].op == "LabelSelect" and top.hw_nodes()[-1].attrs["k"] == 2
    assert [n.op for n in graph.nodes] == before  # the step's input is not modified


def test_streamline_of_a_model_without_layers_is_a_user_error():
    g = Graph(inputs=["x"], outputs=["y"], meta={"input_shape": (1, 8)})
    one = g.add_const("one", np.float32(1.0))
    g.nodes.append(Node("BipolarQuant", ["x", one], ["y"], {}, "only"))
    from hwgen.golden.shapes import infer_shapes

    infer_shapes(g)
    with pytest.raises(HwgenError, match="no layer"):
        steps.streamline(g, BuildOptions(model="q.onnx"))
    with pytest.raises(HwgenError, match="--topk"):
        steps.streamline(g, BuildOptions(model="q.onnx", topk=1))


def test_fold_default_target_fps_and_file(tmp_path):
    hw = steps.streamline(tiny_mlp(), BuildOptions(model="tiny"))
    default = steps.fold(hw, BuildOptions(model="tiny"))
    names = [n.name for n in hw.hw_nodes()]
    assert sorted(default.to_dict()) == sorted(names)
    fast = steps.fold(hw, BuildOptions(model="tiny", target_fps=50e6, clock_mhz=100))
    assert max(fast[n].cycles for n in names) <= 2
    f = tmp_path / "folding.json"
    f.write_text(json.dumps(fast.to_dict()))
    assert steps.fold(hw, BuildOptions(model="tiny", folding_file=f)).to_dict() == fast.to_dict()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"no/such/layer": {"pe": 1}}))
    with pytest.raises(HwgenError, match="no layer named"):
        steps.fold(hw, BuildOptions(model="tiny", folding_file=bad))


def test_generate_and_export_verilog(tmp_path):
    opts = BuildOptions(model="tiny")
    hw = steps.streamline(tiny_mlp(), opts)
    acc = steps.generate(hw, steps.fold(hw, opts))
    assert acc.describe()["ii_cycles"] >= 1 and acc.beats_per_frame_out >= 1
    v = steps.export_verilog(acc, tmp_path)
    assert v["files"] == ["rtl/hwgen_top.v"] and v["top"] == "hwgen_top"
    assert v["s_tdata_bits"] % 8 == 0 and v["m_tdata_bits"] % 8 == 0
    text = (tmp_path / "rtl" / "hwgen_top.v").read_text()
    assert "module hwgen_top(" in text and "m_axis_tlast" in text


def test_write_manifest_and_report_round_trip(model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    opts = BuildOptions(model=model, clock_mhz=50, topk=1)
    graph = steps.load(opts.model)
    hw = steps.streamline(graph, opts)
    folding = steps.fold(hw, opts)
    acc = steps.generate(hw, folding)
    v = steps.export_verilog(acc, out)
    m = steps.write_manifest(out, opts, graph, folding, acc, v)
    report = steps.write_report(m, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "folding.json",
        "manifest.json",
        "model.onnx",
        "report.html",
        "report.md",
        "rtl",
    ]
    assert read_manifest(out) == m
    assert m["options"] == {
        "input_dtype": None,
        "input_scale": None,
        "topk": 1,
        "folding": "default",
        "pipeline": 0,
    }
    assert m["clock_mhz"] == 50 and m["fps"] == pytest.approx(50e6 / m["ii_cycles"])
    assert m["input"]["onnx_shape"] == [1, 8] and m["output"]["elements_per_frame"] == 1
    assert m["rtl"]["files"] == ["rtl/hwgen_top.v"] and set(m["rtl"]["sha256"]) == {"rtl/hwgen_top.v"}
    assert json.loads((out / "folding.json").read_text()) == folding.to_dict() == m["folding"]
    assert (out / "model.onnx").read_bytes() == model.read_bytes()
    assert f"II **{m['ii_cycles']}**" in report.read_text()
    g2, hw2 = graph_of_build(out, m)  # the golden model's graph, rebuilt with the same steps
    assert [(n.op, n.name) for n in hw2.hw_nodes()] == [(n.op, n.name) for n in hw.hw_nodes()]


def _boom(*args, **kwargs):
    raise RuntimeError("boom\nsecond line of the message")


def test_internal_error_is_one_line_exit_3(model, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HWGEN_DEBUG", raising=False)
    monkeypatch.setattr(steps, "generate", _boom)
    before = set(tmp_path.iterdir())
    rc, so, se = hwgen(capsys, "build", model, "-o", tmp_path / "out")
    assert rc == 3
    lines = se.strip().splitlines()
    assert lines == ["hwgen: internal error: RuntimeError: boom (set HWGEN_DEBUG=1 for the traceback)"], se
    assert "Traceback" not in se + so
    assert set(tmp_path.iterdir()) == before  # no OUT, no temporary folder


def test_hwgen_debug_prints_the_traceback(model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HWGEN_DEBUG", "1")
    monkeypatch.setattr(steps, "generate", _boom)
    rc, _, se = hwgen(capsys, "build", model, "-o", tmp_path / "out")
    assert rc == 3
    assert "Traceback (most recent call last)" in se and "_boom" in se
    assert se.strip().splitlines()[-1] == "hwgen: internal error: RuntimeError: boom"


@pytest.mark.parametrize("exc", [KeyError("attrs"), ValueError("bad shape"), IndexError("list index")])
def test_a_bug_in_the_passes_is_not_a_user_error(exc, model, tmp_path, capsys, monkeypatch):
    """Exceptions other than HwgenError out of streamlining are bugs: exit 3, for build and run alike."""
    import hwgen.passes as passes

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.delenv("HWGEN_DEBUG", raising=False)
    monkeypatch.setattr(passes, "streamline", broken)
    rc, _, se = hwgen(capsys, "build", model, "-o", tmp_path / "out")
    assert rc == 3 and se.startswith(f"hwgen: internal error: {type(exc).__name__}"), se
    assert len(se.strip().splitlines()) == 1
    np.save(tmp_path / "x.npy", np.zeros((2, 8), np.float32))
    rc, _, se = hwgen(capsys, "run", model, "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert rc == 3 and "internal error" in se and len(se.strip().splitlines()) == 1, se
    assert not (tmp_path / "y.npy").exists()


def test_the_cli_registers_only_existing_commands():
    from hwgen.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"doctor", "build", "run", "verify"} <= set(sub.choices)
