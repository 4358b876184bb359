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


def _thresholding(channels, pe, ibits, n_thresholds, thr_bits, obits, storage):
    rom = channels * n_thresholds * thr_bits if storage == "rom" else 0
    return {
        "luts": pe * n_thresholds * thr_bits * 0.55 + pe * n_thresholds,
        "ffs": pe * (ibits + 3 * obits),
        "bram_bits": rom,
    }


def _buffered(width, depth, ffs=0, luts=0):
    """A stream buffer of ``depth`` words of ``width`` bits: registers when tiny, RAM otherwise."""
    bits = width * depth
    if depth <= 4:
        return {"luts": luts + width, "ffs": ffs + bits, "bram_bits": 0}
    return {"luts": luts + bits / 64 + 2 * math.log2(depth), "ffs": ffs + width, "bram_bits": bits}


def _fifo(width, depth):
    return _buffered(width, depth, ffs=2 * max(1, math.log2(depth)))


def _width_converter(in_bits, out_bits, capacity_bits):
    return {"luts": capacity_bits * 1.5, "ffs": capacity_bits + 8, "bram_bits": 0}


def _sliding_window(width, depth, counters_bits):
    return _buffered(width, depth, ffs=counters_bits + 3 * width, luts=4 * counters_bits + width)


def _maxpool(width, depth, lanes, bits):
    return _buffered(width, depth, ffs=3 * width + 32, luts=lanes * bits * 1.5 + 32)


def _label_select(k, vbits, ibits):
    return {"luts": k * (vbits * 1.5 + ibits + vbits), "ffs": 2 * k * (vbits + ibits), "bram_bits": 0}


_FALLBACK = {
    "mvtu": _mvtu,
    "thresholding": _thresholding,
    "fifo": _fifo,
    "width_converter": _width_converter,
    "sliding_window": _sliding_window,
    "maxpool": _maxpool,
    "label_select": _label_select,
}
