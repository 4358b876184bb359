"""Bridge to the resource model: formulas in :mod:`hwgen.layers.resource_model` (SYNTH's, calibrated
against yosys) when it provides them, else the rough local estimates below."""

from __future__ import annotations

import math

__all__ = ["estimate"]


def estimate(kind: str, **p) -> dict:
    """``dict(luts=, ffs=, bram_bits=)`` for a layer ``kind`` with parameters ``p``."""
    try:
        from hwgen.layers import resource_model
    except ImportError:
        resource_model = None
    fn = getattr(resource_model, kind, None) if resource_model is not None else None
    if fn is not None:
        return dict(fn(**p))
    return {k: int(math.ceil(v)) for k, v in _FALLBACK[kind](**p).items()}


def _mvtu(
    mh, mw, pe, simd, ibits, wbits, xnor, acc_bits, n_thresholds, thr_bits, obits, storage, queue_depth
):
    lanes = pe * simd
    mac = lanes * (1.2 if xnor else ibits * wbits * 0.6)
    acc = pe * acc_bits * 1.1
    cmp = pe * n_thresholds * thr_bits * 0.55
    rom_bits = (mh * mw * wbits if storage == "rom" else 0) + (mh * n_thresholds * thr_bits)
    ffs = pe * (acc_bits * 2 + queue_depth * obits) + simd * ibits * 2
    return {"luts": mac + acc + cmp, "ffs": ffs, "bram_bits": rom_bits + (mw * ibits if mh > pe else 0)}


def _generic(width=1, depth=0, luts_per_bit=1.0, **_):
    return {"luts": width * luts_per_bit, "ffs": width * 2, "bram_bits": width * depth}


_FALLBACK = {"mvtu": _mvtu, "generic": _generic}
