"""Evaluate nodes whose inputs are all constants (weight quantizers, transposes of weights, ...)."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.execute import run_node
from ..golden.float_ops import quant_integer, quant_limits
from ..ir.datatypes import BIPOLAR, smallest_type_for
from ..ir.graph import Graph

__all__ = ["fold_constants"]

_LAYOUT = ("Transpose", "Reshape", "Flatten", "Identity")


def _quant_info(node, ins, graph: Graph, out: np.ndarray) -> dict | None:
    """Integer values, scale and datatype of a folded quantizer (or of a layout op on one)."""
    if node.op == "BipolarQuant":
        vals = np.where(np.asarray(ins[0], np.float32) >= 0, 1, -1).astype(np.int64)
        return {"values": vals, "scale": np.broadcast_to(np.float32(ins[1]), vals.shape), "dtype": BIPOLAR}
    if node.op == "Quant":
        a = node.attrs
        y = quant_integer(
            ins[0],
            ins[1],
            ins[2],
            ins[3],
            a.get("signed", 1),
            a.get("narrow", 0),
            a.get("rounding_mode", "ROUND"),
        )
        zp = np.asarray(ins[2], np.float32)
        if np.any(zp != 0):
            return None
        bits = float(np.asarray(ins[3]).reshape(-1)[0])
        if np.size(ins[3]) != 1 or bits < 1:
            raise HwgenError(
                f"node {node.name!r} (Quant): weight bit width {np.asarray(ins[3]).reshape(-1).tolist()} "
                "cannot be mapped to hardware (need one number >= 1)"
            )
        lo, hi = quant_limits(bits, a.get("signed", 1), a.get("narrow", 0))
        dt = BIPOLAR if bits == 1 and a.get("signed", 1) else smallest_type_for(lo, hi)
        vals = y.astype(np.int64)
        return {
            "values": vals,
            "scale": np.broadcast_to(np.asarray(ins[1], np.float32), vals.shape),
            "dtype": dt,
        }
    if node.op in _LAYOUT and node.inputs[0] in graph.quant:
        q = graph.quant[node.inputs[0]]
        rest = [graph.consts[t] for t in node.inputs[1:] if t]
        vals = run_node(node, [q["values"], *rest])
        scale = run_node(node, [np.ascontiguousarray(q["scale"]), *rest])
        return {
            "values": np.asarray(vals, np.int64),
            "scale": np.asarray(scale, np.float32),
            "dtype": q["dtype"],
        }
    return None


def fold_constants(graph: Graph) -> bool:
    """Replace every node whose inputs are all constants by its (float32) result."""
    changed = False
    for node in list(graph.nodes):
        if node.op in ("ToCodes", "FromCodes") or not all(t == "" or t in graph.consts for t in node.inputs):
            continue
        ins = [graph.consts[t] if t else None for t in node.inputs]
        out = run_node(node, ins)
        info = _quant_info(node, ins, graph, out)
        graph.nodes.remove(node)
        graph.consts[node.outputs[0]] = np.asarray(out)
        if info is not None:
            graph.quant[node.outputs[0]] = info
        changed = True
    if changed:
        graph.prune()
    return changed
