"""Golden model vs the qonnx executor's saved outputs on every example model under examples/models.

Parametrized by discovery: a new ``examples/models/<name>/info.json`` with model files is picked up.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.models import EXAMPLES, discover, references

from hwgen.frontend import load
from hwgen.golden import execute
from hwgen.passes import streamline

CASES = discover(EXAMPLES)


@pytest.mark.parametrize("folder,form,model", CASES, ids=[f"{c[0].name}-{c[1]}" for c in CASES])
def test_golden_matches_executor(folder, form, model):
    x, out_ref, acc_ref, mask = references(folder, form)
    hw = streamline(load(model))
    y, acc = execute(hw, x)
    assert out_ref is not None, f"{folder.name}: no reference output for the {form} form"
    assert y.dtype == np.float32 and np.array_equal(y, out_ref)
    assert acc.dtype == np.int64 and np.array_equal(acc[mask], acc_ref[mask])
    assert all(n.attrs.get("thresholds_repaired", 0) == 0 for n in hw.hw_nodes())  # analytic = float32
