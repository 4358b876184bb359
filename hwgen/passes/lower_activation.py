"""Batch-norm, scales and a quantizer after integer values -> integer thresholds (checked exhaustively).

Pattern: ``FromCodes -> [BatchNormalization | Mul | Div | Add | Sub by constants | Relu]* -> Quant |
BipolarQuant | MultiThreshold``. Per channel this is a step function of an integer with a finite range.
Thresholds are derived from the float parameters (:mod:`.analytic_thresholds`), then CHECKED against the
float32 sub-graph, evaluated exactly as the reference does, on every reachable integer (exact per-channel
min/max from the weights and the input type). Where real arithmetic and float32 rounding disagree at a
boundary, the float32 result is the truth: that threshold is re-derived from the evaluation (counted in
``thresholds_repaired``) and checked again; a failing check raises. When the integers come from a matrix
layer without thresholds, the thresholds go into that layer (antitone channels, e.g. negative batch-norm
gamma, negate their weight row; the weight type is widened if needed; a depthwise layer likewise);
otherwise a standalone
``Thresholding`` layer is created.

After a matrix layer with a float (non-power-of-two) scale (its ``FromCodes`` carries ``exact_mul``) the
truth is instead the exact-arithmetic chain of :mod:`hwgen.golden.exact` (rational scales, batch-norm and
quantizer, evaluated in float64 and decided with fractions wherever float64 is within its error bound of a
boundary), on every reachable integer; the analytic thresholds are checked (and repaired) against that table.
"""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.exact import levels, program
from ..golden.execute import run_node
from ..golden.fast import activation_raw, from_codes
from ..ir.datatypes import BIPOLAR, INT, DataType
from ..ir.graph import Graph, Node
from ._codes import ACTIVATIONS, activation_spec, from_codes_node
from .analytic_thresholds import affine_chain, analytic_thresholds, level_boundaries
from .thresholds import ThresholdCheckError, check_thresholds, derive_thresholds

__all__ = ["lower_activation"]

_AFFINE = ("BatchNormalization", "Mul", "Div", "Add", "Sub")
MAX_TABLE = 60_000_000


def _chain(graph: Graph, act: Node):
    """The FromCodes and the affine nodes between it and ``act``, or None."""
    chain, t = [], act.inputs[0]
    while True:
        p = graph.producer(t)
        if p is None or graph.single_consumer(t) is not (chain[0] if chain else act):
            return None
        if p.op == "FromCodes":
            return p, chain
        data = [i for i in p.inputs if i and i not in graph.consts]
        if p.op not in (*_AFFINE, "Relu") or len(data) != 1:
            return None
        chain.insert(0, p)
        t = data[0]


def _synthetic(graph: Graph, f: Node, act: Node, v: np.ndarray, c: int, chain: list[Node]):
    """FromCodes applied to a tensor holding integer ``v[r]`` in row r, every channel: (float tensor, back)
    where ``back`` turns a tensor of that layout into (R, C) in codes order."""
    shape = graph.shapes[f.inputs[0]]
    scalar = bool(f.attrs.get("shape")) or all(
        graph.consts[i].size == 1 for n in chain for i in n.inputs if i in graph.consts
    )
    if scalar and act.op == "MultiThreshold" and graph.consts[act.inputs[1]].shape[0] != 1:
        scalar = False
    if scalar:
        y = from_codes([v[:, None]], {"mul": f.attrs["mul"], "add": f.attrs.get("add", 0.0)})
        if np.size(f.attrs["mul"]) != 1 or np.size(f.attrs.get("add", 0.0)) != 1:
            y = np.broadcast_to(y, (v.size, c))
    else:
        if f.attrs.get("shape"):
            raise HwgenError(f"node {act.name!r}: per-channel parameters after a flatten are not supported")
        z = np.broadcast_to(v.reshape(-1, *([1] * (len(shape) - 1))), (v.size, *([1] * (len(shape) - 2)), c))
        y = from_codes([z], f.attrs)

    def back(t):
        if not scalar and f.attrs.get("perm"):
            t = np.transpose(t, np.argsort(f.attrs["perm"]))
        return np.broadcast_to(np.reshape(t, (t.shape[0], -1)), (t.shape[0], c))

    return y, back


