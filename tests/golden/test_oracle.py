"""Golden model vs the qonnx executor's saved outputs on the real Brevitas exports in ../shared/oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.models import ORACLE, discover, references

from hwgen.frontend import load
from hwgen.golden import execute
from hwgen.passes import streamline

pytestmark = pytest.mark.oracle
CASES = discover(ORACLE)
if not CASES:
    pytestmark = [pytest.mark.oracle, pytest.mark.skip(reason="../shared/oracle not present")]
    CASES = [(None, "none", None)]


@pytest.mark.parametrize(
    "folder,form,model", CASES, ids=[f"{c[0].name}-{c[1]}" if c[0] else "none" for c in CASES]
)
def test_golden_matches_executor(folder, form, model):
    x, out_ref, acc_ref, mask = references(folder, form)
    hw = streamline(load(model))
    y, acc = execute(hw, x)
    assert out_ref is not None
    assert y.dtype == np.float32 and np.array_equal(y, out_ref)
    assert acc.dtype == np.int64 and np.array_equal(acc[mask], acc_ref[mask])
    assert mask.sum() >= len(mask) // 2
    assert all(n.attrs.get("thresholds_repaired", 0) == 0 for n in hw.hw_nodes())  # analytic = float32


@pytest.mark.parametrize("name", ["tfc_1w1a", "tfc_2w2a", "cnv_1w1a"])
def test_quantized_activations_match(name):
    """Every quantized activation of the clean model, read back from the hardware nodes' integer outputs."""
    d = ORACLE / name
    if not d.is_dir():
        pytest.skip("model not in the oracle")
    acts = np.load(d / "acts_ref.npz")
    hw = streamline(load(d / f"{name}.qonnx_clean.onnx"))
    from hwgen.golden import execute_all

    env = execute_all(hw, np.load(d / "inputs.npy"))
    nodes = json.loads((d / "info.json").read_text())["act_quant_nodes"]
    producers = [n for n in hw.nodes if n.op == "ToCodes" or n.attrs.get("thresholds") is not None]
    assert len(producers) == len(nodes) >= 4
    for i, (node, p) in enumerate(zip(nodes, producers, strict=True)):
        ref = acts[f"act{i:02d}_{node['op']}"].astype(np.float64)
        if ref.ndim == 4:
            ref = ref.transpose(0, 2, 3, 1)
        got = env[p.outputs[0]]  # acts_ref holds the integer values
        assert np.array_equal(got, ref), (i, p.name)
