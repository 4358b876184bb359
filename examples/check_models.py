"""Check the committed example models against their layout and references; needs qonnx, not torch.

Usage::

    .venv/bin/python examples/check_models.py [--models examples/models] [--samples 4]

For each model folder: the files named in ``info.json`` exist, the arrays have the documented shapes and
types, ``acc_ref`` is integer, and the qonnx executor run again on a few inputs reproduces ``out_ref``,
``acc_ref`` and ``acts_ref`` exactly. Prints one line per model and the total gzip size; exit 1 on a failure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

REQUIRED_KEYS = (
    "name",
    "arch",
    "wbits",
    "abits",
    "trained",
    "forms",
    "input_shape",
    "n_inputs",
    "input_descriptions",
    "negative_gamma_channels",
    "tie_inputs",
    "accumulator_tensor",
)


def check_model(folder: Path, n_samples: int) -> list[str]:
    """Problems found in one model folder (empty if none)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    info = json.loads((folder / "info.json").read_text())
    bad = [f"info.json lacks {k}" for k in REQUIRED_KEYS if k not in info]
    bad += [f"missing {f}" for f in info["forms"].values() if not (folder / f).is_file()]
    x = np.load(folder / "inputs.npy")
    out_ref, acc_ref = np.load(folder / "out_ref.npy"), np.load(folder / "acc_ref.npy")
    acts = np.load(folder / "acts_ref.npz")
    n = info["n_inputs"]
    if x.dtype != np.float32 or x.shape != (n, *info["input_shape"]):
        bad.append(f"inputs.npy is {x.dtype} {x.shape}")
    if out_ref.dtype != np.float32 or acc_ref.dtype != np.int64 or len(out_ref) != n or len(acc_ref) != n:
        bad.append("out_ref/acc_ref dtype or length")
    model = ModelWrapper(str(folder / info["forms"]["qonnx_clean"]))
    inp, outp = model.graph.input[0].name, model.graph.output[0].name
    for i in np.linspace(0, n - 1, n_samples).astype(int):
        ctx = execute_onnx(model, {inp: x[i : i + 1]}, return_full_exec_context=True)
        if not np.array_equal(ctx[outp][0], out_ref[i]):
            bad.append(f"out_ref[{i}] differs")
        if not np.array_equal(ctx[info["accumulator_tensor"]][0], acc_ref[i]):
            bad.append(f"acc_ref[{i}] differs")
        bad += [
            f"acts_ref[{k}][{i}] differs" for k in acts.files if not np.array_equal(ctx[k][0], acts[k][i])
        ]
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=Path(__file__).resolve().parent / "models")
    ap.add_argument("--samples", type=int, default=4, help="inputs re-executed per model")
    args = ap.parse_args(argv)
    failed, total = 0, 0
    for folder in sorted(p for p in args.models.iterdir() if (p / "info.json").is_file()):
        size = sum(len(gzip.compress(p.read_bytes(), 6)) for p in folder.iterdir() if p.is_file())
        total += size
        bad = check_model(folder, args.samples)
        failed += bool(bad)
        print(f"{folder.name}: {'FAIL ' + '; '.join(bad[:5]) if bad else 'ok'} (gzip {size / 1e6:.1f} MB)")
    print(f"total gzip {total / 1e6:.1f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
