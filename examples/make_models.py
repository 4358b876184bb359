"""Build, train or randomize, export and reference the example models.

Usage (in the ``train`` environment, see examples/README.md)::

    python examples/make_models.py --out examples/models [--only tfc_w1a1 cnv_w2a2 ...]

Each model goes to ``OUT/<name>/`` in the layout of ``.notes/layout.md``: the QONNX forms (raw TorchScript,
dynamo, cleaned; FINN-ONNX when the ``finn`` package can be imported), ``inputs.npy``, the qonnx executor's
``out_ref.npy`` / ``acc_ref.npy`` / ``acts_ref.npz`` and ``info.json``. Seeds are fixed per model name.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bnn  # noqa: E402
import datasets  # noqa: E402
import randomize  # noqa: E402
import reference  # noqa: E402
import train  # noqa: E402

# name: (arch, weight bits, activation bits, training epochs or 0 for random weights)
MODELS = {
    "tfc_w1a1": ("tfc", 1, 1, 12),
    "tfc_w2a2": ("tfc", 2, 2, 12),
    "sfc_w1a1": ("sfc", 1, 1, 0),
    "sfc_w1a2": ("sfc", 1, 2, 0),
    "sfc_w2a2": ("sfc", 2, 2, 0),
    "cnv_w1a1": ("cnv", 1, 1, 0),
    "cnv_w1a2": ("cnv", 1, 2, 0),
    "cnv_w2a2": ("cnv", 2, 2, 0),
    "lfc_w1a1": ("lfc", 1, 1, 0),
    "lfc_w1a2": ("lfc", 1, 2, 0),
    "lfc_w2a2": ("lfc", 2, 2, 0),
}
FLIP_FRACTION = 0.25  # share of a trained model's hidden channels given a negative gamma (function kept)
N_FORM_CHECK = 16  # samples on which the raw and dynamo forms are compared with the cleaned one


def seed_of(name: str) -> int:
    """A fixed seed per model name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def calibration_batch(arch: str, rng: np.random.Generator) -> torch.Tensor:
    """Inputs for batch-norm calibration of random models (MNIST training images, or CNV-shaped mixes)."""
    x_tr = datasets.training_set()[0]
    if arch != "cnv":
        return torch.from_numpy(x_tr[rng.choice(len(x_tr), 512, replace=False)])
    dimg, _ = datasets.digits(32)
    parts = [
        np.repeat(dimg[rng.choice(len(dimg), 96, replace=False)], 3, axis=1),
        rng.integers(0, 256, (32, 3, 32, 32)).astype(np.float32) / np.float32(255),
    ]
    return torch.from_numpy(np.concatenate(parts).astype(np.float32))


def make_model(name: str) -> tuple[torch.nn.Module, dict]:
    """Build one model and train it (TFC) or randomize and calibrate it."""
    arch, wbits, abits, epochs = MODELS[name]
    seed = seed_of(name)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = bnn.build(arch, wbits, abits)
    info: dict = {"seed": seed, "trained": epochs > 0}
    if epochs:
        info["training"] = train.train(model, epochs, seed)
        x_te, y_te = datasets.training_set()[2:]
        before = train.accuracy(model, x_te, y_te)
        info["flipped_channels"] = randomize.flip_channels(model, FLIP_FRACTION, rng)
        after = train.accuracy(model, x_te, y_te)
        info["test_accuracy"] = after
        info["flip_kept_accuracy"] = before == after
        info["init"] = (
            f"trained {epochs} epochs; then gamma/beta of {info['flipped_channels']} hidden "
            "channels negated with the next layer's input columns (same function)"
        )
    else:
        randomize.random_weights(model, wbits, rng)
        info.update(randomize.randomize_batchnorm(model, calibration_batch(arch, rng), rng))
        values, probs = randomize.WEIGHT_VALUES[wbits]
        info["init"] = (
            f"random weights from {values} with p={probs}; batch-norm randomized and calibrated "
            "(~30% negative gamma, ~5% |gamma|=1e-3, ~2% gamma=0, ~6% tie channels); "
            "TensorNorm calibrated"
        )
    gammas = torch.cat([bn.weight.detach() for bn in bnn.norm_layers(model)])
    info["negative_gamma_channels"] = int((gammas < 0).sum())
    info["zero_gamma_channels"] = int((gammas == 0).sum())
    return model.eval(), info


