"""Exact-arithmetic golden mode of a float graph, and its comparison with a float32 executor.

``execute_exact(graph, x, reference=None)`` runs a (cleaned) frontend graph op by op like
:func:`hwgen.golden.execute_all`, except that every matrix layer with a float (non-power-of-two) scale
(:func:`hwgen.golden.exact.uses_exact`) is computed on the integer codes: integer accumulators, then the
chain up to the next quantizer in exact arithmetic (:mod:`hwgen.golden.exact`), so every quantized activation
is the exact one. A float-scale layer without a quantizer after it (the last one) gives
``float32(acc * s_in * s_w)`` to the host tail.

With ``reference`` (every tensor of a float32 execution of the same graph on the same inputs: the qonnx
executor's full context, or hwgen's own float32 golden model), each exact layer is recomputed from the
reference's own input codes and compared with the reference's quantized output. A difference is accepted only
where the reference's float32 value at the quantizer input lies within its rounding-error bound of every
level boundary between the two results; the bound is Higham's dot-product bound ``gamma_(n+3) * sum |w x|``
(n the fan-in, inputs and weights rounded too) carried through the chain with one rounding per float32 step
(:func:`hwgen.golden.exact.forward`). Each accepted case is a :class:`Case` (frame, tensor, channel, margin in
float32 ulps of the boundary); any other difference is a failure. The last layer's float values and the graph
output are compared within the same bound carried through the tail, and top-1 must agree unless the
reference's scores tie within it. Quantizers outside exact layers must equal the reference exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import HwgenError
from . import exact as ex
from .execute import run_node

__all__ = ["Case", "ExactRun", "execute_exact"]

_LAYOUT = ("Reshape", "Flatten", "Transpose", "MaxPool", "Identity", "Squeeze", "Unsqueeze")
_ACTS = ("Quant", "BipolarQuant", "MultiThreshold")
_U = 2.0**-24


@dataclass
class Case:
    """One element where the reference differs from the exact model."""

    frame: int
    tensor: str
    channel: int
    exact: int
    reference: int
    margin_ulps: float
    bound_ulps: float
    ok: bool

    def line(self) -> str:
        what = "boundary case" if self.ok else "MISMATCH"
        return (
            f"{what}: frame {self.frame}, tensor {self.tensor!r}, channel {self.channel}: "
            f"exact {self.exact}, reference {self.reference}, "
            f"margin {self.margin_ulps:+.1f} ulps (bound {self.bound_ulps:.1f})"
        )


@dataclass
class ExactRun:
    env: dict
    codes: dict = field(default_factory=dict)
    cases: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    exact_layers: list = field(default_factory=list)


def _scalar(graph, t):
    v = graph.consts.get(t)
    if v is None or np.size(v) != 1:
        raise HwgenError(f"tensor {t!r}: a per-tensor constant scale is needed before a float-scale layer")
    return float(np.asarray(v, np.float32).reshape(-1)[0])


def _input_scale(graph, m) -> float:
    """The step of the quantized values that feed matrix node ``m``."""
    t = m.inputs[0]
    while True:
        p = graph.producer(t)
        if p is not None and p.op in _LAYOUT:
            t = p.inputs[0]
            continue
        if p is not None and p.op in ("Quant", "BipolarQuant"):
            return _scalar(graph, p.inputs[1])
        if p is not None and p.op == "MultiThreshold":
            osc, obi = float(p.attrs.get("out_scale", 1.0)), float(p.attrs.get("out_bias", 0.0))
            if obi == 0 or (osc, obi) == (2.0, -1.0):
                return osc if obi == 0 else 1.0
        raise HwgenError(f"node {m.name!r} ({m.op}): its input is not the output of a quantizer")


def _weights(graph, m):
    """(integer codes, per-output-channel scale) of a matrix node's weights, or None for float weights."""
    q = graph.quant.get(m.inputs[1])
    if q is None:
        return None
    axis = 1 if m.op == "MatMul" else 0
    s = np.moveaxis(np.broadcast_to(np.asarray(q["scale"], np.float32), q["values"].shape), axis, 0)
    s = s.reshape(s.shape[0], -1)
    if not np.all(s == s[:, :1]):
        raise HwgenError(f"node {m.name!r} ({m.op}): weight scale varies inside an output channel")
    return np.asarray(q["values"], np.int64), s[:, 0].astype(np.float64)


