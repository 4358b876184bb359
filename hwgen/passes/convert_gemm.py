"""Gemm (as the dynamo exporter writes linear layers) -> MatMul [+ Add]."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.graph import Graph, Node

__all__ = ["convert_gemm"]


def convert_gemm(graph: Graph) -> bool:
    """``Gemm(x, W, C)`` with constant W, alpha = 1 and no transA becomes ``MatMul(x, W')`` (+ ``Add(C)``)."""
    changed = False
    for node in list(graph.nodes):
        a = node.attrs
        if node.op != "Gemm" or a.get("transA", 0) or float(a.get("alpha", 1.0)) != 1.0:
            continue
        if node.inputs[1] not in graph.consts:
            continue
        if len(node.inputs) > 2 and node.inputs[2] and node.inputs[2] not in graph.consts:
            raise HwgenError(f"node {node.name!r} (Gemm): the bias C must be a constant")
        w = graph.consts[node.inputs[1]]
        wname = node.inputs[1]
        if a.get("transB", 0):
            wname = graph.add_const(node.inputs[1] + "_T", np.ascontiguousarray(w.T))
            q = graph.quant.get(node.inputs[1])
            if q is not None:
                graph.quant[wname] = {
                    "values": q["values"].T,
                    "scale": np.asarray(q["scale"]).T,
                    "dtype": q["dtype"],
                }
        new = [Node("MatMul", [node.inputs[0], wname], [node.outputs[0]], {}, node.name)]
        if len(node.inputs) > 2 and node.inputs[2]:
            mid = graph.fresh(node.outputs[0] + "_mm")
            new[0].outputs = [mid]
            graph.shapes[mid] = graph.shapes[node.outputs[0]]
            c = np.asarray(graph.consts[node.inputs[2]], np.float32) * np.float32(a.get("beta", 1.0))
            new.append(
                Node(
                    "Add",
                    [mid, graph.add_const(node.name + "_bias", c)],
                    [node.outputs[0]],
                    {},
                    node.name + "_bias",
                )
            )
        graph.replace([node], new)
        changed = True
    return changed
