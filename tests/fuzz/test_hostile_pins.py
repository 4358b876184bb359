"""Each class of issue 8's findings pinned: the exact outcome (exit code, the one line naming the file, node
or option) of representative corpus cases, and the behaviours the corpus contract alone does not show
(unique layer names, the occupied build folder, one-line stderr, no warnings on success)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from fuzz import corpus
from fuzz.test_fuzz_corpus import ONE_LINE, executor, run_case
from hwgen.cli import main

BY_ID = {repr(c): c for c in corpus.all_cases()}

PINS = {
    # silent wrong results
    "attr-Quant_4-signed-0": r"node 'Quant_4' \(Quant\): .*signed.*Expected: 'INT', actual: 'FLOAT'",
    "attr-Quant_0-signed-1": r"node 'Quant_0' \(Quant\): .*signed",
    "quant-Quant_0-bits-2.5": r"node 'Quant_0' \(Quant\): bit width \[2\.5\] is not one integer",
    "quant-Quant_2-bits-2.5": r"node 'Quant_2' \(Quant\): bit width",
    "shape-batch-0": r"graph input 'global_in' has dimension 0 = 0",
    "shape-chan-0": r"graph input 'global_in' has dimension 1 = 0",
    "dtype-Quant_0_param0-complex64": r"initializer 'Quant_0_param0' .* is COMPLEX64",
    "dtype-reshape-float-shape": r"'Reshape_0_param0' .*Reshape.* is FLOAT; hwgen reads int64 Reshape shapes",
    # not valid ONNX
    "opset-onnx-1": r"ONNX opset 1 is outside the range",
    "opset-onnx-99": r"ONNX opset 99 is outside the range",
    "opset-none": r"no opset_import for the ONNX domain",
    "dtype-Quant_0_param0-float64": r"'Quant_0_param0' .* is DOUBLE",
    "dtype-Quant_0_param0-int64": r"'Quant_0_param0' .* is INT64",
    "dtype-BatchNormalization_1_param0-float16": r"'BatchNormalization_1_param0' .* is FLOAT16",
    "dtype-BatchNormalization_1_param3-int64": r"'BatchNormalization_1_param3' .* is INT64",
    "shape-scalar-gamma": r"not a valid ONNX model",
    "dtype-input-INT64": r"graph input 'global_in' is INT64",
    "dtype-input-STRING": r"graph input 'global_in' is STRING",
    "quant-Quant_0-bits-vector": r"m\.onnx: ",
    "attr-Quant_4-signed-6": r"node 'Quant_4' \(Quant\): Required attribute 'signed' is missing",
    "attr-Quant_4-narrow-4": r"node 'Quant_4' \(Quant\): Required attribute 'narrow' is missing",
    # tracebacks before
    "shape-huge": r"more than \d+ elements per frame",
    "proto-const-without-value": r"node 'c' \(Constant\) needs exactly one",
    "proto-non-utf8-domain": r"not UTF-8 text",
    "proto-external-offset": r"external data .*offset 1000000000",
    "proto-external-nul": r"'w\\x00\.bin'",
    "proto-external-negative": r"broken external data reference",
    "quant-Quant_4-scale-nan": r"'Quant_4_param0' holds NaN",
    "quant-Quant_6-scale-zero": r"node 'Quant_6' \(Quant\): scale must be positive",
    "attr-multithreshold-out_scale-3": r"node 'MultiThreshold_1' \(MultiThreshold\): out_scale 0",
    "options-build-0": r"--clock-mhz must be a number in",
    "options-input-dtype-uint64": r"--input-dtype UINT64: at most 16 bits",
    "options-input-scale-subnormal": r"--input-scale .*positive normal float32",
    "options-npz-as-npy": r"an \.npz archive",
    "folding-utf16": r"folding file is not UTF-8",
    "folding-nested-deep": r"nested too deeply",
    "options-o-long": r"File name too long|longer than",
    # more than one line (newline in a file name)
    "options-o-newline": r"-o .*no\\nsuch/y\.npy: folder .* does not exist",
    # damaged build folders: exit 2 naming the key, never 1 or a traceback
    "buildfolder-ii_cycles-0": r"manifest\.json: ii_cycles must be an integer",
    "buildfolder-ii_cycles-1": r"manifest\.json: ii_cycles = -1000000 is out of range",
    "buildfolder-input.elements_per_beat-0": r"input\.elements_per_beat = 0 is out of range",
    "buildfolder-input.beats_per_frame-0": r"input\.beats_per_frame = 0 is out of range",
    "buildfolder-no-model-copy": r"model copy is missing",
    "buildfolder-other-model": r"not the model this build was made from",
    "buildfolder-rtl.files-2": r"rtl\.files\[0\] names '\.\./outside\.v', which is outside the build folder",
    "buildfolder-model.file-0": r"model\.file names '/etc/passwd', which is outside the build folder",
    "buildfolder-rtl-symlink-out": r"outside the build folder",
    "buildfolder-occupied-user-file": r"not replacing it",
    "buildfolder-occupied-fake-manifest": r"not replacing it",
}


@pytest.fixture(scope="module")
def build_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("pins-build") / "b"
    assert main(["build", str(corpus.W2A2_CLEAN), "-o", str(out)]) == 0
    corpus.BUILD["path"] = out
    return out


@pytest.mark.parametrize("case_id,pattern", PINS.items(), ids=list(PINS))
def test_refused_with_one_line(case_id, pattern, tmp_path, capsys, monkeypatch, build_folder):
    case = BY_ID[case_id]
    _, rc, err = run_case(case, tmp_path, capsys, monkeypatch)
    lines = err.splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and ONE_LINE.fullmatch(lines[0]), err
    assert re.search(pattern, lines[0]), lines[0]
    if case.post is not None:
        case.post(tmp_path)


@pytest.mark.parametrize(
    "case_id", ["quant-Quant_6-scale-subnormal", "options-huge-inputs", "attr-Quant_5-rounding_mode-2"]
)
def test_accepted_quietly_and_equal_to_the_executor(case_id, tmp_path, capsys, monkeypatch, build_folder):
    """Extreme but valid float arithmetic (a subnormal scale, inputs near the float32 limit) follows the
    executor, and NumPy's floating-point warnings never reach the terminal."""
    argv, rc, err = run_case(BY_ID[case_id], tmp_path, capsys, monkeypatch)
    assert rc == 0 and err == "", err
    x = np.load(argv[argv.index("--inputs") + 1])
    ref = executor(corpus.Path(argv[1]), x)
    assert np.array_equal(np.load(argv[argv.index("-o") + 1]), ref, equal_nan=True)