def _codes(v, s: float, where: str) -> np.ndarray:
    c = np.rint(np.asarray(v, np.float64) / s)
    if not np.array_equal(
        (c.astype(np.float32) * np.float32(s)).astype(np.float32), np.asarray(v, np.float32)
    ):
        raise HwgenError(f"{where}: input values are not integer multiples of the quantizer scale {s:g}")
    return c


def _products(m, x, w):
    """Exact ``x @ w`` / ``conv(x, w)`` on integer-valued float64 arrays, channels last: (..., M) float64."""
    if m.op == "MatMul":
        return x @ w.astype(np.float64)
    a = m.attrs
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise HwgenError(f"node {m.name!r} (Conv): only group 1, dilation 1 in a float-scale layer")
    t, left, b, r = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))
    kh, kw = w.shape[2:]
    sh, sw = a.get("strides", [1, 1])
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return np.einsum("nchwyx,mcyx->nhwm", win, w.astype(np.float64), optimize=True)


def _unit(graph, m):
    """(chain nodes, quantizer or None) after matrix node ``m``."""
    chain, t = [], m.outputs[0]
    while True:
        users = graph.consumers(t)
        if len(users) != 1 or t in graph.outputs:
            return chain, None
        u = users[0]
        if u.op in _ACTS and u.inputs[0] == t:
            return chain, u
        data = [i for i in u.inputs if i and i not in graph.consts]
        if u.op not in ("BatchNormalization", "Mul", "Div", "Add", "Sub", "Relu") or len(data) != 1:
            return chain, None
        chain.append(u)
        t = u.outputs[0]


def _raw_of(graph, q, v) -> np.ndarray:
    """The raw level a quantizer node's float output ``v`` stands for."""
    a = q.attrs
    v = np.asarray(v, np.float64)
    if q.op == "BipolarQuant":
        return np.where(v >= 0, 1, -1)
    if q.op == "MultiThreshold":
        return np.rint((v - a.get("out_bias", 0.0)) / a.get("out_scale", 1.0)).astype(np.int64)
    return np.rint(v / _scalar(graph, q.inputs[1])).astype(np.int64)


def _value_of(graph, q, raw) -> np.ndarray:
    f = np.float32
    if q.op == "MultiThreshold":
        return (f(q.attrs.get("out_scale", 1.0)) * raw.astype(f) + f(q.attrs.get("out_bias", 0.0))).astype(f)
    return (raw.astype(f) * f(_scalar(graph, q.inputs[1]))).astype(f)


def _to_last(a, conv: bool):
    return np.moveaxis(a, 1, -1) if conv and a.ndim == 4 else a


def _compare(graph, run, m, chain, q, prog, mul, ref, acc, sumabs, n):
    """Local comparison of one exact layer with the reference (see the module docstring)."""
    conv = m.op == "Conv"
    y0 = acc * mul
    e0 = (n + 3) * _U / (1 - (n + 3) * _U) * sumabs * np.abs(mul)
    y, e = ex.forward(y0, e0, prog.ops, ex.U32, executor=True)
    if q is None:
        _compare_tail(graph, run, m, chain, prog, ref, y0, e0, y, e, conv)
        return
    if prog.quant[0] == "quant":
        e = e + ex.U32 * (np.abs(y) + abs(prog.quant[2] * prog.quant[1]))
    mine = ex.levels(acc, mul, prog)[0]
    theirs = _to_last(_raw_of(graph, q, ref[q.outputs[0]]), conv)
    yref = ref.get(q.inputs[0])
    for i in map(tuple, np.argwhere(mine != theirs)):
        lo, hi = sorted((int(mine[i]), int(theirs[i])))
        bs = ex.boundaries(prog, i[-1], lo, hi)
        y32 = float(_to_last(yref, conv)[i]) if yref is not None else float("nan")
        far = max(bs, key=lambda b: abs(y32 - b)) if bs else float("nan")
        ulp = float(np.spacing(np.float32(max(abs(far), 1e-30))))
        ok = bool(bs) and all(abs(y32 - b) <= e[i] for b in bs)
        case = Case(
            int(i[0]),
            q.outputs[0],
            int(i[-1]),
            int(mine[i]),
            int(theirs[i]),
            (y32 - far) / ulp,
            e[i] / ulp,
            ok,
        )
        (run.cases if ok else run.failures).append(case)


