"""Fold a multiplication / addition by one constant number into the ``FromCodes`` before it, when exact."""

from __future__ import annotations

import numpy as np

from ..golden.execute import run_node
from ..ir.graph import Graph
from ._codes import dequantize, dtype_values

__all__ = ["absorb_scalar_affine"]

F32 = np.float32


def _new_coeffs(op: str, x_first: bool, mul, add, c):
    if op == "Mul":
        return mul * c, add * c
    if op == "Div" and x_first:
        return (mul / c, add / c) if c != 0 else None  # x / 0 stays a float op (infinity, as the model)
    if op == "Add":
        return mul, add + c
    if op == "Sub":
        return (mul, add - c) if x_first else (-mul, c - add)
    return None


def absorb_scalar_affine(graph: Graph) -> bool:
    """``FromCodes -> Mul/Div/Add/Sub(number)`` becomes one ``FromCodes``, verified on every integer value."""
    for node in graph.nodes:
        if node.op not in ("Mul", "Div", "Add", "Sub"):
            continue
        for pos in (0, 1):
            x, c = node.inputs[pos], node.inputs[1 - pos]
            f = graph.producer(x)
            if f is None or f.op != "FromCodes" or c not in graph.consts or graph.consts[c].size != 1:
                continue
            if "exact_mul" in f.attrs:  # exact arithmetic: the constant joins the threshold chain
                continue
            if graph.single_consumer(x) is not node or np.ndim(graph.consts[c]) > len(graph.shapes[x]):
                continue
            vals = dtype_values(graph.dtypes.get(f.inputs[0]))
            if vals is None:
                continue
            cv = F32(np.asarray(graph.consts[c]).reshape(-1)[0])
            mul, add = np.asarray(f.attrs["mul"], F32), np.asarray(f.attrs.get("add", 0.0), F32)
            new = _new_coeffs(node.op, pos == 0, mul, add, cv)
            if new is None:
                continue
            v = vals.reshape(-1, *([1] * np.ndim(mul)))
            before = run_node(
                node,
                [dequantize(f.attrs, v), graph.consts[c]]
                if pos == 0
                else [graph.consts[c], dequantize(f.attrs, v)],
            )
            after = dequantize({"mul": new[0].astype(F32), "add": new[1].astype(F32)}, v)
            if not np.array_equal(before, after):
                continue
            f.attrs["mul"], f.attrs["add"] = new[0].astype(F32), new[1].astype(F32)
            graph.nodes.remove(node)
            f.outputs = [node.outputs[0]]
            graph.prune()
            return True
    return False
