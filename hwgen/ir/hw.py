"""A plain description of the accelerator in a streamlined graph (what a hardware generator reads).

``describe(graph)`` returns JSON-serialisable data: the input stream (datatype, NHWC shape without batch),
the layers in stream order with every attribute (weights and thresholds as nested int lists), and the
output stream. Semantics of each kind: :mod:`hwgen.golden.ops`; attributes: :mod:`hwgen.passes`.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph

__all__ = ["describe"]


def _plain(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    return v


def describe(graph: Graph) -> dict:
    """Input stream, layers (kind, name, attributes) and output stream of a streamlined graph."""
    to_codes = next(n for n in graph.nodes if n.op == "ToCodes")
    layers = [
        {"kind": n.op, "name": n.name, **{k: _plain(v) for k, v in n.attrs.items()}} for n in graph.hw_nodes()
    ]
    last = graph.hw_nodes()[-1]
    out = last.outputs[0]
    return {
        "input": {
            "dtype": str(to_codes.attrs["dtype"]),
            "shape": list(graph.shapes[to_codes.outputs[0]][1:]),
        },
        "layers": layers,
        "output": {
            "dtype": str(graph.dtypes.get(out, last.attrs.get("out_dtype"))),
            "shape": list(graph.shapes[out][1:]),
        },
    }
