"""FINN's XnorPopcountMatMul -> a bipolar MatMul with the popcount correction as float ops."""

from __future__ import annotations

import numpy as np

from ..ir.datatypes import BIPOLAR
from ..ir.graph import Graph, Node

__all__ = ["convert_xnor_popcount"]


def convert_xnor_popcount(graph: Graph) -> bool:
    """``XnorPopcountMatMul(x, Wbin)`` = ``((2x-1) @ (2W-1) + K) * 0.5``; written out as such (all exact)."""
    changed = False
    for node in list(graph.nodes):
        if node.op != "XnorPopcountMatMul" or node.inputs[1] not in graph.consts:
            continue
        wb = np.asarray(graph.consts[node.inputs[1]])
        k = wb.shape[0]
        vals = 2 * wb.astype(np.int64) - 1
        w = graph.add_const(node.name + "_bipolar", vals.astype(np.float32))
        graph.quant[w] = {"values": vals, "scale": np.ones(vals.shape, np.float32), "dtype": BIPOLAR}
        c2, c1 = (
            graph.add_const(node.name + "_two", np.float32(2)),
            graph.add_const(node.name + "_one", np.float32(1)),
        )
        ck, ch = (
            graph.add_const(node.name + "_k", np.float32(k)),
            graph.add_const(node.name + "_half", np.float32(0.5)),
        )
        t = [graph.fresh(f"{node.name}_t{i}") for i in range(4)]
        for i, ref in enumerate((node.inputs[0], node.inputs[0], node.outputs[0], node.outputs[0])):
            graph.shapes[t[i]] = graph.shapes[ref]
        new = [
            Node("Mul", [node.inputs[0], c2], [t[0]], {}, node.name + "_x2"),
            Node("Sub", [t[0], c1], [t[1]], {}, node.name + "_bip"),
            Node("MatMul", [t[1], w], [t[2]], {}, node.name),
            Node("Add", [t[2], ck], [t[3]], {}, node.name + "_addk"),
            Node("Mul", [t[3], ch], [node.outputs[0]], {}, node.name + "_half"),
        ]
        graph.replace([node], new)
        changed = True
    return changed
