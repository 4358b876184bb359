"""Command-line helpers shared by the ``hwgen`` CLI tests: the TFC-W1A1 example, its matrix layers, a
folding file for it, and the CLI run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwgen.cli import main

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

MODEL = Path(__file__).resolve().parents[2] / "examples" / "models" / "tfc_w1a1" / "tfc_w1a1.qonnx.onnx"
LANES = [(4, 4), (1, 2), (1, 2), (1, 1)]  # (PE, SIMD) of the four matrix layers, in order


def matmuls(path=MODEL):
    """(node name, weight shape (MW, MH) as the MatMul sees it) of every MatMul, in graph order."""
    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t).shape for t in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    out = []
    for n in m.graph.node:
        if n.op_type != "MatMul":
            continue
        w, flip = n.input[1], False
        while w not in inits:  # the weight passes through its quantizer node (and maybe a Transpose)
            flip ^= producer[w].op_type == "Transpose"
            w = producer[w].input[0]
        out.append((n.name, inits[w][::-1] if flip else inits[w]))
    return out


def folding_file(tmp_path) -> Path:
    f = tmp_path / "folding.json"
    f.write_text(
        json.dumps(
            {name: {"pe": pe, "simd": simd} for (name, _), (pe, simd) in zip(matmuls(), LANES, strict=True)}
        )
    )
    return f


def hwgen(capsys, *argv):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors
        rc = e.code
    cap = capsys.readouterr()
    return rc, cap.out, cap.err