def _compare_tail(graph, run, m, chain, prog, ref, y0, e0, y, e, conv):
    """The last layer's float values, and the graph output if an affine tail leads to it, within the bound;
    top-1 equal unless the reference's scores tie within it."""
    end = chain[-1].outputs[0] if chain else m.outputs[0]
    own = ex.forward(y0, np.abs(y0) * ex.U32, prog.ops, ex.U32)[1]  # our own float32 rounding of the tail
    checks = [(m.outputs[0], y0, e0 + np.abs(y0) * ex.U32)]
    if end in graph.outputs:
        checks.append((end, y, e + own))
    for name, want, bound in checks:
        got = _to_last(np.asarray(ref[name], np.float64), conv)
        bad = np.abs(got - want) > bound
        for i in map(tuple, np.argwhere(bad)[:20]):
            ulp = float(np.spacing(np.float32(abs(want[i]))))
            run.failures.append(
                Case(int(i[0]), name, int(i[-1]), 0, 0, (got[i] - want[i]) / ulp, bound[i] / ulp, False)
            )
    if end in graph.outputs and y.ndim == 2:
        got = np.asarray(ref[end], np.float64)
        mine, theirs = np.argmax(y, axis=1), np.argmax(got, axis=1)
        for f in np.flatnonzero(mine != theirs):
            a, b = int(mine[f]), int(theirs[f])
            gap, tol = (
                got[f, b] - got[f, a],
                e[f, a] + e[f, b] + own[f, a] + own[f, b],
            )
            ulp = float(np.spacing(np.float32(abs(got[f, b]))))
            (run.cases if gap <= tol else run.failures).append(
                Case(int(f), f"{end} (top-1)", b, a, b, gap / ulp, tol / ulp, bool(gap <= tol))
            )


def execute_exact(graph, x, reference: dict | None = None) -> ExactRun:
    """The exact golden model of ``graph`` on ``x`` (see the module docstring)."""
    env = dict(graph.consts)
    env[graph.inputs[0]] = np.asarray(x, np.float32)
    run = ExactRun(env)
    done = set()
    for m in graph.nodes:
        if id(m) in done:
            continue
        w = _weights(graph, m) if m.op in ("MatMul", "Conv") and m.inputs[1] in graph.consts else None
        s_in = _input_scale(graph, m) if w is not None else None
        if w is None or not ex.uses_exact(s_in, w[1]):
            env[m.outputs[0]] = run_node(m, [env[t] if t else None for t in m.inputs])
            if reference is not None and m.op in _ACTS and id(m) not in done:
                mine = run_node(m, [reference.get(t, env.get(t)) if t else None for t in m.inputs])
                if not np.array_equal(mine, reference[m.outputs[0]]):
                    run.failures.append(Case(0, m.outputs[0], -1, 0, 0, float("nan"), 0.0, False))
            continue
        codes, scale = w
        mul = np.float64(s_in) * scale
        chain, q = _unit(graph, m)
        conv = m.op == "Conv"
        c = scale.size
        rank = len(graph.shapes.get(m.outputs[0], (1, c)))
        prog = ex.Program(
            ex.chain_ops(graph.consts, chain, c, rank), ex.quantizer(graph.consts, q, c) if q else None
        )
        run.exact_layers.append(m.name)
        sources = [(env, False)] + ([(reference, True)] if reference is not None else [])
        for src, is_ref in sources:
            xc = _codes(src[m.inputs[0]], s_in, f"node {m.name!r} ({m.op})")
            acc = np.rint(_products(m, xc, codes)).astype(np.int64)
            if is_ref:
                sumabs = _products(m, np.abs(xc), np.abs(codes))
                n = int(np.prod(codes.shape[1:])) if conv else codes.shape[0]
                _compare(graph, run, m, chain, q, prog, mul, reference, acc, sumabs, n)
                continue
            if q is None:
                y = (acc * mul).astype(np.float32)
                env[m.outputs[0]] = np.moveaxis(y, -1, 1) if conv else y
                continue
            raw = ex.levels(acc, mul, prog)[0]
            raw = np.moveaxis(raw, -1, 1) if conv else raw
            run.codes[q.outputs[0]] = raw
            env[q.outputs[0]] = _value_of(graph, q, raw)
        if q is not None:
            done.update(id(n) for n in (*chain, q))
    return run
