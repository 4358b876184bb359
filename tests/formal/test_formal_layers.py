"""Tier 5: SymbiYosys proves the AXI4-Stream rules of every stream layer kind (see hwgen.flow.formal).

Two checks per layer, each its own SymbiYosys run:

- ``o_hold`` (valid and payload hold until ready): by k-induction for the kinds where it is k-inductive on
  its own (``INDUCTIVE``, with the induction depth). The layers built on the credit-counted output queue
  need an invariant between the queue's level and its credits that k-induction cannot find (a full queue
  with a spare credit persists under an output stall), so theirs is bounded;
- ``no_extra`` and ``drained`` (no beat invented, duplicated or lost: out == in per frame): bounded, as
  counting properties are never k-inductive without such invariants.

Bounded runs check every input gap, output stall and reset pattern from reset up to ``depth`` =
one input frame + the drain bound + 2 cycles (``formal_cases.bmc_depth``).
"""

from __future__ import annotations

import pytest

from hwgen.flow.formal import prove_stream

from .formal_cases import LAYER_SPECS, bmc_depth, layer_case

#: Layers whose o_hold closes by k-induction, with the induction depth.
INDUCTIVE = {"label_select": 4, "fifo_memory": 4}

#: Runs that take more than ~30 s here: (layer, check).
SLOW = set()


def _params(check):
    return [pytest.param(n, marks=pytest.mark.slow) if (n, check) in SLOW else n for n in sorted(LAYER_SPECS)]


@pytest.mark.parametrize("name", _params("hold"))
def test_hold(name, tmp_path):
    comp, n_in, n_out, drain = layer_case(name)
    mode, depth = ("prove", INDUCTIVE[name]) if name in INDUCTIVE else ("bmc", bmc_depth(n_in, drain))
    r = prove_stream(
        comp, tmp_path, name=name, in_beats=n_in, out_beats=n_out, drain=drain, mode=mode, depth=depth,
        properties=["o_hold"],
    )  # fmt: skip
    assert r.status == "PASS", r.summary() + "\n" + r.log[-3000:]


@pytest.mark.parametrize("name", _params("beats"))
def test_beats_per_frame(name, tmp_path):
    comp, n_in, n_out, drain = layer_case(name)
    r = prove_stream(
        comp, tmp_path, name=name, in_beats=n_in, out_beats=n_out, drain=drain, mode="bmc",
        depth=bmc_depth(n_in, drain), properties=["no_extra", "drained"],
    )  # fmt: skip
    assert r.status == "PASS", r.summary() + "\n" + r.log[-3000:]
