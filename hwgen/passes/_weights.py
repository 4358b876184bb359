"""Integer weights of a matrix or convolution layer, and the exactness conditions of its float result.

Power-of-two scales keep the float32 model exact (``== `` the executor); other scales make the layer an
exact-arithmetic layer (:mod:`hwgen.golden.exact`)."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import BIPOLAR, DataType, smallest_type_for
from ..ir.graph import Graph, Node

F32 = np.float32
#: Largest magnitude of an integer weight given without a quantizer (every integer up to it is a float32).
MAX_INTEGER_WEIGHT = 1 << 24


def weight_codes(graph: Graph, name: str, node: Node) -> tuple[np.ndarray, np.ndarray, DataType]:
    """``(values int64, scale float32 of the same shape, dtype)`` of a constant weight tensor."""
    q = graph.quant.get(name)
    if q is not None:
        vals, scale = (
            np.asarray(q["values"], np.int64),
            np.broadcast_to(np.asarray(q["scale"], F32), q["values"].shape),
        )
        return vals, scale, q["dtype"]
    w = np.asarray(graph.consts[name], np.float64)
    if not np.all(w == np.round(w)):
        raise HwgenError(
            f"node {node.name!r} ({node.op}): weights are not quantized (no Quant node and not "
            "integers); hwgen maps only quantized weights to hardware"
        )
    if not np.all(np.abs(w) <= MAX_INTEGER_WEIGHT):
        raise HwgenError(
            f"node {node.name!r} ({node.op}): integer weights beyond +-2**24 (float32 no longer holds every "
            "integer there); hwgen maps only quantized weights to hardware"
        )
    vals = w.astype(np.int64)
    dt = BIPOLAR if np.all(np.abs(vals) == 1) else smallest_type_for(int(vals.min()), int(vals.max()))
    return vals, np.ones(vals.shape, F32), dt


def column_scale(scale: np.ndarray, axis: int, node: Node) -> np.ndarray:
    """One scale per output channel (``axis`` of the weight tensor); positive and finite."""
    s = np.moveaxis(np.asarray(scale, F32), axis, 0).reshape(scale.shape[axis], -1)
    if not np.all(s == s[:, :1]):
        raise HwgenError(f"node {node.name!r} ({node.op}): weight scale varies inside an output channel")
    s = s[:, 0]
    if not np.all((s > 0) & np.isfinite(s)):
        raise HwgenError(f"node {node.name!r} ({node.op}): weight scales must be positive and finite")
    return s


def acc_range(w: np.ndarray, in_dt: DataType) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-row min/max of ``w @ x`` for x ranging over ``in_dt``."""
    w = np.asarray(w, np.int64)
    lo = np.minimum(w * in_dt.min, w * in_dt.max).sum(axis=1)
    hi = np.maximum(w * in_dt.min, w * in_dt.max).sum(axis=1)
    return lo, hi


def check_exact_sum(lo, hi, node: Node) -> None:
    if max(int(np.max(np.abs(lo))), int(np.max(np.abs(hi)))) >= 1 << 24:
        raise HwgenError(
            f"node {node.name!r} ({node.op}): accumulator range exceeds 2**24; float32 sums are no "
            "longer exact"
        )
