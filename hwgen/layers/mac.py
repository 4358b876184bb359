"""The SIMD lane group of a matrix layer: how ``SIMD`` products of one output channel are summed per beat.

:func:`mac_kind` chooses the architecture from the datatypes and the SIMD width; the matrix layer's spec
records it and the resource model prices exactly that choice, so both always agree:

- ``"xnor"``: BIPOLAR x BIPOLAR; the popcount of XNOR bits (dot = 2·P − N).
- ``"sign_tree"``: one BIPOLAR operand, at least :data:`TREE_SIGN_SIMD` terms; ``+v`` or ``-v`` as
  ``(v XOR n) + n`` (``n`` = 1 for the bipolar code 0), all bits summed by one compressor tree.
- ``"sign_chain"``: one BIPOLAR operand, fewer terms; ``Mux(s, v, -v)`` and an adder chain (smaller on
  ECP5 for SIMD 3, measured).
- ``"table"``: integer x integer with at most :data:`TABLE_PRODUCT_BITS` operand bits; each product a
  constant table (:func:`hwgen.layers.popcount.lut_function`), summed by one compressor tree.
- ``"mul"``: wider operands; ``*`` and an adder chain.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data

from hwgen.ir.datatypes import BIPOLAR, DataType
from hwgen.layers import popcount
from hwgen.layers._common import range_shape

__all__ = [
    "MAC_KINDS", "TABLE_PRODUCT_BITS", "TREE_SIGN_SIMD", "beat_sum", "lane_sums", "mac_kind", "sum_range"
]  # fmt: skip

#: Integer x integer products with at most this many operand bits are constant tables.
TABLE_PRODUCT_BITS = 8
#: Bipolar x integer lane groups of at least this many terms use one compressor tree.
TREE_SIGN_SIMD = 4
MAC_KINDS = ("xnor", "sign_tree", "sign_chain", "table", "mul")


def mac_kind(idt: DataType, wdt: DataType, simd: int) -> str:
    """The lane-group architecture for ``idt`` inputs, ``wdt`` weights and ``simd`` terms."""
    if idt == BIPOLAR and wdt == BIPOLAR:
        return "xnor"
    if BIPOLAR in (idt, wdt):
        return "sign_tree" if simd >= TREE_SIGN_SIMD else "sign_chain"
    if idt.bits + wdt.bits <= TABLE_PRODUCT_BITS:
        return "table"
    return "mul"


def sum_range(w: np.ndarray, idt: DataType, simd: int | None = None) -> tuple[int, int]:
    """Smallest and largest sum of ``simd`` consecutive products of a weight row ``w[c]`` with inputs of
    ``idt``, over all rows and groups (the whole row, i.e. the dot product, when ``simd`` is None)."""
    term_lo = np.minimum(w * idt.min, w * idt.max)
    term_hi = np.maximum(w * idt.min, w * idt.max)
    shape = (w.shape[0], -1, w.shape[1] if simd is None else simd)
    return int(term_lo.reshape(shape).sum(axis=2).min()), int(term_hi.reshape(shape).sum(axis=2).max())


def _value(code, dt: DataType):
    """Signed/unsigned Amaranth value of a non-bipolar element code."""
    return code.as_signed() if dt.signed else code


def beat_sum(
    m, kind: str, x, w, idt: DataType, wdt: DataType, simd: int, name: str, cut: bool = False, mask=None
):
    """Sum over the ``simd`` lanes of one beat: ``x`` and ``w`` are flat lane vectors (element 0 in the
    LSBs). For ``"xnor"`` the result is the popcount P, for every other kind the exact integer sum.

    ``mask``: ``simd`` bits, lane ``j`` contributes 0 to the dot product where bit ``j`` is set (the
    padding lanes of a window on bipolar values), or one bit for all lanes. For ``"xnor"`` the result is
    then ``2·P + M`` (P the unmasked matches, M the masked lanes; dot = result − SIMD): 2-bit lane
    values summed by one compressor tree, or for one mask bit ``Mux(mask, SIMD, 2·P)``. For the sign
    kinds (bipolar ``x``) the masked integer operand is 0, so its term is 0.

    ``cut``: the number of register stages inside the compressor tree (:func:`popcount.compress_columns`),
    the sum arriving that many cycles later (after the adder chain for ``"sign_chain"`` and ``"mul"``,
    which have no tree)."""
    if kind == "xnor":
        if mask is None:
            return popcount.popcount(m, ~(x ^ w), name, cut=cut)
        if len(mask) == 1:  # the whole beat is padding or none of it: 2·P, or SIMD
            pc = popcount.popcount(m, ~(x ^ w), name, cut=cut)
            return Mux(_registered(m, mask, f"{name}_mask", cut), simd, pc << 1)
        match = ~(x ^ w) & ~mask
        return popcount.sum_values(m, [Cat(mask[j], match[j]) for j in range(simd)], name, cut=cut)
    if mask is not None:
        if kind not in ("sign_tree", "sign_chain") or idt != BIPOLAR:
            raise ValueError(f"a lane mask needs bipolar inputs, not {idt} ({kind})")
        lanes = mask.replicate(simd) if len(mask) == 1 else mask
        w = w & ~Cat(*(lanes[j].replicate(wdt.bits) for j in range(simd)))
    xs = data.View(data.ArrayLayout(idt.bits, simd), x)
    ws = data.View(data.ArrayLayout(wdt.bits, simd), w)
    pairs = [(xs[j], ws[j]) for j in range(simd)]
    if kind in ("sign_tree", "sign_chain"):  # (sign code, value code, value type) per term
        bip_x = idt == BIPOLAR
        terms3 = [(xe, we, wdt) if bip_x else (we, xe, idt) for xe, we in pairs]
        if kind == "sign_chain":
            terms = [Mux(s[0], _value(v, dt), -_value(v, dt)) for s, v, dt in terms3]
            return _registered(m, sum(terms[1:], terms[0]), name, cut)
        terms = []
        for j, (s, v, dt) in enumerate(terms3):
            neg = Signal(name=f"{name}_neg{j}")
            vv = Signal(signed(dt.bits + (0 if dt.signed else 1)), name=f"{name}_v{j}")
            m.d.comb += [neg.eq(~s[0]), vv.eq(_value(v, dt))]
            terms += [vv ^ neg.replicate(len(vv)).as_signed(), neg]
        return popcount.sum_values(m, terms, name, cut=cut)
    if kind == "table":  # products as constant tables, one compressor tree
        ix, iw = idt.decode(np.arange(1 << idt.bits)), wdt.decode(np.arange(1 << wdt.bits))
        prods = np.outer(iw, ix).reshape(-1)  # index = w_code << ib | x_code
        shape = range_shape(int(prods.min()), int(prods.max()))
        terms = [
            popcount.lut_function(m, Cat(xe, we), lambda i: int(prods[i]), shape, f"{name}_prod{j}")
            for j, (xe, we) in enumerate(pairs)
        ]
        return popcount.sum_values(m, terms, name, cut=cut)
    terms = [_value(xe, idt) * _value(we, wdt) for xe, we in pairs]
    return _registered(m, sum(terms[1:], terms[0]), name, cut)


def lane_sums(m, s, x, w_lanes, fused_thr, cut: int, mask=None) -> list[Signal]:
    """The registered beat sum of each of the ``s.pe`` lanes of matrix layer spec ``s``: the operand ``x``
    (one for all lanes) against lane ``p``'s weights ``w_lanes[p]`` (:func:`beat_sum`, trees cut ``cut``
    times; ``mask``: the padding lanes). With ``fused_thr`` (one row of constant thresholds per lane, a fully
    parallel XNOR layer) the sum is the number of thresholds reached, counted inside the popcount trees."""
    if fused_thr is not None:
        shape = unsigned(s.n_thresholds.bit_length())
    elif s.xnor:
        shape = unsigned(((2 if s.padded else 1) * s.simd).bit_length())
    else:
        shape = range_shape(*sum_range(s.weights, s.idt, s.simd))
    sums = [Signal(shape, name=f"psum2_{p}", reset_less=True) for p in range(s.pe)]
    for p, w in enumerate(w_lanes):
        if fused_thr is not None:
            level = popcount.popcount_thresholds(m, ~(x ^ w), fused_thr[p].tolist(), f"pt{p}", cut=cut)
            m.d.sync += sums[p].eq(level)
        else:
            lane = beat_sum(m, s.mac, x, w, s.idt, s.wdt, s.simd, f"bs{p}", cut=cut, mask=mask)
            m.d.sync += sums[p].eq(lane)
    return sums


def _registered(m, value, name: str, stages=1):
    """``value`` through ``stages`` registers (``cut`` as a count; none for 0 / False)."""
    for k in range(int(stages)):
        reg = Signal(Value.cast(value).shape(), name=f"{name}_q{k}", reset_less=True)
        m.d.sync += reg.eq(value)
        value = reg
    return value
