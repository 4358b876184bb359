"""Thresholds from the float parameters: compose the affine chain, invert the quantizer's level boundaries.

For an integer ``v`` the chain after ``FromCodes`` is affine per channel, ``y = alpha*v + beta`` (batch-norm
as onnxruntime computes it, scales, biases); the quantizer reaches level ``k`` when ``y`` passes a boundary
``B_k`` (``Quant`` half-to-even: ``(q - 0.5 - zp) * s``, reached at the tie only for even ``q``;
``BipolarQuant``: 0; ``MultiThreshold``: its threshold). So ``t_k = ceil((B_k - beta) / alpha)`` (or
``floor(...) + 1`` where the tie is not reached), clipped to ``[acc_min, acc_max + 1]``. This is real
arithmetic; the float32 sub-graph can differ by one where a boundary falls within float32 rounding of an
integer, which the exhaustive check then finds.
"""

from __future__ import annotations

import numpy as np

from ..golden.float_ops import bn_coefficients
from ..ir.graph import Graph, Node

__all__ = ["affine_chain", "analytic_thresholds", "level_boundaries"]


def _apply64(graph: Graph, n: Node, y: np.ndarray) -> np.ndarray:
    cs = [np.asarray(graph.consts[i], np.float64) for i in n.inputs if i in graph.consts]
    if n.op == "BatchNormalization":
        s, b = bn_coefficients(*[graph.consts[i] for i in n.inputs[1:5]], n.attrs.get("epsilon", 1e-5))
        shape = (1, -1) + (1,) * (y.ndim - 2)
        return y * s.astype(np.float64).reshape(shape) + b.astype(np.float64).reshape(shape)
    c = cs[0]
    first = n.inputs[0] not in graph.consts
    if n.op == "Mul":
        return y * c
    if n.op == "Div":
        return y / c
    if n.op == "Add":
        return y + c
    return y - c if first else c - y  # Sub


def affine_chain(graph: Graph, chain: list[Node], y0: np.ndarray, y1: np.ndarray):
    """Float64 images of the FromCodes outputs for v = 0 and v = 1 through the chain: (beta, alpha)."""
    for n in chain:
        y0, y1 = _apply64(graph, n, y0), _apply64(graph, n, y1)
    return y0, y1 - y0


def level_boundaries(
    graph: Graph, act: Node, spec: dict, c: int
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Per level k = 1..T: (boundary in y, whether y == boundary reaches the level), each shape (C,)."""
    levels = 1 if spec["dtype"].name == "BIPOLAR" else spec["vmax"] - spec["vmin"]
    if act.op == "BipolarQuant":
        return [(np.zeros(c), np.ones(c, bool))]
    if act.op == "Trunc":  # no closed form here: the thresholds come from the exhaustive evaluation
        return None
    if act.op == "MultiThreshold":
        thr = np.asarray(graph.consts[act.inputs[1]], np.float64)
        thr = np.broadcast_to(thr, (c, thr.shape[1])) if thr.shape[0] == 1 else thr
        if thr.shape[0] != c:
            return None
        return [(thr[:, k], np.ones(c, bool)) for k in range(thr.shape[1])]
    s, zp, _ = (float(x) for x in spec["act"]["consts"])
    mode = str(act.attrs.get("rounding_mode", "ROUND")).upper()
    out = []
    for k in range(1, levels + 1):
        q = spec["vmin"] + k + zp  # the integer y_int must round to (before subtracting the zero point)
        if mode in ("ROUND", "HALF_EVEN"):
            b, incl = (q - 0.5 - zp) * s, q % 2 == 0
        elif mode == "FLOOR":
            b, incl = (q - zp) * s, True
        elif mode == "CEIL":
            b, incl = (q - 1 - zp) * s, False
        else:
            return None
        out.append((np.full(c, b), np.full(c, incl)))
    return out


def analytic_thresholds(alpha, beta, bounds, lo, hi) -> np.ndarray:
    """(C, T) thresholds of an affine chain, clipped to ``[lo, hi + 1]``.

    A channel with ``alpha <= 0`` is constant on its range unless it was negated (the caller's check then
    fails): the level is reached everywhere if it is reached at ``hi`` (``t = lo``), else nowhere.
    """
    t = np.empty((alpha.size, len(bounds)), dtype=np.int64)
    for k, (b, incl) in enumerate(bounds):
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (b - beta) / alpha
        tk = np.where(incl, np.ceil(x), np.floor(x) + 1)
        y_hi = beta + np.minimum(alpha, 0) * hi
        const_hit = np.where(incl, y_hi >= b, y_hi > b)
        tk = np.where(alpha > 0, tk, np.where(const_hit, lo, hi + 1))
        t[:, k] = np.clip(np.nan_to_num(tk, nan=0, posinf=hi + 1, neginf=lo), lo, hi + 1)
    return t