def make_inputs(arch: str, seed: int) -> datasets.InputSet:
    """Reference inputs of the model (different stream from the model's own seed)."""
    rng = np.random.default_rng(seed + 1)
    return datasets.cnv_inputs(rng) if arch == "cnv" else datasets.fc_inputs(rng)


def build_one(name: str, out_root: Path) -> dict:
    """Make, export and reference one model into ``out_root/name``; return its info."""
    t0 = time.time()
    arch, wbits, abits, _ = MODELS[name]
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    model, made = make_model(name)
    inputs = make_inputs(arch, made["seed"])
    x, labels = inputs.arrays()
    forms, times = reference.export_forms(model, torch.from_numpy(x[:1]), out, name)
    arrays, facts = reference.run_reference(out / forms["qonnx_clean"], x)
    info = {
        "name": name,
        "arch": arch,
        "wbits": wbits,
        "abits": abits,
        "in_bits": 8 if arch == "cnv" else abits,
        **made,
        "forms": forms,
        "input_shape": list(x.shape[1:]),
        "n_inputs": len(x),
        "input_range": "[0,1] float32; the model computes 2x-1 before its input quantizer",
        "input_descriptions": inputs.desc,
        "tie_inputs": inputs.ties,
        "uint8_inputs": datasets.uint8_exact(x),
        **facts,
        **times,
    }
    info["checks"] = reference.checks(model, x, arrays, out, forms, N_FORM_CHECK)
    try:
        import finn_forms
    except ImportError as exc:
        info["finn_forms_skipped"] = f"finn not importable: {exc}"
    else:
        # LFC's FINN forms run slowly in the executor: check every third input and all tie inputs
        check = np.arange(len(x)) if arch != "lfc" else np.union1d(np.arange(0, len(x), 3), inputs.ties)
        info.update(finn_forms.make(out, name, forms, x, arrays["out_ref"], check))
    np.save(out / "inputs.npy", x)
    np.save(out / "labels.npy", labels)
    np.save(out / "out_ref.npy", arrays["out_ref"])
    np.save(out / "acc_ref.npy", arrays["acc_ref"])
    np.savez_compressed(out / "acts_ref.npz", **arrays["acts_ref"])
    labelled = labels >= 0
    info["reference_accuracy_on_labelled_inputs"] = round(
        float((arrays["out_ref"].argmax(1)[labelled] == labels[labelled]).mean()), 4
    )
    info["versions"] = versions()
    info["time_total_s"] = round(time.time() - t0, 1)
    info["file_bytes"] = reference.file_sizes(out)
    (out / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def versions() -> dict:
    """Versions of the packages that made the files."""
    from importlib.metadata import PackageNotFoundError, version

    res = {}
    for pkg in ("torch", "brevitas", "qonnx", "onnx", "onnxruntime", "numpy", "finn-plus"):
        try:
            res[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "models")
    ap.add_argument("--only", nargs="+", choices=sorted(MODELS), help="models to make (default: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # identical float summation order from run to run
    for name in args.only or list(MODELS):
        info = build_one(name, args.out)
        acc = f" test acc {info['test_accuracy']:.4f}" if info["trained"] else ""
        print(
            f"{name}: {info['n_inputs']} inputs, forms {sorted(info['forms'])},{acc} "
            f"torch==ref {info['checks']['torch_vs_qonnx_clean_bitidentical_samples']}, "
            f"{info['time_total_s']} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
