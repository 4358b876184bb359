"""Residual adds and channel concatenations of integer streams -> ``AddStreams`` / ``ConcatStreams``.

Pattern: ``FromCodes(a), FromCodes(b) -> Add`` (two data inputs of one shape, no broadcasting) or
``-> Concat`` along the channel axis. Each ``FromCodes`` must be a pure power-of-two scale ``s_i`` (no
offset: the offsets are moved into the producers first by :mod:`.normalize_codes`); with ``s = min s_i``
the float result is ``s · Σ (s_i / s) · v_i`` (side by side for Concat), exactly, as long as every sum
stays below 2**24 (float32's integer range): the hardware adds (or places) the integer values
``(s_i / s) · v_i`` and one ``FromCodes`` with scale ``s`` follows, which the next quantizer folds into
thresholds as usual.

Non-power-of-two scales (a float-scale model, ``exact_mul``) are refused with one line naming the node: the
executor's float32 sum of two separately rounded products is not a function of one integer there.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import BIPOLAR, smallest_type_for
from ..ir.graph import Graph, Node
from ._codes import from_codes_node

__all__ = ["lower_join"]

#: Largest magnitude of an exact float32 integer.
F32_EXACT = 1 << 24


def _pow2(x: float) -> bool:
    return x > 0 and math.frexp(x)[0] == 0.5


def _operands(graph: Graph, node: Node):
    """The ``FromCodes`` feeding each data input, or None when one is not (yet) a FromCodes."""
    data = [t for t in node.inputs if t]
    if any(t in graph.consts for t in data) or len(data) < 2:
        return None
    fs = [graph.producer(t) for t in data]
    if any(f is None or f.op != "FromCodes" for f in fs):
        return None
    return fs


def _refuse(node: Node, why: str):
    raise HwgenError(f"node {node.name!r} ({node.op}): {why}")


def lower_join(graph: Graph) -> bool:
    for node in graph.nodes:
        if node.op not in ("Add", "Concat"):
            continue
        fs = _operands(graph, node)
        if fs is None:
            continue
        if any(np.any(np.asarray(f.attrs.get("add", 0.0)) != 0) for f in fs):
            continue  # offsets not moved into the producers (yet): stays unmapped if it never happens
        if any("exact_mul" in f.attrs for f in fs):
            _refuse(node, "operands with non-power-of-two scales cannot be added or concatenated exactly")
        if any(f.attrs.get("shape") for f in fs):
            _refuse(node, "operands after a flatten are not supported")
        perms = {tuple(f.attrs.get("perm") or ()) for f in fs}
        if len(perms) != 1:
            _refuse(node, "operands in different layouts")
        muls = [np.asarray(f.attrs["mul"], np.float64) for f in fs]
        if any(m.size != 1 or not _pow2(float(m.reshape(-1)[0])) for m in muls):
            _refuse(node, "operand scales must be single powers of two")
        muls = [float(m.reshape(-1)[0]) for m in muls]
        s = min(muls)
        ks = tuple(int(m / s) for m in muls)
        codes = [f.inputs[0] for f in fs]
        shapes = [graph.shapes[t] for t in codes]
        dts = tuple(graph.dtypes[t] for t in codes)
        perm = next(iter(perms)) or None
        if node.op == "Add":
            if len(set(shapes)) != 1:
                _refuse(node, f"operand shapes {shapes} differ (broadcasting is not supported)")
            lo = sum(k * dt.min for k, dt in zip(ks, dts, strict=True))
            hi = sum(k * dt.max for k, dt in zip(ks, dts, strict=True))
            out_shape = shapes[0]
        else:
            rank = len(graph.shapes[node.outputs[0]])
            axis = node.attrs.get("axis", 0) % rank
            if (perm[axis] if perm else axis) != len(shapes[0]) - 1:
                _refuse(node, "only a concatenation along the channel axis is supported")
            if len({sh[:-1] for sh in shapes}) != 1:
                _refuse(node, f"operand shapes {shapes} differ in more than the channels")
            lo = min(k * dt.min for k, dt in zip(ks, dts, strict=True))
            hi = max(k * dt.max for k, dt in zip(ks, dts, strict=True))
            out_shape = (*shapes[0][:-1], sum(sh[-1] for sh in shapes))
        if max(-lo, hi) >= F32_EXACT:
            _refuse(node, f"integer range {lo}..{hi} exceeds float32's exact integers")
        odt = dts[0] if set(dts) == {BIPOLAR} and node.op == "Concat" and set(ks) == {1} else None
        odt = odt or smallest_type_for(lo, hi)
        out = graph.fresh(node.outputs[0] + "_codes")
        attrs = {"in_dtypes": dts, "muls": ks, "out_dtype": odt}
        if node.op == "Add":
            new = Node("AddStreams", codes, [out], attrs | {"channels": shapes[0][-1]}, node.name)
        else:
            new = Node(
                "ConcatStreams",
                codes,
                [out],
                attrs | {"in_channels": tuple(sh[-1] for sh in shapes)},
                node.name,
            )
        graph.dtypes[out] = odt
        graph.shapes[out] = out_shape
        fc = from_codes_node(
            graph, out, node.outputs[0], np.float32(s), np.float32(0), node.name + "_deq", perm=perm
        )
        remove = [node] + [f for f in fs if graph.single_consumer(f.outputs[0]) is node]
        graph.replace(remove, [new, fc])
        return True
    return False