def _evaluate(graph: Graph, f: Node, chain: list[Node], act: Node, spec: dict, v: np.ndarray, c: int):
    """Values of the activation (float32, as the reference) for integer ``v`` (R,): (R, C) in codes order."""
    y, back = _synthetic(graph, f, act, v, c, chain)
    for n in chain:
        y = run_node(n, [y if i not in graph.consts else graph.consts[i] for i in n.inputs])
    return back(activation_raw(spec["act"], y) * spec["a_mul"] + spec["a_add"])


def _evaluate_exact(graph: Graph, f: Node, chain: list[Node], act: Node, spec: dict, v: np.ndarray, c: int):
    """Exact levels (:mod:`hwgen.golden.exact`) for integer ``v`` (R,): (R, C) in codes order."""
    flat = bool(f.attrs.get("shape"))
    per_channel = [graph.consts[i].size > 1 for n in (*chain, act) for i in n.inputs if i in graph.consts]
    if flat and any(per_channel):
        raise HwgenError(f"node {act.name!r}: per-channel parameters after a flatten are not supported")
    prog = program(graph.consts, chain, act, c, len(graph.shapes[f.outputs[0]]))
    out = np.empty((v.size, c), np.int64)
    step = max(1, (1 << 20) // c)
    for s in range(0, v.size, step):
        blk = v[s : s + step, None]
        blk = np.broadcast_to(blk, (blk.shape[0], c))
        out[s : s + blk.shape[0]] = levels(blk, f.attrs["exact_mul"], prog)[0]
    return out * spec["a_mul"] + spec["a_add"]


def _analytic(graph: Graph, f: Node, chain: list[Node], act: Node, spec: dict, c: int, neg, lo, hi):
    """Thresholds from the float parameters (real arithmetic), or None for chains it does not cover."""
    bounds = level_boundaries(graph, act, spec, c)
    if bounds is None:
        return None
    if any(n.op == "Relu" for n in chain):  # a Relu just before the quantizer matters only below 0
        if any(n.op == "Relu" for n in chain[:-1]) or not all(np.all(b > 0) for b, _ in bounds):
            return None
        chain = chain[:-1]
    ys, back = _synthetic(graph, f, act, np.array([0, 1]), c, chain)
    ys = np.asarray(ys, np.float64)
    beta, alpha = (back(t)[0] for t in affine_chain(graph, chain, ys[:1], ys[1:]))
    alpha, beta = np.asarray(alpha, np.float64), np.asarray(beta, np.float64)
    alpha = np.where(neg, -alpha, alpha)  # negated rows see -v
    return analytic_thresholds(alpha, beta, bounds, lo, hi)


def _widen(dt: DataType) -> DataType:
    """The narrowest type that holds the negated values of ``dt``."""
    if dt == BIPOLAR:
        return dt
    if dt.kind in ("uint", "int"):
        return INT(dt.bits + 1)
    raise HwgenError(f"cannot negate weights of type {dt}")


def _counts(q: np.ndarray, spec: dict) -> tuple[np.ndarray, int, int]:
    """Level index of each value, number of thresholds, out_offset."""
    if spec["dtype"] == BIPOLAR:
        return (q + 1) // 2, 1, 0
    return q - spec["vmin"], spec["vmax"] - spec["vmin"], spec["vmin"]


def lower_activation(graph: Graph) -> bool:
    for act in graph.nodes:
        if act.op not in ACTIVATIONS:
            continue
        found = _chain(graph, act)
        if found is None:
            continue
        f, chain = found
        spec = activation_spec(graph, act)
        codes = f.inputs[0]
        p = graph.producer(codes)
        c = graph.shapes[codes][-1]
        absorb = (
            p is not None
            and p.op in ("MVTU", "DepthwiseConv")
            and p.attrs.get("thresholds") is None
            and graph.single_consumer(codes) is f
            and graph.single_consumer(f.outputs[0]) is not None
        )
        if absorb:
            lo, hi = np.asarray(p.attrs["acc_min"]), np.asarray(p.attrs["acc_max"])
        else:
            dt_in = graph.dtypes[codes]
            lo, hi = np.full(c, dt_in.min, np.int64), np.full(c, dt_in.max, np.int64)
        r = int(max(hi.max(), -lo.min()))
        base = -r
        if (r - base + 1) * c > MAX_TABLE:
            raise HwgenError(
                f"node {act.name!r}: integer range {base}..{r} too large to check thresholds exhaustively"
            )
        v = np.arange(base, r + 1, dtype=np.int64)
        if "exact_mul" in f.attrs:
            q = _evaluate_exact(graph, f, chain, act, spec, v, c)
        else:
            q = _evaluate(graph, f, chain, act, spec, v, c)
        cnt, levels, offset = _counts(q, spec)
        reach = (v[:, None] >= lo) & (v[:, None] <= hi)
        d = np.where(reach[1:] & reach[:-1], np.diff(cnt, axis=0), 0)
        up, down = np.any(d > 0, axis=0), np.any(d < 0, axis=0)
        if np.any(up & down):
            ch = int(np.argmax(up & down))
            raise HwgenError(f"node {act.name!r}: output is not monotone in the integer input (channel {ch})")
        neg = down
        if np.any(neg) and not absorb:
            raise HwgenError(f"node {act.name!r}: decreasing channels need a matrix layer in front to negate")
        if np.any(neg):  # x -> -x: level at -v is cnt at v; mirror the table around 0
            cnt = np.where(neg[None, :], cnt[::-1], cnt)  # v runs over -r..r, so row i of -v is row R-1-i
            lo, hi = np.where(neg, -hi, lo), np.where(neg, -lo, hi)
            w = p.attrs["weights"].copy()
            w[neg] = -w[neg]
            wdt = graph_dt = p.attrs["w_dtype"]
            if not _fits(w, graph_dt):
                wdt = _widen(graph_dt)
            p.attrs.update(weights=w, w_dtype=wdt, acc_min=lo, acc_max=hi, negated=np.flatnonzero(neg))
        thr = _analytic(graph, f, chain, act, spec, c, neg, lo, hi)
        repaired = 0
        try:
            if thr is None:
                raise ThresholdCheckError("no analytic form")
            check_thresholds(cnt, lo, hi, base, thr, where=f"node {act.name!r}")
        except ThresholdCheckError:
            # real arithmetic and float32 disagree within rounding at a boundary (or the chain has no
            # analytic form): take the first reachable integer that reaches each level in float32
            exact = derive_thresholds(cnt, lo, hi, base, levels)
            repaired = -1 if thr is None else int(np.count_nonzero(exact != thr))
            thr = exact
            check_thresholds(cnt, lo, hi, base, thr, where=f"node {act.name!r}")
        out = graph.fresh(act.outputs[0] + "_codes")
        graph.dtypes[out] = spec["dtype"]
        graph.shapes[out] = graph.shapes[codes]
        if absorb:
            p.attrs.update(
                thresholds=thr, out_offset=offset, out_dtype=spec["dtype"], thresholds_repaired=repaired
            )
            p.outputs = [out]
            node = p
            remove = [f, *chain, act]
        else:
            if np.all(thr == thr[:1]):
                thr = thr[:1]
            node = Node(
                "Thresholding",
                [codes],
                [out],
                {
                    "thresholds": thr,
                    "out_offset": offset,
                    "in_dtype": graph.dtypes[codes],
                    "thresholds_repaired": repaired,
                    "out_dtype": spec["dtype"],
                },
                act.name,
            )
            remove = [f, *chain, act]
        fc = from_codes_node(
            graph,
            out,
            act.outputs[0],
            spec["mul"],
            spec["add"],
            act.name + "_deq",
            perm=f.attrs.get("perm"),
            shape=f.attrs.get("shape"),
        )
        new = [fc] if absorb else [node, fc]
        graph.replace(remove, new)
        return True
    return False


def _fits(w: np.ndarray, dt: DataType) -> bool:
    return dt.allowed(w)
