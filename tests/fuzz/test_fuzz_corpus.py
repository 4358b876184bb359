"""Every case of the hostile-input corpus (:mod:`fuzz.corpus`, issue 8) through the CLI, in-process.

Each case ends either as exit 2 with exactly one ``hwgen: error:`` line on stderr (no traceback, no warning
lines), or as exit 0 with nothing on stderr and, for ``hwgen run``, the output the qonnx executor computes
from the same file, bit for bit. A damaged build folder must be refused before the simulator is reached.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from fuzz import corpus
from hwgen.cli import main

CASES = corpus.all_cases()
ONE_LINE = re.compile(r"hwgen( [a-z]+)?: error: \S.*")


def test_corpus_is_large_and_deterministic():
    assert len(CASES) >= 300
    assert [repr(c) for c in CASES] == [repr(c) for c in corpus.all_cases()]
    assert len({repr(c) for c in CASES}) == len(CASES)
    assert {c.cls for c in CASES} >= {"attr", "opset", "dtype", "shape", "quant", "names", "proto", "flip"}


@pytest.fixture(scope="module")
def build_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz-build") / "b"
    assert main(["build", str(corpus.W2A2_CLEAN), "-o", str(out)]) == 0
    corpus.BUILD["path"] = out
    return out


def executor(model: Path, x: np.ndarray) -> np.ndarray:
    """The qonnx executor's output on ``x``, one frame at a time (as examples/reference.py computes it)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # qonnx warns about its own datatype annotations
        m = ModelWrapper(str(model))
        d0 = m.graph.input[0].type.tensor_type.shape.dim[0]
        if not d0.HasField("dim_value"):  # a symbolic batch axis: the executor wants a number
            d0.dim_value = 1
        m = m.transform(InferShapes())
        i, o = m.graph.input[0].name, m.graph.output[0].name
        return np.concatenate([execute_onnx(m, {i: x[k : k + 1]})[o] for k in range(len(x))])


def run_case(case, work: Path, capsys, monkeypatch):
    import importlib

    def no_simulator(*a, **k):
        raise AssertionError("a damaged build folder reached the simulator")

    for module, name in (("hwgen.sim.runner", "build_verilator"), ("hwgen.sim.harness", "build_harness")):
        try:
            monkeypatch.setattr(importlib.import_module(module), name, no_simulator)
        except (ImportError, AttributeError):
            pass
    argv = case.make(work)
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    cap = capsys.readouterr()
    return argv, rc, cap.err


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_case(case, tmp_path, capsys, monkeypatch, build_folder):
    argv, rc, err = run_case(case, tmp_path, capsys, monkeypatch)
    try:
        assert rc in ((2,) if case.refuse else (0, 2)), f"exit {rc}: {err!r}"
        if rc == 2:
            lines = err.splitlines()
            assert len(lines) == 1 and ONE_LINE.fullmatch(lines[0]), f"not one error line: {err!r}"
        else:
            assert err == "", f"stderr on success: {err!r}"
            if argv[0] == "run" and "--integer" not in argv:
                x = np.load(argv[argv.index("--inputs") + 1]).astype(np.float32)
                y = np.load(argv[argv.index("-o") + 1])
                ref = executor(Path(argv[1]), x)
                assert y.dtype == ref.dtype and np.array_equal(y, ref, equal_nan=True), "differs from qonnx"
        if case.post is not None:
            case.post(tmp_path)
    finally:
        ro = tmp_path / "ro"
        if ro.exists():
            ro.chmod(0o700)
