"""Export a Brevitas model to the QONNX forms and compute the qonnx executor's reference outputs."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import bnn
import numpy as np
import onnx
import torch
from brevitas.export import export_qonnx
from onnx.external_data_helper import uses_external_data
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup

ACT_QUANT_OPS = ("Quant", "BipolarQuant")
MATRIX_OPS = ("MatMul", "Gemm", "Conv")


def export_forms(model: torch.nn.Module, sample: torch.Tensor, out: Path, name: str) -> tuple[dict, dict]:
    """Write the raw TorchScript, dynamo and cleaned QONNX forms; return {form: file} and timings."""
    forms, times = {}, {}
    raw = out / f"{name}.qonnx.onnx"
    t = time.time()
    export_qonnx(model, input_t=sample, export_path=str(raw), dynamo=False)
    times["export_ts_s"] = round(time.time() - t, 2)
    forms["qonnx"] = raw.name
    with tempfile.TemporaryDirectory() as tmp:
        dyn_tmp = Path(tmp) / "model.onnx"
        t = time.time()
        try:
            export_qonnx(model, input_t=sample, export_path=str(dyn_tmp), dynamo=True)
        except Exception as exc:  # noqa: BLE001 - the dynamo form is optional; record why it is missing
            times["export_dynamo_error"] = repr(exc)[:300]
        else:
            times["export_dynamo_s"] = round(time.time() - t, 2)
            proto = onnx.load(str(dyn_tmp), load_external_data=False)
            if any(uses_external_data(init) for init in proto.graph.initializer):
                # keep the weights file next to the model under the name the model refers to
                onnx.save(
                    onnx.load(str(dyn_tmp)),
                    str(out / f"{name}.qonnx_dynamo.onnx"),
                    save_as_external_data=True,
                    location=f"{name}.qonnx_dynamo.onnx.data",
                )
                times["dynamo_external_data"] = f"{name}.qonnx_dynamo.onnx.data"
            else:  # the exporter's .onnx.data is not referenced by the model: leave it behind
                shutil.copyfile(dyn_tmp, out / f"{name}.qonnx_dynamo.onnx")
            forms["qonnx_dynamo"] = f"{name}.qonnx_dynamo.onnx"
    clean = out / f"{name}.qonnx_clean.onnx"
    t = time.time()
    cleanup(str(raw), out_file=str(clean))
    times["cleanup_s"] = round(time.time() - t, 2)
    forms["qonnx_clean"] = clean.name
    return forms, times


def _attr(a: onnx.AttributeProto):
    v = onnx.helper.get_attribute_value(a)
    return v.decode() if isinstance(v, bytes) else v


def op_counts(graph: onnx.GraphProto) -> dict:
    """Number of nodes per op type."""
    counts: dict[str, int] = {}
    for n in graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def graph_facts(model: ModelWrapper) -> dict:
    """Accumulator, activation quantizer and output tensor names of a cleaned model."""
    g = model.graph
    inits = {i.name for i in g.initializer}
    acts = [n for n in g.node if n.op_type in ACT_QUANT_OPS and n.input[0] not in inits]
    mats = [n for n in g.node if n.op_type in MATRIX_OPS]
    return {
        "input_tensor": g.input[0].name,
        "output_tensor": g.output[0].name,
        "accumulator_tensor": mats[-1].output[0],
        "act_quant_tensors": [n.output[0] for n in acts],
        "act_quant_nodes": [
            {
                "op": n.op_type,
                "input": n.input[0],
                "output": n.output[0],
                "scale": model.get_initializer(n.input[1]).tolist(),
                **({"bitwidth": float(model.get_initializer(n.input[3]))} if n.op_type == "Quant" else {}),
                **{a.name: _attr(a) for a in n.attribute},
            }
            for n in acts
        ],
        "op_counts": op_counts(g),
        "op_sequence": [n.op_type for n in g.node],
    }


def _count_ties(ctx: dict, node: dict) -> int:
    """Exact rounding ties at the input of an activation quantizer (0 for BipolarQuant, k+0.5 for Quant)."""
    x = ctx[node["input"]]
    if node["op"] == "BipolarQuant":
        return int((x == 0).sum())
    q = x / np.asarray(node["scale"], dtype=np.float32)
    return int((q - np.floor(q) == 0.5).sum())


def run_reference(clean_path: Path, x: np.ndarray) -> tuple[dict, dict]:
    """Execute the cleaned model sample by sample with qonnx's executor.

    Returns the arrays (out_ref, acc_ref, acts_ref) and facts (tensor names, ties, timing).
    """
    model = ModelWrapper(str(clean_path))
    facts = graph_facts(model)
    outs, accs, acts = [], [], {k: [] for k in facts["act_quant_tensors"]}
    ties = dict.fromkeys(facts["act_quant_tensors"], 0)
    tie_samples = {k: [] for k in facts["act_quant_tensors"]}
    t = time.time()
    for i in range(len(x)):
        ctx = execute_onnx(model, {facts["input_tensor"]: x[i : i + 1]}, return_full_exec_context=True)
        outs.append(ctx[facts["output_tensor"]][0])
        accs.append(ctx[facts["accumulator_tensor"]][0])
        for node in facts["act_quant_nodes"]:
            acts[node["output"]].append(ctx[node["output"]][0])
            n = _count_ties(ctx, node)
            ties[node["output"]] += n
            if n:
                tie_samples[node["output"]].append(i)
    facts["exec_qonnx_clean_s_per_sample"] = round((time.time() - t) / len(x), 5)
    acc = np.stack(accs)
    assert np.array_equal(acc, np.round(acc)), "last matrix layer output is not integer-valued"
    facts["exact_ties_per_act_quant"] = ties
    facts["act_level_fractions"] = {}  # hidden activations: share of each output level (none all-saturated)
    for k, v in list(acts.items())[1:]:
        a = np.asarray(v)
        facts["act_level_fractions"][k] = {str(lv): round(float(np.mean(a == lv)), 4) for lv in np.unique(a)}
    facts["samples_with_ties_per_act_quant"] = {k: v for k, v in tie_samples.items() if v}
    arrays = {
        "out_ref": np.stack(outs).astype(np.float32),
        "acc_ref": acc.astype(np.int64),
        "acts_ref": {k: np.stack(v).astype(np.float32) for k, v in acts.items()},
    }
    return arrays, facts


def run_form(path: Path, x: np.ndarray) -> np.ndarray:
    """Outputs of any single-input ONNX form under qonnx's executor, sample by sample."""
    model = ModelWrapper(str(path)).transform(InferShapes())
    name = model.graph.input[0].name
    out = model.graph.output[0].name
    return np.stack([execute_onnx(model, {name: x[i : i + 1]})[out][0] for i in range(len(x))])


