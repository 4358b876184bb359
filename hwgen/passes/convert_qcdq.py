"""QCDQ (``QuantizeLinear -> [Clip] -> DequantizeLinear``, Brevitas' ``export_onnx_qcdq``) -> QONNX ``Quant``.

With ``q = clip(round(x / s) + zp)`` onnxruntime clamps ``x / s`` to the integer type's range shifted by the
zero point before rounding, so ``DequantizeLinear(Clip(q)) = clamp(round(x / s), lo - zp, hi - zp) * s``
where ``[lo, hi]`` is the type's range narrowed by the Clip. That is a QONNX ``Quant`` with zero point 0,
scale ``s`` and the integer range ``[lo - zp, hi - zp]``, exactly (same float32 division, clamp and
half-to-even rounding), whenever that range is the range of some bit width, signed or not, narrow or not.
Per-axis scales become a ``Quant`` scale shaped to broadcast along the axis. A constant integer tensor
read by ``[Clip ->] DequantizeLinear`` (weights exported as integers) becomes the constant it computes, with
its integer values recorded in ``graph.quant`` as a folded ``Quant`` would be.

A chain that does not fit (different scales or zero points on Q and DQ, a range no bit width has, a
QuantizeLinear read by anything but the chain) is refused with one line naming the node.
"""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.execute import run_node
from ..golden.float_ops import quant_limits
from ..golden.qdq import QUANT_TYPES, clip_bounds, per_axis
from ..ir.datatypes import smallest_type_for
from ..ir.graph import Graph, Node

__all__ = ["convert_qcdq", "quant_params_for_range"]

F32 = np.float32


def quant_params_for_range(lo: int, hi: int) -> tuple[int, int, int] | None:
    """``(bits, signed, narrow)`` of the QONNX ``Quant`` whose integer range is ``[lo, hi]``, or None.

    Signed 1-bit is excluded (qonnx reads it as bipolar, -1/+1)."""
    for bits in range(1, 33):
        for signed in (0, 1):
            for narrow in (0, 1):
                if bits == 1 and signed:
                    continue
                if quant_limits(bits, signed, narrow) == (lo, hi) and (lo < hi):
                    return bits, signed, narrow
    return None


def _const(graph: Graph, name: str, node: Node, what: str) -> np.ndarray | None:
    if not name:
        return None
    if name not in graph.consts:
        raise HwgenError(f"node {node.name!r} ({node.op}): {what} must be a constant")
    return np.asarray(graph.consts[name])


def _chain(graph: Graph, dq: Node):
    """``(q, clip, source)`` feeding ``dq``: q is the QuantizeLinear or None (integer constant source)."""
    t, clip = dq.inputs[0], None
    p = graph.producer(t)
    if p is not None and p.op == "Clip" and graph.single_consumer(t) is dq:
        clip, t = p, p.inputs[0]
        p = graph.producer(t)
    if p is not None and p.op == "QuantizeLinear":
        if graph.single_consumer(t) is not (clip or dq):
            raise HwgenError(
                f"node {p.name!r} (QuantizeLinear): its integers are read by more than the Clip/"
                "DequantizeLinear after it; hwgen maps QuantizeLinear -> [Clip] -> DequantizeLinear chains"
            )
        return p, clip, p.inputs[0]
    if t in graph.consts:
        return None, clip, t
    return None


def _range(graph: Graph, dq: Node, q: Node | None, clip: Node | None, src: str) -> tuple[int, int]:
    """Integer range of the Clip's output: the integer type's range (QuantizeLinear: its zero point's type,
    uint8 without one; else the constant's type) narrowed by the Clip."""
    if q is None:
        dtype = np.asarray(graph.consts[src]).dtype
    elif len(q.inputs) > 2 and q.inputs[2]:
        dtype = np.asarray(graph.consts[q.inputs[2]]).dtype
    else:
        dtype = np.dtype(np.uint8)
    lo, hi = QUANT_TYPES.get(dtype, (np.iinfo(dtype).min, np.iinfo(dtype).max))
    if clip is not None:
        ins = [None, *(_const(graph, t, clip, "the Clip bound") for t in clip.inputs[1:3])]
        c_lo, c_hi = clip_bounds(ins, clip.attrs, dtype)
        lo, hi = max(lo, int(c_lo)), min(hi, int(c_hi))
    return lo, hi


