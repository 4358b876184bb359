"""``hwgen build``: the manifest of TFC-W1A1 against facts read from the ONNX file itself, replacing a
previous build, and one-line errors (exit 2, no traceback, nothing left at OUT) for bad input."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from helpers.cli import LANES, MODEL, folding_file, hwgen, matmuls


def test_manifest_matches_the_model(tmp_path, capsys):
    out = tmp_path / "out"
    fold = folding_file(tmp_path)
    rc, so, se = hwgen(capsys, "build", MODEL, "-o", out, "--folding", fold, "--clock-mhz", 125)
    assert rc == 0, se
    m = json.loads((out / "manifest.json").read_text())
    mms = matmuls()
    assert len(m["layers"]) == len(mms) == 4
    for ly, (name, (mw, mh)), (pe, simd) in zip(m["layers"], mms, LANES, strict=True):
        assert ly["name"] == name and ly["kind"] == "MVTU"
        assert ly["shape"] == [mh, mw]
        assert (ly["pe"], ly["simd"]) == (pe, simd)
        assert ly["cycles"] == (mh // pe) * (mw // simd)
        assert ly["weight_storage"] and "luts" in ly["resources"]
    ii = max((mh // pe) * (mw // simd) for (_, (mw, mh)), (pe, simd) in zip(mms, LANES, strict=True))
    assert m["ii_cycles"] == ii == 3136
    assert m["latency_cycles"] >= ii
    assert m["fps"] == pytest.approx(125e6 / ii)
    assert m["model"]["sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert (out / "model.onnx").read_bytes() == MODEL.read_bytes()
    assert m["board"] == "none" and m["clock_mhz"] == 125
    n_in, n_out = mms[0][1][0], mms[-1][1][1]  # 784 pixels in, 10 classes out
    simd0, pe_last = LANES[0][1], LANES[-1][0]
    want_in = {
        "dtype": "BIPOLAR",
        "elements_per_beat": simd0,
        "bits_per_beat": simd0,
        "beats_per_frame": n_in // simd0,
        "elements_per_frame": n_in,
    }
    assert {k: m["input"][k] for k in want_in} == want_in
    assert m["input"]["tdata_bits"] % 8 == 0 and m["input"]["tdata_bits"] >= simd0
    assert m["output"]["dtype"].startswith("INT") and m["output"]["elements_per_frame"] == n_out
    assert m["output"]["beats_per_frame"] == n_out // pe_last
    assert "channels fastest" in m["input"]["layout"]
    assert m["rtl"]["files"] == ["rtl/hwgen_top.v"]
    text = (out / "rtl" / "hwgen_top.v").read_text()
    assert "module hwgen_top(" in text and "s_axis_tdata" in text and "m_axis_tlast" in text
    assert json.loads((out / "folding.json").read_text()) == json.loads(fold.read_text())
    report = (out / "report.md").read_text()
    assert "3136" in report and all(n in report for n, _ in mms)
    assert "3136" in so
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folding.json", "out"]  # no temporary folder left


def test_target_fps_and_rebuild_replaces(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()  # an empty folder may be used
    rc, _, se = hwgen(capsys, "build", MODEL, "-o", out, "--target-fps", 20000)
    assert rc == 0, se
    m = json.loads((out / "manifest.json").read_text())
    assert m["ii_cycles"] <= 100e6 / 20000
    assert m["ii_cycles"] == max(ly["cycles"] for ly in m["layers"])
    (out / "stale.txt").write_text("from an older build")
    # a build folder holding anything hwgen did not write is not replaceable (no user file is deleted)
    rc, _, se = hwgen(capsys, "build", MODEL, "-o", out, "--target-fps", 10000, "--topk", 1)
    assert rc == 2 and "not replacing it" in se and (out / "stale.txt").is_file()
    (out / "stale.txt").unlink()
    rc, _, se = hwgen(capsys, "build", MODEL, "-o", out, "--target-fps", 10000, "--topk", 1)
    assert rc == 0, se
    assert not (out / "stale.txt").exists()
    m = json.loads((out / "manifest.json").read_text())
    assert m["options"]["topk"] == 1 and m["ii_cycles"] <= 10000
    assert [ly["kind"] for ly in m["layers"]][-1] == "LabelSelect"
    assert m["output"]["elements_per_frame"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


BAD = {
    "missing model": (["build", "nope.onnx"], "nope.onnx"),
    "not onnx": (["build", "{junk}"], "junk.onnx"),
    "unknown board": (["build", MODEL, "--board", "pynq-z9"], "--board"),
    "folding and fps": (["build", MODEL, "--folding", "{fold}", "--target-fps", 10], "not allowed with"),
    "dtype without scale": (["build", MODEL, "--input-dtype", "uint8"], "--input-scale"),
    "zero clock": (["build", MODEL, "--clock-mhz", 0], "--clock-mhz"),
    "infinite clock": (["build", MODEL, "--clock-mhz", "inf"], "--clock-mhz"),
    "fps above clock": (["build", MODEL, "--target-fps", 1e9], "--target-fps"),
    "bad layer name": (["build", MODEL, "--folding", "{badname}"], "no layer named"),
    "pe not dividing": (["build", MODEL, "--folding", "{badpe}"], "must divide"),
    "bad topk": (["build", MODEL, "--topk", 0], "--topk"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_leaves_nothing(case, tmp_path, capsys):
    argv, needle = BAD[case]
    name = matmuls()[0][0]
    files = {
        "{junk}": tmp_path / "junk.onnx",
        "{fold}": folding_file(tmp_path),
        "{badname}": tmp_path / "badname.json",
        "{badpe}": tmp_path / "badpe.json",
    }
    files["{junk}"].write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    files["{badname}"].write_text(json.dumps({"no/such/layer": {"pe": 1}}))
    files["{badpe}"].write_text(json.dumps({name: {"pe": 3}}))
    before = set(tmp_path.iterdir())
    argv = [files.get(a, a) if isinstance(a, str) else a for a in argv]
    rc, so, se = hwgen(capsys, *argv, "-o", tmp_path / "out")
    assert rc == 2
    assert len(se.strip().splitlines()) == 1 and needle in se, se
    assert "Traceback" not in se + so
    assert set(tmp_path.iterdir()) == before  # no OUT, no temporary folder


def test_foreign_folder_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    rc, _, se = hwgen(capsys, "build", MODEL, "-o", out)
    assert rc == 2 and "not a hwgen build" in se and len(se.strip().splitlines()) == 1
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