def torch_outputs(model: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float outputs and last-matrix-layer outputs of the torch model (eval mode)."""
    model.eval()
    seen = []
    last = bnn.matrix_layers(model)[-1]
    handle = last.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    try:
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy()
    finally:
        handle.remove()
    return y, seen[0].numpy()


def checks(model: torch.nn.Module, x: np.ndarray, arrays: dict, out: Path, forms: dict, n_forms: int) -> dict:
    """Compare torch with the executor, and the raw/dynamo forms with the clean one on ``n_forms`` inputs."""
    y_t, acc_t = torch_outputs(model, x)
    ref = arrays["out_ref"]
    n = len(x)
    res = {
        "torch_vs_qonnx_clean_maxabs": float(np.abs(y_t - ref).max()),
        "torch_vs_qonnx_clean_bitidentical_samples": f"{int((y_t == ref).all(axis=1).sum())}/{n}",
        "torch_vs_qonnx_clean_argmax_equal_samples": f"{int((y_t.argmax(1) == ref.argmax(1)).sum())}/{n}",
        "torch_vs_qonnx_accumulator_exact": bool(np.array_equal(acc_t, arrays["acc_ref"])),
    }
    if not np.array_equal(y_t, ref):
        res["torch_mismatch_note"] = (
            "torch's fused batch-norm (x*a + b') is not exactly 0 at x == running_mean, the executor's "
            "op-by-op BatchNormalization is; at tie channels before a BipolarQuant they differ. The executor "
            "is the reference."
        )
    sub = x[:n_forms]
    for form in ("qonnx", "qonnx_dynamo"):
        if form in forms:
            y = run_form(out / forms[form], sub)
            res[f"{form}_vs_clean_maxabs_first{n_forms}"] = float(np.abs(y - ref[:n_forms]).max())
    return res


def file_sizes(out: Path) -> dict:
    """Bytes per file in ``out``."""
    return {p.name: os.path.getsize(p) for p in sorted(out.iterdir()) if p.is_file()}
