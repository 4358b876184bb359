"""MatMul on integer values -> matrix-vector(-threshold) unit."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.exact import uses_exact
from ..golden.fast import from_codes
from ..ir.datatypes import smallest_type_for
from ..ir.graph import Graph, Node
from ._codes import from_codes_node
from ._weights import acc_range, check_exact_sum, column_scale, weight_codes

__all__ = ["lower_matmul", "make_mvtu"]


def make_mvtu(
    graph: Graph, node: Node, codes: str, w_hw: np.ndarray, w_dt, in_mul, w_scale, out: str, perm=None
):
    """MVTU on ``codes`` with integer weights ``w_hw`` (MH, MW), then FromCodes(acc * in_mul * w_scale).

    With a scale that is not a power of two the FromCodes also carries ``exact_mul`` (float64, exact
    ``in_mul * w_scale`` per channel): what follows is derived in exact arithmetic (:mod:`hwgen.golden.exact`)
    and the layer is listed in ``graph.meta["exact_layers"]``.
    """
    in_dt = graph.dtypes[codes]
    lo, hi = acc_range(w_hw, in_dt)
    check_exact_sum(lo, hi, node)
    acc = graph.fresh(node.name + "_acc")
    acc_dt = smallest_type_for(int(lo.min()), int(hi.max()))
    attrs = {
        "weights": np.ascontiguousarray(w_hw, dtype=np.int64),
        "thresholds": None,
        "out_offset": 0,
        "in_dtype": in_dt,
        "w_dtype": w_dt,
        "out_dtype": acc_dt,
        "acc_min": lo,
        "acc_max": hi,
    }
    mv = Node("MVTU", [codes], [acc], attrs, node.name)
    graph.dtypes[acc] = acc_dt
    graph.shapes[acc] = (*graph.shapes[codes][:-1], w_hw.shape[0])
    return [mv, dequantize_acc(graph, node, acc, out, in_mul, w_scale, w_hw.shape[0], perm)]


def dequantize_acc(graph: Graph, node: Node, acc: str, out: str, in_mul, w_scale, channels: int, perm=None):
    """FromCodes(acc * in_mul * w_scale) of a layer's integer dot products (``exact_mul`` and the
    layer listed in ``graph.meta["exact_layers"]`` when a scale is not a power of two)."""
    mul = (np.float32(in_mul) * np.asarray(w_scale, np.float32)).astype(np.float32)
    if np.all(mul == mul.reshape(-1)[0]):
        mul = np.float32(mul.reshape(-1)[0])
    exact = None
    if uses_exact(in_mul, w_scale):
        exact = np.float64(in_mul) * np.broadcast_to(np.asarray(w_scale, np.float64), (channels,))
        graph.meta["exact_layers"] = [*graph.meta.get("exact_layers", []), node.name]
    return from_codes_node(graph, acc, out, mul, 0.0, node.name + "_dequant", perm=perm, exact_mul=exact)


def _input_codes(graph: Graph, f: Node, node: Node):
    """The FromCodes in front of a matrix layer must be one positive scale (no offset, not exact-mode)."""
    mul = np.asarray(f.attrs["mul"])
    if np.any(np.asarray(f.attrs.get("add", 0.0)) != 0) or mul.size != 1 or "exact_mul" in f.attrs:
        raise HwgenError(f"node {node.name!r} ({node.op}): its input is not a plain scaled integer tensor")
    if not float(mul.reshape(-1)[0]) > 0:
        raise HwgenError(f"node {node.name!r} ({node.op}): input scale {float(mul.reshape(-1)[0]):g} <= 0")
    return f.inputs[0], np.float32(mul.reshape(-1)[0])


def lower_matmul(graph: Graph) -> bool:
    """``FromCodes -> MatMul(W)`` becomes ``MVTU -> FromCodes``; flattened NCHW inputs reorder W's rows."""
    for node in graph.nodes:
        if node.op != "MatMul" or node.inputs[1] not in graph.consts:
            continue
        f = graph.producer(node.inputs[0])
        if f is None or f.op != "FromCodes":
            continue
        codes, in_mul = _input_codes(graph, f, node)
        vals, scale, w_dt = weight_codes(graph, node.inputs[1], node)
        if vals.ndim != 2:
            raise HwgenError(f"node {node.name!r} (MatMul): weights must be 2-D, not {vals.shape}")
        w_scale = column_scale(scale, 1, node)
        w_hw = vals.T
        new = []
        if f.attrs.get("perm") or f.attrs.get("shape"):
            if len(graph.shapes[node.inputs[0]]) != 2:
                raise HwgenError(f"node {node.name!r} (MatMul): cannot map a re-laid-out input of rank > 2")
            cshape = graph.shapes[codes]
            idx = np.arange(int(np.prod(cshape[1:]))).reshape(1, *cshape[1:])
            f2c = np.asarray(from_codes([idx], {**f.attrs, "mul": np.float32(1), "add": np.float32(0)}))
            f2c = f2c.reshape(-1).astype(np.int64)
            w_hw = np.empty_like(vals.T)
            w_hw[:, f2c] = vals.T
            flat = graph.fresh(codes + "_flat")
            new.append(Node("Flatten", [codes], [flat], {"axis": 1}, node.name + "_flatten"))
            graph.dtypes[flat] = graph.dtypes[codes]
            graph.shapes[flat] = (1, int(np.prod(cshape[1:])))
            codes = flat
        new += make_mvtu(graph, node, codes, w_hw, w_dt, in_mul, w_scale, node.outputs[0])
        remove = [node] if graph.single_consumer(f.outputs[0]) is not node else [node, f]
        graph.replace(remove, new)
        return True
    return False
