"""Max-pool on integer values (an OR of bits for 1-bit data)."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.float_ops import maxpool_unsupported
from ..ir.graph import Graph, Node
from ._codes import from_codes_node

__all__ = ["lower_maxpool"]


def lower_maxpool(graph: Graph) -> bool:
    """``FromCodes -> MaxPool`` becomes ``StreamingMaxPool -> FromCodes`` when the dequantization is
    increasing (then max commutes with it exactly)."""
    for node in graph.nodes:
        if node.op not in ("MaxPool", "MaxPoolNHWC"):
            continue
        f = graph.producer(node.inputs[0])
        if f is None or f.op != "FromCodes" or f.attrs.get("shape"):
            continue
        want = [0, 3, 1, 2] if node.op == "MaxPool" else None
        if (f.attrs.get("perm") or None) != want or not np.all(np.asarray(f.attrs["mul"]) > 0):
            continue
        kh, kw = node.attrs["kernel_shape"]
        sh, sw = node.attrs.get("strides", [1, 1] if node.op == "MaxPool" else [kh, kw])
        if kh != kw or sh != sw or (node.op == "MaxPool" and maxpool_unsupported(node.attrs)):
            raise HwgenError(
                f"node {node.name!r} ({node.op}): only square, unpadded, floor-mode pooling is supported"
            )
        codes = f.inputs[0]
        out = graph.fresh(node.name + "_codes")
        graph.dtypes[out] = graph.dtypes[codes]
        n, h, w, c = graph.shapes[codes]
        graph.shapes[out] = (n, (h - kh) // sh + 1, (w - kw) // sh + 1, c)
        mp = Node(
            "StreamingMaxPool",
            [codes],
            [out],
            {"k": kh, "stride": sh, "dtype": graph.dtypes[codes]},
            node.name,
        )
        fc = from_codes_node(
            graph,
            out,
            node.outputs[0],
            f.attrs["mul"],
            f.attrs.get("add", 0.0),
            node.name + "_deq",
            perm=want,
            exact_mul=f.attrs.get("exact_mul"),
        )
        remove = [node] if graph.single_consumer(f.outputs[0]) is not node else [node, f]
        graph.replace(remove, [mp, fc])
        return True
    return False
