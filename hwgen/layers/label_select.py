"""Label select: indices of the ``k`` largest of ``C`` values, largest first, ties to the lower index.

Semantics of :func:`hwgen.golden.ops.label_select` (ONNX TopK, ``largest=1, sorted=1``). A sorted
top-k list is kept in registers; each input beat merges its ``PE`` values into it in one cycle by
ranking all ``k + PE`` candidates at once (candidate ``a`` beats ``b`` if it is larger, or equal
with the lower index). At the end of a frame the list moves to a result bank (or to a shadow bank
while the previous result is still being sent), which is sent as ``k`` beats, one index each.

Ports
-----
i : In(stream.Signature(unsigned(PE * idt.bits)))
    ``C/PE`` beats per frame; beat ``f`` lane ``p`` = value of label ``f*PE + p``.
o : Out(stream.Signature(unsigned(odt.bits)))
    ``k`` beats per frame, index of the largest first; ``odt = UINT(max(1, bit_length(C-1)))``.

Parameters
----------
channels : int, C (labels).
k : int, 1 <= k <= C.
pe : int, values per beat, a divisor of C.
idt : DataType of the values.

Cycle model
-----------
``ii_cycles = max(C/PE, k)``; ``latency_cycles = C/PE``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import UINT
from hwgen.layers import _common as c
from hwgen.layers._resources import estimate

__all__ = ["LabelSelect"]


class LabelSelect(wiring.Component):
    """Top-k label indices of a folded vector; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, channels, *, k, pe, idt):
        self._c = c.check_int("channels", channels)
        self._k = c.check_int("k", k)
        if self._k > self._c:
            raise ValueError(f"'k'={k} must be <= channels={channels}")
        self._pe = c.check_fold("pe", pe, self._c, "channels")
        self._idt = c.check_dtype("idt", idt)
        self._odt = UINT(max(1, (self._c - 1).bit_length()))
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(self._pe * self._idt.bits))),
                "o": Out(stream.Signature(unsigned(self._odt.bits))),
            }
        )

    @property
    def odt(self):
        return self._odt

    @property
    def ii_cycles(self) -> int:
        return max(self._c // self._pe, self._k)

    @property
    def latency_cycles(self) -> int:
        return self._c // self._pe

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        return estimate(
            "label_select", family, k=self._k, vbits=self._idt.bits, ibits=self._odt.bits, pe=self._pe
        )

    def _value(self, code):
        """Comparable value of an element code (1-bit types compare as their bit)."""
        return code.as_signed() if self._idt.signed and self._idt.bits > 1 else code

    def elaborate(self, platform):
        m = Module()
        k, pe, vb, ib = self._k, self._pe, self._idt.bits, self._odt.bits
        folds = self._c // pe

        fold = Signal(c.idx(folds))
        remaining = Signal(c.idx(k + 1))  # result beats still to send
        shadow_full = Signal()  # a finished frame's result waits behind the one being sent
        last_fold = Signal()
        take = Signal()
        m.d.comb += [
            last_fold.eq(fold == folds - 1),
            self.i.ready.eq(~last_fold | ~shadow_full),
            take.eq(self.i.valid & self.i.ready),
        ]

        # Candidates in priority order: the list (positions 0..k-1), then the new lanes.
        vals = [Signal(vb, name=f"val{j}") for j in range(k)]
        idxs = [Signal(ib, name=f"idx{j}") for j in range(k)]
        used = [Signal(name=f"used{j}") for j in range(k)]
        fresh = Signal()  # first beat of a frame: the list is empty
        m.d.comb += fresh.eq(fold == 0)
        cand_v = [self._value(v) for v in vals]
        cand_i = list(idxs)
        cand_ok = [u & ~fresh for u in used]
        for p in range(pe):
            cand_v.append(self._value(self.i.payload[p * vb : (p + 1) * vb]))
            cand_i.append((fold * pe + p)[:ib])
            cand_ok.append(Const(1, 1))
        n = k + pe
        beats = {}
        for a in range(n):
            for b in range(a + 1, n):
                if a < k and b < k:
                    win = Const(1, 1)
                else:
                    win = cand_ok[a] & (cand_v[a] >= cand_v[b])
                beats[a, b] = win
                beats[b, a] = ~win
        ranks = [c.popcount(m, Cat(*[beats[b, a] for b in range(n) if b != a]), f"rank{a}") for a in range(n)]
        new_v = [Signal(vb, name=f"new_val{r}") for r in range(k)]
        new_i = [Signal(ib, name=f"new_idx{r}") for r in range(k)]
        new_ok = [Signal(name=f"new_used{r}") for r in range(k)]
        for r in range(k):
            hit = [ranks[a] == r for a in range(n)]
            m.d.comb += [
                new_v[r].eq(_or_select(hit, [cv.as_unsigned() for cv in cand_v])),
                new_i[r].eq(_or_select(hit, cand_i)),
                new_ok[r].eq(_or_select(hit, cand_ok)),
            ]
        with m.If(take):
            m.d.sync += fold.eq(Mux(last_fold, 0, fold + 1))
            for j in range(k):
                m.d.sync += [vals[j].eq(new_v[j]), idxs[j].eq(new_i[j]), used[j].eq(new_ok[j])]

        # Result bank, shifted out one index per beat, and a shadow bank for the next frame's result,
        # so that a frame can finish while the previous result is still being sent.
        bank = [Signal(ib, name=f"res{j}") for j in range(k)]
        shadow = [Signal(ib, name=f"shadow{j}") for j in range(k)]
        load, pop, bank_free = Signal(), Signal(), Signal()
        m.d.comb += [
            self.o.valid.eq(remaining != 0),
            self.o.payload.eq(bank[0]),
            load.eq(take & last_fold),
            pop.eq(self.o.valid & self.o.ready),
            bank_free.eq((remaining == 0) | (pop & (remaining == 1))),
        ]
        with m.If(bank_free & shadow_full):
            m.d.sync += [remaining.eq(k), shadow_full.eq(0)] + [bank[j].eq(shadow[j]) for j in range(k)]
        with m.Elif(bank_free & load):
            m.d.sync += [remaining.eq(k)] + [bank[j].eq(new_i[j]) for j in range(k)]
        with m.Elif(pop):
            m.d.sync += [remaining.eq(remaining - 1)] + [bank[j].eq(bank[j + 1]) for j in range(k - 1)]
        with m.If(load & ~(bank_free & ~shadow_full)):
            m.d.sync += [shadow_full.eq(1)] + [shadow[j].eq(new_i[j]) for j in range(k)]
        return m


def _or_select(hit, values):
    """OR of ``values[a]`` where ``hit[a]`` (exactly one hit is expected)."""
    terms = [Cat(*([h] * len(v))) & v for h, v in zip(hit, values, strict=True)]
    out = terms[0]
    for t in terms[1:]:
        out = out | t
    return out
