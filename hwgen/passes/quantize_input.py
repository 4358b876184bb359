"""Decide what the accelerator takes as input: the first quantizer's values, or declared raw integers."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import DataType
from ..ir.graph import Graph, Node
from ._codes import ACTIVATIONS, activation_spec, from_codes_node, layout_nchw_to_nhwc

__all__ = ["quantize_input"]

_HOST_OPS = ("Mul", "Add", "Sub", "Div", "Reshape", "Flatten", "Transpose", "Identity", "Relu", "Clip")


def _permuted(shape, perm):
    return tuple(shape[i] for i in perm) if perm else tuple(shape)


def _first_activation(graph: Graph) -> Node:
    frontier = {graph.inputs[0]}
    for n in graph.nodes:
        if not any(t in frontier for t in n.inputs):
            continue
        if n.op in ACTIVATIONS:
            return n
        if n.op not in _HOST_OPS or not all(t in frontier or t in graph.consts or t == "" for t in n.inputs):
            raise HwgenError(
                f"node {n.name!r} ({n.op}) works on the raw float input before any quantizer; "
                "hwgen needs the input quantized first (or give --input-dtype/--input-scale)"
            )
        frontier.update(n.outputs)
    raise HwgenError("the model has no quantizer after its input")


def quantize_input(
    graph: Graph, input_dtype: DataType | None = None, input_scale: float | None = None
) -> bool:
    """Insert the ``ToCodes`` / ``FromCodes`` pair where the integer part of the graph starts.

    Without ``input_dtype`` the host evaluates everything up to and including the first quantizer and sends
    its integer values. With ``input_dtype``/``input_scale`` the host sends ``rint(x / input_scale)`` as
    ``input_dtype`` values and the first quantizer becomes an on-chip thresholding layer.
    """
    if any(n.op == "ToCodes" for n in graph.nodes):
        return False
    if input_dtype is not None:
        if input_scale is None or not input_scale > 0:
            raise HwgenError("--input-scale must be a positive number when --input-dtype is given")
        x = graph.inputs[0]
        to, back = layout_nchw_to_nhwc(len(graph.shapes[x]))
        codes, fl = graph.fresh("input_codes"), graph.fresh("input_dequant")
        graph.rename_tensor(x, fl)
        # The host sends k = rint(x / scale). On chip the float value is rebuilt the way a user computes it:
        # float32(k) / float32(1/scale) when 1/scale is an integer (``pixels / 255``, correctly rounded),
        # else float32(k) * float32(scale). The host refuses inputs that are not exactly that value, so the
        # graph after it sees the user's floats bit for bit.
        inv = round(1.0 / float(input_scale))
        by_div = inv >= 1 and float(np.float32(inv)) == inv and abs(inv * float(input_scale) - 1.0) < 1e-9
        op, c = ("Div", np.float32(inv)) if by_div else ("Mul", np.float32(input_scale))
        act = {"op": "Grid", "consts": [np.float64(input_scale), op, c], "attrs": {}}
        tc = Node(
            "ToCodes",
            [x],
            [codes],
            {"act": act, "a_mul": 1, "a_add": 0, "dtype": input_dtype, "perm": to},
            "input_codes",
        )
        ints = graph.fresh("input_ints")
        fc = from_codes_node(graph, codes, ints, np.float32(1), 0.0, "input_ints", perm=back)
        scale = Node(op, [ints, graph.add_const("input_grid", c)], [fl], {}, "input_dequant")
        graph.nodes[:0] = [tc, fc, scale]
        graph.dtypes[codes] = input_dtype
        graph.shapes[codes] = _permuted(graph.shapes[x], to)
        graph.shapes[ints] = graph.shapes[x]
        graph.shapes[fl] = graph.shapes[x]
        graph.meta["input_scale"] = float(input_scale)
        return True
    node = _first_activation(graph)
    spec = activation_spec(graph, node)
    to, back = layout_nchw_to_nhwc(len(graph.shapes[node.inputs[0]]))
    codes = graph.fresh(node.outputs[0] + "_codes")
    tc = Node(
        "ToCodes",
        [node.inputs[0]],
        [codes],
        {
            "act": spec["act"],
            "a_mul": spec["a_mul"],
            "a_add": spec["a_add"],
            "dtype": spec["dtype"],
            "perm": to,
        },
        node.name + "_codes",
    )
    fc = from_codes_node(
        graph, codes, node.outputs[0], spec["mul"], spec["add"], node.name + "_dequant", perm=back
    )
    graph.dtypes[codes] = spec["dtype"]
    graph.shapes[codes] = _permuted(graph.shapes[node.inputs[0]], to)
    graph.replace([node], [tc, fc])
    return True
