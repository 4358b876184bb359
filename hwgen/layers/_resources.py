"""Bridge from the layers' ``resources()`` to the resource model (:mod:`hwgen.layers.resource_model`,
calibrated against yosys), which takes the parameters each layer passes here."""

from __future__ import annotations

__all__ = ["estimate"]


def estimate(kind: str, family: str = "xc7", **params) -> dict:
    """``dict(luts=, ffs=, bram_bits=)`` for a layer ``kind`` with parameters ``params`` on ``family``
    ("xc7" or "ecp5")."""
    from hwgen.layers import resource_model  # imported late: the model is not needed to generate

    return dict(resource_model.estimate(kind, family, **params))
