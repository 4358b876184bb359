"""Discovery of reference models (../shared/oracle and examples/models) for the golden-model tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ORACLE = ROOT.parent / "shared" / "oracle"
EXAMPLES = ROOT / "examples" / "models"
FORMS = ("qonnx", "qonnx_dynamo", "qonnx_clean", "finn", "finn_stream")


def discover(base: Path) -> list[tuple[Path, str, Path]]:
    """(model folder, form, model file) for every model file of a known form under ``base/*/``."""
    cases = []
    if not base.is_dir():
        return cases
    for info in sorted(base.glob("*/info.json")):
        d = info.parent
        for form in FORMS:
            f = d / f"{d.name}.{form}.onnx"
            if f.is_file():
                cases.append((d, form, f))
    return cases


def _find_key(tree, key):
    """The value of ``key`` anywhere in a JSON tree (first found), or None."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for v in tree:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


def references(d: Path, form: str):
    """(inputs, expected float output, expected integers, mask of samples whose integers must match).

    A FINN-ONNX file is compared with what that FINN model computes (``out_finn*.npy``, the executor run on
    that file): FINN's thresholds round ties up, so on tie inputs FINN disagrees with the QONNX model; there
    only the samples on which FINN agrees with the QONNX model are compared with ``acc_ref.npy``.
    Example models may have run the FINN executor on a subset of the inputs (``finn_checked_inputs``):
    then only that subset is returned.
    """
    x = np.load(d / "inputs.npy")
    acc = np.load(d / "acc_ref.npy")
    mask = np.ones(len(x), dtype=bool)
    out = d / "out_ref.npy"
    if not form.startswith("finn"):
        return x, (np.load(out) if out.is_file() else None), acc, mask
    out = d / f"out_{form}.npy"
    info = d / "finn_info.json"
    if info.is_file():  # ../shared/oracle
        fi = json.loads(info.read_text())
        key = "stream_acc_exact_per_sample" if form == "finn_stream" else "finn_exact_per_sample"
        if key in fi:
            mask = np.asarray(fi[key], dtype=bool)
        return x, (np.load(out) if out.is_file() else None), acc, mask
    # examples/models: info.json lists the inputs the FINN executor ran and those where it left the reference
    meta = json.loads((d / "info.json").read_text())
    rows = np.asarray(meta.get("finn_checked_inputs", range(len(x))), dtype=np.int64)
    facts = meta.get(f"{form}_vs_ref") or {}
    mask[[int(i) for i in facts.get("not_close_rows", [])]] = False
    return x[rows], (np.load(out) if out.is_file() else None), acc[rows], mask[rows]


def test_discover_finds_forms(tmp_path):
    d = tmp_path / "m1"
    d.mkdir()
    (d / "info.json").write_text("{}")
    (d / "m1.qonnx.onnx").write_bytes(b"")
    (d / "m1.finn.onnx").write_bytes(b"")
    (d / "m1.other.onnx").write_bytes(b"")
    assert [(c[1], c[2].name) for c in discover(tmp_path)] == [
        ("qonnx", "m1.qonnx.onnx"),
        ("finn", "m1.finn.onnx"),
    ]
    assert discover(tmp_path / "absent") == []