def _same_matmul_names(tmp_path):
    m = corpus._load(corpus.W2A2_CLEAN)
    for n in m.graph.node:
        if n.op_type == "MatMul":
            n.name = "fc"
    path = tmp_path / "same.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def test_duplicate_node_names_get_unique_layer_names(tmp_path, capsys):
    """Four MatMuls all named 'fc' build as four layers with four names; folding.json describes the build
    (each name its own lanes) and the golden model equals the executor."""
    model = _same_matmul_names(tmp_path)
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps({"fc": {"pe": 4, "simd": 8}, "fc_1": {"pe": 2, "simd": 4}}))
    out = tmp_path / "out"
    assert main(["build", str(model), "-o", str(out), "--folding", str(fold)]) == 0, capsys.readouterr().err
    m = json.loads((out / "manifest.json").read_text())
    mvtu = [ly for ly in m["layers"] if ly["kind"] == "MVTU"]
    names = [ly["name"] for ly in mvtu]
    assert names == ["fc", "fc_1", "fc_2", "fc_3"]
    assert [(ly["pe"], ly["simd"]) for ly in mvtu[:2]] == [(4, 8), (2, 4)]
    folding = json.loads((out / "folding.json").read_text())
    assert set(names) <= set(folding) and folding["fc"] == {"pe": 4, "simd": 8}
    x = corpus.inputs(tmp_path)
    y = tmp_path / "y.npy"
    assert main(["run", str(model), "--inputs", str(x), "-o", str(y)]) == 0
    assert np.array_equal(np.load(y), executor(model, np.load(x)))


def test_an_occupied_build_folder_is_kept(tmp_path, capsys, build_folder):
    out = tmp_path / "out"
    shutil.copytree(build_folder, out, ignore=shutil.ignore_patterns("sim_build"))
    (out / "notes.txt").write_text("mine")
    rc = main(["build", str(corpus.W2A2_CLEAN), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "not replacing it" in err
    assert (out / "notes.txt").read_text() == "mine" and (out / "manifest.json").is_file()
    (out / "notes.txt").unlink()
    (out / "sim_build").mkdir()  # verify's cache is hwgen's own
    assert main(["build", str(corpus.W2A2_CLEAN), "-o", str(out)]) == 0


def test_numpy_warnings_never_reach_stderr(tmp_path, capsys):
    """Zero, infinite and subnormal quantizer scales: before, up to 11 RuntimeWarning lines preceded the
    error; now one line (or, for a valid extreme model, nothing)."""
    for case_id in ("quant-Quant_6-scale-zero", "quant-Quant_6-scale-inf", "quant-Quant_0-scale-subnormal"):
        work = tmp_path / case_id
        work.mkdir()
        argv = BY_ID[case_id].make(work)
        rc = main(argv)
        err = capsys.readouterr().err
        assert (rc == 2 and len(err.splitlines()) == 1) or (rc == 0 and err == ""), (case_id, err)
        assert "Warning" not in err


def test_internal_errors_stay_exit_3(tmp_path, capsys, monkeypatch):
    """A NumPy floating-point error in hwgen's own arithmetic is a bug (exit 3, one line), not bad input."""
    import hwgen.flow.cmd_run as cmd_run

    def broken(*a, **k):
        return np.float32(1) / np.float32(0)

    monkeypatch.setattr(cmd_run, "run_checked", broken)
    rc = main(
        ["run", str(corpus.W2A2_CLEAN), "--inputs", str(corpus.inputs(tmp_path)), "-o", str(tmp_path / "y")]
    )
    err = capsys.readouterr().err
    assert (
        rc == 3 and err.startswith("hwgen: internal error: FloatingPointError") and len(err.splitlines()) == 1
    )
