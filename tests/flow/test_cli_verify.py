"""``hwgen verify``: a TFC-W1A1 build under Verilator on plain and tie inputs equals the qonnx executor's
``acc_ref.npy``; a build with one flipped weight bit fails (exit 1); bad input is one line, exit 2.

One build (folded to II 3136, the layers' lanes from a folding file) is shared by the tests; its
Verilator model is cached in the build folder, as ``hwgen verify`` does for a user.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import folding_file, hwgen, matmuls

from hwgen.cli import main

pytestmark = pytest.mark.verilator
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "models" / "tfc_w1a1"
MODEL = EXAMPLE / "tfc_w1a1.qonnx.onnx"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    d = tmp_path_factory.mktemp("verify")
    assert main(["build", str(MODEL), "-o", str(d / "out"), "--folding", str(folding_file(d))]) == 0
    return d / "out"


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Four plain frames and four that hit quantizer ties, with the executor's accumulators."""
    info = json.loads((EXAMPLE / "info.json").read_text())
    idx = [0, 1, 2, 3] + [int(i) for i in info["tie_inputs"][:4]]
    assert len(set(idx)) == 8
    path = tmp_path_factory.mktemp("frames") / "x.npy"
    np.save(path, np.load(EXAMPLE / "inputs.npy")[idx])
    return path, np.load(EXAMPLE / "acc_ref.npy")[idx]


def test_verify_with_pauses_equals_executor(build, frames, tmp_path, capsys):
    x, ref = frames
    y = tmp_path / "y.npy"
    rc, so, se = hwgen(capsys, "verify", build, "--inputs", x, "-o", y, "--stall", 0.3)
    assert rc == 0, so + se
    assert "frames 8, mismatching frames 0" in so and "PASS" in so
    got = np.load(y)
    assert got.dtype == np.int64 and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def test_verify_full_speed_measures_ii(build, frames, capsys):
    mms = matmuls()
    lanes = json.loads((build / "folding.json").read_text())
    ii = max((mh // lanes[n]["pe"]) * (mw // lanes[n]["simd"]) for n, (mw, mh) in mms)
    rc, so, se = hwgen(capsys, "verify", build, "--inputs", frames[0])
    assert rc == 0, so + se
    assert f"measured cycles per frame {ii} (ii_cycles {ii})" in so


def _flip_last_weight(v: Path) -> None:
    """Flip bit 0 of word 0 of the last weight ROM: one weight of the last layer changes sign, so output 0
    changes by +-2 on every frame (its input is bipolar, never 0)."""
    text = v.read_text()
    hits = list(re.finditer(r"wrom\[0\] = (\d+)'h([0-9a-f]+);", text))
    assert hits
    h = hits[-1]
    word = int(h.group(2), 16) ^ 1
    v.write_text(text[: h.start()] + f"wrom[0] = {h.group(1)}'h{word:x};" + text[h.end() :])


def test_corrupted_build_fails(build, frames, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(build, bad, ignore=shutil.ignore_patterns("sim_build"))
    _flip_last_weight(bad / "rtl" / "hwgen_top.v")
    x = tmp_path / "x2.npy"
    np.save(x, np.load(frames[0])[:2])
    y = tmp_path / "y.npy"
    rc, so, se = hwgen(capsys, "verify", bad, "--inputs", x, "-o", y)
    assert rc == 1, so + se
    assert "FAIL: 2 of 2 frames differ" in so and "first mismatching frame 0" in so
    assert "changed since the build" in se  # the Verilog's sha256 no longer matches the manifest
    got = np.load(y)
    d = got - frames[1][:2]
    assert (np.abs(d[:, 0]) == 2).all() and (d[:, 1:] == 0).all()


def test_bad_input(build, frames, tmp_path, capsys):
    x = np.load(frames[0])
    cases = {
        "no such build folder": [tmp_path / "nowhere", "--inputs", frames[0]],
        "no manifest.json": [tmp_path, "--inputs", frames[0]],
        "no such file": [build, "--inputs", tmp_path / "missing.npy"],
        "does not match the model input": [build, "--inputs", tmp_path / "flat.npy"],
        "--stall": [build, "--inputs", frames[0], "--stall", 1.5],
        "does not exist": [build, "--inputs", frames[0], "-o", tmp_path / "no" / "y.npy"],
        "is a folder": [build, "--inputs", frames[0], "-o", tmp_path],
        "NaN or infinite": [build, "--inputs", tmp_path / "nan.npy"],
        "key rtl.top missing": [tmp_path / "notop", "--inputs", frames[0]],
    }
    nan = x.copy()
    nan[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    (tmp_path / "notop").mkdir()
    m = json.loads((Path(build) / "manifest.json").read_text())
    del m["rtl"]["top"]
    (tmp_path / "notop" / "manifest.json").write_text(json.dumps(m))
    np.save(tmp_path / "flat.npy", x.reshape(len(x), -1))
    for needle, argv in cases.items():
        rc, so, se = hwgen(capsys, "verify", *argv)
        assert rc == 2 and len(se.strip().splitlines()) == 1 and needle in se, (needle, se)
        assert "Traceback" not in so + se
    assert not (tmp_path / "no").exists()


def test_verilog_that_does_not_compile(build, frames, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(build, bad, ignore=shutil.ignore_patterns("sim_build"))
    v = bad / "rtl" / "hwgen_top.v"
    v.write_text(v.read_text().replace("endmodule", "endmodul", 1))
    rc, so, se = hwgen(capsys, "verify", bad, "--inputs", frames[0])
    assert rc == 2 and "Traceback" not in so + se
    assert se.strip().splitlines()[-1].startswith(f"hwgen: error: {bad}: Verilator could not build")


@pytest.mark.slow
def test_raw_uint8_input_and_topk(tmp_path, capsys):
    """Raw pixels (on-chip input thresholds) and top-3 label selection: the hardware's labels are the three
    largest accumulators (ties to the lower index) of the qonnx executor (``acc_ref.npy``), on inputs that
    lie exactly on the 1/255 grid (``uint8_inputs`` in info.json) where both input paths must agree."""
    idx = np.asarray(json.loads((EXAMPLE / "info.json").read_text())["uint8_inputs"][:5])
    x = np.load(EXAMPLE / "inputs.npy")[idx]
    assert np.array_equal((np.round(x * 255) / 255).astype(np.float32), x)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    rc, _, se = hwgen(
        capsys,
        "build",
        MODEL,
        "-o",
        out,
        "--input-dtype",
        "uint8",
        "--input-scale",
        1 / 255,
        "--topk",
        3,
        "--target-fps",
        30000,
    )
    assert rc == 0, se
    rc, so, se = hwgen(
        capsys, "verify", out, "--inputs", tmp_path / "x.npy", "-o", tmp_path / "y.npy", "--stall", 0.2
    )
    assert rc == 0, so + se
    acc = np.load(EXAMPLE / "acc_ref.npy")[idx]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.argsort(-acc, axis=1, kind="stable")[:, :3])
