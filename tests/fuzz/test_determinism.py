"""Same model and options -> byte-identical Verilog, folding, manifest and report; the only difference between
two builds is the one timestamp field ``created`` (issue 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import corpus
from hwgen.cli import main

MODEL = corpus.MODELS / "tfc_w1a1" / "tfc_w1a1.qonnx.onnx"
OPTIONS = ["--target-fps", "50000", "--topk", "2"]


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _without_timestamp(out: Path) -> dict[str, bytes]:
    files = _files(out)
    m = json.loads(files["manifest.json"])
    created = m.pop("created")
    assert isinstance(created, str) and created
    files["manifest.json"] = json.dumps(m, indent=1).encode()
    assert files["report.md"].count(created.encode()) == 1  # the report shows it once, from the same field
    files["report.md"] = files["report.md"].replace(created.encode(), b"<created>")
    for name, data in files.items():
        if name not in ("manifest.json", "report.md"):
            assert created.encode() not in data, f"{name} holds the build time"
    return files


def _assert_same(a: Path, b: Path) -> None:
    fa, fb = _without_timestamp(a), _without_timestamp(b)
    assert sorted(fa) == sorted(fb)
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs between two builds of the same model and options"


def test_two_builds_are_byte_identical(tmp_path, capsys):
    for k in (1, 2):
        assert main(["build", str(MODEL), "-o", str(tmp_path / f"out{k}"), *OPTIONS]) == 0
    capsys.readouterr()
    _assert_same(tmp_path / "out1", tmp_path / "out2")


def test_a_rebuild_in_place_is_byte_identical(tmp_path, capsys):
    out, ref = tmp_path / "out", tmp_path / "ref"
    assert main(["build", str(MODEL), "-o", str(ref), *OPTIONS]) == 0
    assert main(["build", str(MODEL), "-o", str(out), *OPTIONS]) == 0
    assert main(["build", str(MODEL), "-o", str(out), *OPTIONS]) == 0  # replaces its own previous build
    capsys.readouterr()
    _assert_same(ref, out)


@pytest.mark.slow
def test_builds_in_separate_processes_are_byte_identical(tmp_path):
    """Different hash seeds (set and dict order of strings) must not change a byte."""
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        cmd = [sys.executable, "-m", "hwgen.cli", "build", str(MODEL), "-o", str(tmp_path / seed), *OPTIONS]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    _assert_same(tmp_path / "1", tmp_path / "2")