def _same(a, b) -> bool:
    return (
        a is None
        and b is None
        or (a is not None and b is not None and np.array_equal(np.ravel(a), np.ravel(b), equal_nan=False))
    )


def _convert(graph: Graph, dq: Node, q: Node | None, clip: Node | None, src: str) -> list[Node]:
    scale = _const(graph, dq.inputs[1], dq, "the scale").astype(F32)
    zp = _const(graph, dq.inputs[2] if len(dq.inputs) > 2 else "", dq, "the zero point")
    zp = np.zeros((), np.int64) if zp is None else zp.astype(np.int64)
    axis = int(dq.attrs.get("axis", 1))
    if q is not None:
        q_scale = _const(graph, q.inputs[1], q, "the scale").astype(F32)
        q_zp = _const(graph, q.inputs[2] if len(q.inputs) > 2 else "", q, "the zero point")
        q_zp = np.zeros((), np.int64) if q_zp is None else q_zp.astype(np.int64)
        per_ch = scale.size > 1 or zp.size > 1
        if not (_same(scale, q_scale) and _same(zp, q_zp)) or per_ch and int(q.attrs.get("axis", 1)) != axis:
            raise HwgenError(
                f"node {q.name!r} (QuantizeLinear): scale, zero point and axis differ from those of "
                f"DequantizeLinear {dq.name!r}; hwgen maps only matching QuantizeLinear/DequantizeLinear "
                "pairs"
            )
    lo, hi = _range(graph, dq, q, clip, src)
    if lo >= hi:
        raise HwgenError(
            f"node {(clip or dq).name!r} ({(clip or dq).op}): empty or one-value range [{lo}, {hi}]"
        )
    ndim = len(graph.shapes.get(src, np.shape(graph.consts.get(src, ()))))
    if q is None:  # integer constant: compute it, keep its integer values
        v = graph.consts[src]
        if clip is not None:
            v = run_node(clip, [v, *(graph.consts[t] if t else None for t in clip.inputs[1:])])
        out = run_node(dq, [v, *(graph.consts[t] if t else None for t in dq.inputs[1:])])
        vals = np.asarray(v, np.int64) - per_axis(zp, np.ndim(v), axis)
        zmin, zmax = int(np.min(zp)), int(np.max(zp))
        graph.consts[dq.outputs[0]] = out
        graph.quant[dq.outputs[0]] = {
            "values": vals,
            "scale": np.broadcast_to(per_axis(scale, np.ndim(v), axis), vals.shape),
            "dtype": smallest_type_for(lo - zmax, hi - zmin),
        }
        return []
    if zp.size > 1 and not np.all(zp == zp.reshape(-1)[0]):
        raise HwgenError(
            f"node {q.name!r} (QuantizeLinear): zero points that vary by channel are not supported"
        )
    z = int(zp.reshape(-1)[0])
    params = quant_params_for_range(lo - z, hi - z)
    if params is None:
        raise HwgenError(
            f"node {q.name!r} (QuantizeLinear): integer range [{lo - z}, {hi - z}] (after the zero point "
            f"{z}) is not the range of a signed or unsigned bit width; hwgen cannot map it"
        )
    bits, signed, narrow = params
    s = per_axis(scale, ndim, axis) if scale.size > 1 else scale.reshape(())
    base = q.name or dq.name
    ins = [
        src,
        graph.add_const(base + "_scale", s.astype(F32)),
        graph.add_const(base + "_zeropt", F32(0)),
        graph.add_const(base + "_bits", F32(bits)),
    ]
    attrs = {"signed": signed, "narrow": narrow, "rounding_mode": "ROUND"}
    return [Node("Quant", ins, [dq.outputs[0]], attrs, base)]


def convert_qcdq(graph: Graph) -> bool:
    """Turn every QCDQ chain into a ``Quant`` (or a quantized constant), all in one call so that
    ``fold_constants`` never folds a weight chain into a plain float tensor first; True if any changed."""
    changed = True
    count = 0
    while changed:
        changed = False
        for dq in graph.nodes:
            found = _chain(graph, dq) if dq.op == "DequantizeLinear" else None
            if found is None:
                continue
            q, clip, src = found
            new = _convert(graph, dq, q, clip, src)
            graph.replace([n for n in (q, clip, dq) if n is not None], new)
            changed = True
            count += 1
            break
    return count > 0
