"""Tier 5 on a whole accelerator: tiny_mlp stitched (three MVTUs, FIFOs, a width converter) behind AxisTop.

``o_hold``, ``no_extra`` and ``tlast`` by bounded model checking from reset, ``DEPTH`` cycles deep.
``drained`` is left out here: its depth (one frame + the drain bound of all six stages, 82 cycles) took
over 4 minutes for half the steps; every stage's ``drained`` is proved on its own in test_formal_layers.
"""

from __future__ import annotations

import pytest

from hwgen.flow.formal import prove_stream

from .formal_cases import accelerator_case

#: Bounded depth of the accelerator check (cycles from reset).
DEPTH = 24


@pytest.mark.slow
def test_accelerator_stream_rules_bounded(tmp_path):
    top, n_in, n_out, drain = accelerator_case()
    r = prove_stream(
        top, tmp_path, name="tiny_mlp", in_beats=n_in, out_beats=n_out, drain=drain, mode="bmc",
        depth=DEPTH, properties=["o_hold", "no_extra", "tlast"], timeout=900,
    )  # fmt: skip
    assert r.status == "PASS", r.summary() + "\n" + r.log[-3000:]
