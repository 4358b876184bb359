"""MaxPool -> quantizer (or Relu) becomes quantizer -> MaxPool (exact: a non-decreasing function commutes with
max)."""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node
from ._codes import ACTIVATIONS

__all__ = ["swap_maxpool_quantizer"]


def _non_decreasing(graph: Graph, q: Node) -> bool:
    if q.op == "Relu":
        return True
    if q.op == "MultiThreshold":
        return float(q.attrs.get("out_scale", 1.0)) > 0
    scale = graph.consts.get(q.inputs[1])
    return scale is not None and bool(np.all(np.asarray(scale) > 0))


def swap_maxpool_quantizer(graph: Graph) -> bool:
    """``MaxPool(y) -> Q`` becomes ``Q(y) -> MaxPool`` when ``Q`` is non-decreasing (positive scale, or a
    ``Relu``), so the pooling runs on integer values after the thresholds."""
    for mp in graph.nodes:
        if mp.op != "MaxPool":
            continue
        q = graph.single_consumer(mp.outputs[0])
        if (
            q is None
            or q.op not in (*ACTIVATIONS, "Relu")
            or q.inputs[0] != mp.outputs[0]
            or not _non_decreasing(graph, q)
        ):
            continue
        if q.op == "MultiThreshold" and (q.attrs.get("data_layout") or "NCHW") != "NCHW":
            continue
        mid = graph.fresh(q.outputs[0] + "_unpooled")
        graph.shapes[mid] = graph.shapes[mp.inputs[0]]
        new_q = Node(q.op, [mp.inputs[0], *q.inputs[1:]], [mid], dict(q.attrs), q.name)
        new_mp = Node("MaxPool", [mid], [q.outputs[0]], dict(mp.attrs), mp.name)
        graph.replace([mp, q], [new_q, new_mp])
        return True
    return False
