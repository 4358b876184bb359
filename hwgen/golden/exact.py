"""Exact semantics of float (non-power-of-two) scales: the chain from an integer accumulator to a quantizer.

A matrix layer whose scales are not all powers of two is computed in exact arithmetic on the integer codes
(DESIGN.md §2, README "Float scales"). For one output channel ``c`` and integer accumulator ``acc`` (the sum
of weight code x activation code), the value the model feeds on is the rational number ``acc * mul[c]``
with ``mul = s_in * s_w[c]`` (both float32 numbers, so their product is exact in float64). The nodes between
the layer and its quantizer are then applied in exact rational arithmetic, with their float32 constants taken
as the rationals they are:

- ``Mul``/``Div``/``Add``/``Sub`` by a constant (per tensor or per channel); ``Relu``;
- ``BatchNormalization``: ``(y - mean) * gamma * inv + beta`` with ``inv`` the float64 number
  ``1 / sqrt(var + eps)`` (IEEE float64 sum, square root and division of the float32 parameters: the only
  step that is not rational, fixed by this definition);
- the quantizer on the exact value: ``Quant`` clips and rounds ``y / s + zp`` with its rounding mode (round
  half to even decided exactly), ``BipolarQuant`` is ``+1`` iff ``y >= 0``, ``MultiThreshold`` counts
  ``y >= t``.

:func:`levels` evaluates this on whole arrays: in float64 with a running bound on its rounding error, and
with :class:`fractions.Fraction` for every element whose float64 value lies within that bound of a decision
point (a half-integer, zero or a threshold), so the result is the exact one. :func:`forward` with
``u = 2**-24`` and an initial dot-product error bound gives a sound bound on a float32 executor's error
instead (used to recognise the executor's boundary cases).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import HwgenError
from .float_ops import quant_limits

__all__ = [
    "Program",
    "U32",
    "U64",
    "boundaries",
    "chain_ops",
    "forward",
    "is_pow2",
    "levels",
    "program",
    "quantizer",
    "uses_exact",
]

U64 = 2.0**-52  # twice float64's unit roundoff: every bound below is at least a factor two loose
U32 = 2.0**-23  # the same for float32
_AFFINE = ("BatchNormalization", "Mul", "Div", "Add", "Sub")


def is_pow2(x) -> bool:
    """True if every element of ``x`` is a positive power of two."""
    x = np.asarray(x, np.float64)
    m, _ = np.frexp(np.abs(x))
    return bool(np.all(x > 0) and np.all(m == 0.5))


def uses_exact(s_in, s_w) -> bool:
    """A matrix layer is computed exactly unless its input scale and every weight scale are powers of two."""
    return not (is_pow2(s_in) and is_pow2(s_w))


@dataclass
class Program:
    """The chain after a matrix layer: ``ops`` (per-channel float64 constants, shape (C,)) and the quantizer.

    ``ops`` items: ``("mul", c)``, ``("div", c)``, ``("add", c)``, ``("bn", mean, gamma, inv, beta)``,
    ``("relu",)``. ``quant``: ``("quant", s, zp, lo, hi, mode)``, ``("bipolar",)`` or ``("mt", thr (C, T))``.
    """

    ops: list
    quant: tuple


def _per_channel(v, rank: int, c: int, where: str) -> np.ndarray:
    """A constant broadcast against a tensor of ``rank`` dims whose channel axis is 1: its (C,) values."""
    v = np.asarray(v, np.float32)
    if v.size == 1:
        return np.full(c, float(v.reshape(-1)[0]))
    shape = (1,) * (rank - v.ndim) + v.shape
    if len(shape) != rank or any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] != c:
        raise HwgenError(f"{where}: constant of shape {v.shape} is neither per tensor nor per channel")
    return v.reshape(-1).astype(np.float64)


def _bn_inv(var, eps) -> np.ndarray:
    e = Fraction(float(np.float32(eps)))
    return np.array([1.0 / math.sqrt(float(Fraction(float(v)) + e)) for v in np.asarray(var, np.float32)])


def program(consts: dict, chain: list, act, c: int, rank: int) -> Program:
    """The :class:`Program` of ``chain`` (affine nodes and ``Relu``) and the quantizer node ``act``."""
    return Program(chain_ops(consts, chain, c, rank), quantizer(consts, act, c))


def chain_ops(consts: dict, chain: list, c: int, rank: int) -> list:
    """``Program.ops`` of ``chain`` on a tensor of ``rank`` dims with ``c`` channels on axis 1."""
    ops = []
    for n in chain:
        where = f"node {n.name!r} ({n.op})"
        if n.op == "Relu":
            ops.append(("relu",))
            continue
        if n.op not in _AFFINE:
            raise HwgenError(f"{where}: cannot be evaluated exactly after a float-scale matrix layer")
        if n.op == "BatchNormalization":
            g, b, m, v = (np.asarray(consts[i], np.float32).reshape(-1) for i in n.inputs[1:5])
            g, b, m = (np.broadcast_to(t.astype(np.float64), (c,)) for t in (g, b, m))
            inv = np.broadcast_to(_bn_inv(v, n.attrs.get("epsilon", 1e-5)), (c,))
            ops.append(("bn", m, g, inv, b))
            continue
        first = n.inputs[0] not in consts
        k = _per_channel(consts[n.inputs[1] if first else n.inputs[0]], rank, c, where)
        if n.op == "Mul":
            ops.append(("mul", k))
        elif n.op == "Add":
            ops.append(("add", k))
        elif n.op == "Div" and first:
            ops.append(("div", k))
        elif n.op == "Sub":
            ops.extend([("add", -k)] if first else [("mul", np.full(c, -1.0)), ("add", k)])
        else:
            raise HwgenError(f"{where}: constant / tensor is not affine; cannot follow a float-scale layer")
    return ops


def quantizer(consts: dict, act, c: int) -> tuple:
    """``Program.quant`` of the quantizer node ``act``."""
    where = f"node {act.name!r} ({act.op})"
    ins = [consts.get(i) for i in act.inputs[1:]]
    if any(v is None for v in ins):
        raise HwgenError(f"{where}: quantizer parameters must be constant")
    if act.op == "BipolarQuant":
        return ("bipolar",)
    if act.op == "MultiThreshold":
        thr = np.asarray(ins[0], np.float64)
        return ("mt", np.broadcast_to(thr, (c, thr.shape[-1])) if thr.shape[0] == 1 else thr)
    if act.op != "Quant" or any(np.size(v) != 1 for v in ins):
        raise HwgenError(f"{where}: only a per-tensor Quant, BipolarQuant or MultiThreshold can follow")
    s, zp, bits = (float(np.asarray(v, np.float32).reshape(-1)[0]) for v in ins[:3])
    a = act.attrs
    lo, hi = quant_limits(bits, a.get("signed", 1), a.get("narrow", 0))
    if bits == 1 and a.get("signed", 1):
        lo, hi = -1, 1
    return ("quant", s, zp, lo, hi, str(a.get("rounding_mode", "ROUND")).upper())


def forward(y, e, ops, u: float, executor: bool = False):
    """Float64 ``ops`` on ``y`` with error bound ``e`` (same shape); each step adds ``u`` times its result.

    ``executor``: batch-norm bounded for a float32 executor that folds it into ``x * s + (beta - mean * s)``
    with a rounded ``s = gamma / sqrt(var + eps)``.
    """
    y, e = np.asarray(y, np.float64), np.asarray(e, np.float64)
    for op in ops:
        if op[0] == "mul":
            y = y * op[1]
            e = e * np.abs(op[1]) + u * np.abs(y)
        elif op[0] == "div":
            y = y / op[1]
            e = e / np.abs(op[1]) + u * np.abs(y)
        elif op[0] == "add":
            y = y + op[1]
            e = e + u * np.abs(y)
        elif op[0] == "relu":
            y = np.maximum(y, 0.0)
        else:
            _, m, g, inv, b = op
            d = y - m
            p = d * g
            t = p * inv
            y2 = t + b
            if executor:
                gi = np.abs(g * inv)
                e = e * gi + 8 * u * (np.abs(y) + np.abs(m)) * gi + 3 * u * np.abs(b) + u * np.abs(y2)
            else:  # the float64 steps above, each rounded once
                e = ((e + u * np.abs(d)) * np.abs(g) + u * np.abs(p)) * np.abs(inv)
                e = e + u * (np.abs(t) + np.abs(y2))
            y = y2
    return y, e


def _decide64(y, e, q):
    """Raw levels from float64 values and which of them lie within the error bound of a decision point."""
    if q[0] == "bipolar":
        return np.where(y >= 0, 1, -1), np.abs(y) <= 2 * e
    if q[0] == "mt":
        thr = q[1]
        d = y[..., None] - thr
        return np.count_nonzero(d >= 0, axis=-1), np.any(np.abs(d) <= 2 * e[..., None], axis=-1)
    _, s, zp, lo, hi, mode = q
    z = y / s + zp
    ez = e / abs(s) + U64 * (np.abs(y / s) + np.abs(z))
    zc = np.clip(z, lo, hi)  # clipping at the integer limits adds no decision point
    if mode in ("FLOOR", "CEIL", "DOWN", "UP"):  # decided at the integers
        dist = np.abs(zc - np.round(zc))
    else:  # decided at the half-integers
        dist = np.abs(zc - np.floor(zc) - 0.5)
    rounded = _ROUND64[mode](np.clip(z, lo, hi))
    return rounded - zp, dist <= 2 * ez


_ROUND64 = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "DOWN": np.fix,
    "UP": lambda z: np.sign(z) * np.ceil(np.abs(z)),
    "HALF_UP": lambda z: np.sign(z) * np.floor(np.abs(z) + 0.5),
    "HALF_DOWN": lambda z: np.sign(z) * np.ceil(np.abs(z) - 0.5),
}


def _round_fraction(z: Fraction, mode: str) -> int:
    a = abs(z)
    sign = 1 if z >= 0 else -1
    if mode in ("ROUND", "HALF_EVEN"):
        return round(z)
    if mode == "FLOOR":
        return math.floor(z)
    if mode == "CEIL":
        return math.ceil(z)
    if mode == "DOWN":
        return sign * math.floor(a)
    if mode == "UP":
        return sign * math.ceil(a)
    if mode == "HALF_UP":
        return sign * math.floor(a + Fraction(1, 2))
    if mode == "HALF_DOWN":
        return sign * math.ceil(a - Fraction(1, 2))
    raise HwgenError(f"rounding mode {mode} is not supported")


def exact_level(acc: int, mul: float, ch: int, prog: Program) -> int:
    """The raw level of one element, in rational arithmetic (see the module docstring)."""
    y = Fraction(int(acc)) * Fraction(float(mul))
    for op in prog.ops:
        k = [Fraction(float(np.asarray(t).reshape(-1)[ch if np.size(t) > 1 else 0])) for t in op[1:]]
        if op[0] == "mul":
            y *= k[0]
        elif op[0] == "div":
            y /= k[0]
        elif op[0] == "add":
            y += k[0]
        elif op[0] == "relu":
            y = max(y, Fraction(0))
        else:
            m, g, inv, b = k
            y = (y - m) * g * inv + b
    q = prog.quant
    if q[0] == "bipolar":
        return 1 if y >= 0 else -1
    if q[0] == "mt":
        return sum(1 for t in q[1][ch] if y >= Fraction(float(t)))
    _, s, zp, lo, hi, mode = q
    z = min(max(y / Fraction(s) + Fraction(zp), Fraction(lo)), Fraction(hi))
    return _round_fraction(z, mode) - int(zp)


def levels(acc, mul, prog: Program) -> tuple[np.ndarray, int]:
    """Exact raw levels (int64) of accumulators ``acc`` (..., C) with scales ``mul`` (C,); and how many
    elements needed the rational evaluation."""
    acc = np.asarray(acc)
    y0 = acc.astype(np.float64) * np.asarray(mul, np.float64)
    y, e = forward(y0, np.abs(y0) * U64, prog.ops, U64)
    raw, unsure = _decide64(y, e, prog.quant)
    raw = np.asarray(raw, np.int64)
    idx = np.argwhere(unsure)
    mul = np.broadcast_to(np.asarray(mul, np.float64), acc.shape[-1:])
    for i in map(tuple, idx):
        raw[i] = exact_level(int(acc[i]), mul[i[-1]], i[-1], prog)
    return raw, len(idx)


def boundaries(prog: Program, ch: int, lo_level: int, hi_level: int) -> list[float]:
    """The quantizer-input values (float64) that separate raw levels ``lo_level`` .. ``hi_level``."""
    q = prog.quant
    if q[0] == "bipolar":
        return [0.0]
    if q[0] == "mt":
        thr = np.sort(q[1][ch])
        return [float(t) for t in thr[max(lo_level, 0) : min(hi_level, thr.size)]]
    _, s, zp, _, _, mode = q
    shift = {"FLOOR": 1.0, "CEIL": 0.0}.get(mode, 0.5)
    return [(k + shift) * s for k in range(lo_level, hi_level)]
