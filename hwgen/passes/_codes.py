"""Helpers shared by the passes: the integer-value view of quantizers and of ``FromCodes`` bridges."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.fast import from_codes
from ..golden.float_ops import quant_limits, trunc_factor
from ..ir.datatypes import BIPOLAR, DataType, smallest_type_for
from ..ir.graph import Graph, Node

ACTIVATIONS = ("Quant", "BipolarQuant", "MultiThreshold", "Trunc")
MAX_ACT_BITS = 16


def scalar(graph: Graph, name: str, what: str, node: Node) -> float:
    """A constant input that must be a single number."""
    if name not in graph.consts:
        raise HwgenError(f"node {node.name!r} ({node.op}): {what} must be a constant")
    v = np.asarray(graph.consts[name])
    if v.size != 1:
        raise HwgenError(
            f"node {node.name!r} ({node.op}): per-channel {what} on activations cannot be mapped to "
            "hardware (only a single scale per tensor)"
        )
    return float(v.reshape(-1)[0])


def activation_spec(graph: Graph, node: Node) -> dict:
    """How an activation's output is expressed as integer values.

    Returns ``act`` (what ``ToCodes`` evaluates), ``a_mul``/``a_add`` (value = a_mul*raw + a_add), the values'
    ``dtype``, and ``mul``/``add`` such that the activation's float output == float32(value*mul) + add.
    """
    c = [graph.consts.get(t) for t in node.inputs[1:]]
    a = dict(node.attrs)
    if node.op == "BipolarQuant":
        s = scalar(graph, node.inputs[1], "scale", node)
        return {
            "act": {"op": "BipolarQuant", "consts": [np.float32(s)], "attrs": {}},
            "a_mul": 1,
            "a_add": 0,
            "dtype": BIPOLAR,
            "mul": np.float32(s),
            "add": np.float32(0),
            "vmin": -1,
            "vmax": 1,
        }
    if node.op == "Quant":
        s = scalar(graph, node.inputs[1], "scale", node)
        zp = scalar(graph, node.inputs[2], "zero point", node)
        bits = scalar(graph, node.inputs[3], "bit width", node)
        if bits != int(bits) or not 1 <= bits <= MAX_ACT_BITS or zp != int(zp) or s <= 0:
            raise HwgenError(
                f"node {node.name!r} (Quant): bit width {bits:g}, zero point {zp:g}, scale {s:g} "
                f"cannot be mapped to hardware (need integer bits 1..{MAX_ACT_BITS}, integer zero "
                "point, positive scale)"
            )
        if bits == 1 and a.get("signed", 1):
            dt, lo, hi = BIPOLAR, -1, 1
        else:
            lo, hi = quant_limits(bits, a.get("signed", 1), a.get("narrow", 0))
            lo, hi = lo - int(zp), hi - int(zp)
            dt = smallest_type_for(lo, hi)
        consts = [np.float32(s), np.float32(zp), np.float32(bits)]
        return {
            "act": {"op": "Quant", "consts": consts, "attrs": a},
            "a_mul": 1,
            "a_add": 0,
            "dtype": dt,
            "mul": np.float32(s),
            "add": np.float32(0),
            "vmin": lo,
            "vmax": hi,
        }
    if node.op == "Trunc":
        if len(node.inputs) != 6:
            raise HwgenError(f"node {node.name!r} (Trunc): only version 2 (six inputs) is supported")
        s = scalar(graph, node.inputs[1], "scale", node)
        zp = scalar(graph, node.inputs[2], "zero point", node)
        os_ = scalar(graph, node.inputs[4], "output scale", node)
        bits = scalar(graph, node.inputs[5], "output bit width", node)
        t = float(trunc_factor(s, os_))
        if bits != int(bits) or not 1 <= bits <= MAX_ACT_BITS or zp / t != int(zp / t) or s <= 0 or os_ <= 0:
            raise HwgenError(
                f"node {node.name!r} (Trunc): output bit width {bits:g}, zero point {zp:g}, scales {s:g} / "
                f"{os_:g} cannot be mapped to hardware (need integer bits 1..{MAX_ACT_BITS}, an integer zero "
                "point after truncation, positive scales)"
            )
        lo, hi = quant_limits(bits, a.get("signed", 1), a.get("narrow", 0))
        lo, hi = lo - int(zp / t), hi - int(zp / t)
        consts = [np.float32(s), np.float32(zp), np.float32(os_), np.float32(bits)]
        return {
            "act": {"op": "Trunc", "consts": consts, "attrs": a},
            "a_mul": 1,
            "a_add": 0,
            "dtype": smallest_type_for(lo, hi),
            "mul": np.float32(os_),
            "add": np.float32(0),
            "vmin": lo,
            "vmax": hi,
        }
    if node.op == "MultiThreshold":
        thr = c[0]
        if thr is None:
            raise HwgenError(f"node {node.name!r} (MultiThreshold): thresholds must be constant")
        if np.ndim(thr) != 2:
            raise HwgenError(
                f"node {node.name!r} (MultiThreshold): thresholds must be 2-D (channels, T), not shape "
                f"{np.shape(thr)}"
            )
        t = thr.shape[-1]
        osc, obi = np.float32(a.get("out_scale", 1.0)), np.float32(a.get("out_bias", 0.0))
        act = {"op": "MultiThreshold", "consts": [thr], "attrs": a}
        if t == 1 and osc == 2 and obi == -1:
            return {
                "act": act,
                "a_mul": 2,
                "a_add": -1,
                "dtype": BIPOLAR,
                "mul": np.float32(1),
                "add": np.float32(0),
                "vmin": -1,
                "vmax": 1,
            }
        dt = smallest_type_for(0, t)
        return {"act": act, "a_mul": 1, "a_add": 0, "dtype": dt, "mul": osc, "add": obi, "vmin": 0, "vmax": t}
    raise HwgenError(f"node {node.name!r}: {node.op} is not a quantizer")


def from_codes_node(
    graph: Graph, codes: str, out: str, mul, add, name: str, perm=None, shape=None, exact_mul=None
) -> Node:
    attrs = {"mul": np.asarray(mul, np.float32), "add": np.asarray(add, np.float32)}
    if exact_mul is not None:
        attrs["exact_mul"] = np.asarray(exact_mul, np.float64)
    if perm is not None:
        attrs["perm"] = list(perm)
    if shape is not None:
        attrs["shape"] = list(shape)
    return Node("FromCodes", [codes], [out], attrs, name)


def dequantize(attrs: dict, v: np.ndarray) -> np.ndarray:
    """FromCodes applied to values ``v`` (no layout change)."""
    return from_codes([v], {"mul": attrs["mul"], "add": attrs.get("add", 0.0)})


def dtype_values(dt: DataType, limit: int = 1 << 16) -> np.ndarray | None:
    """All values of ``dt`` if there are at most ``limit``."""
    if dt is None:
        return None
    if dt.kind not in ("bipolar", "binary") and dt.bits > 16:
        return None
    v = dt.values()
    return v if v.size <= limit else None


def producer_of_codes(graph: Graph, codes: str) -> Node | None:
    return graph.producer(codes)


def layout_nchw_to_nhwc(ndim: int):
    """(perm to NHWC, perm back to NCHW) for a tensor of ``ndim`` dims (None for 2-D)."""
    if ndim < 3:
        return None, None
    to = [0, *range(2, ndim), 1]
    back = [0, ndim - 1, *range(1, ndim - 1)]
    return to, back
