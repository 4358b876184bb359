"""Decide what the accelerator takes as input: the first quantizer's values, or declared raw integers."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import DataType
from ..ir.graph import Graph, Node
from ._codes import ACTIVATIONS, activation_spec, from_codes_node, layout_nchw_to_nhwc

__all__ = ["quantize_input"]

_HOST_OPS = ("Mul", "Add", "Sub", "Div", "Reshape", "Flatten", "Transpose", "Identity")


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
        act = {"op": "Grid", "consts": [np.float64(input_scale)], "attrs": {}}
        tc = Node(
            "ToCodes",
            [x],
            [codes],
            {"act": act, "a_mul": 1, "a_add": 0, "dtype": input_dtype.name, "perm": to},
            "input_codes",
        )
        fc = from_codes_node(graph, codes, fl, np.float32(input_scale), 0.0, "input_dequant", perm=back)
        graph.nodes[:0] = [tc, fc]
        graph.dtypes[codes] = input_dtype
        graph.shapes[codes] = _permuted(graph.shapes[x], to)
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
            "dtype": spec["dtype"].name,
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
