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

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Cat, Const, Module, Signal, unsigned
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import UINT, DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.spec import LayerSpec

__all__ = ["LabelSelect", "LabelSelectSpec"]


@dataclass(frozen=True, eq=False, kw_only=True)
class LabelSelectSpec(LayerSpec):
    """Parameters, cycle and resource model of the top-k label select."""

    kind: ClassVar[str] = "LabelSelect"
    options: ClassVar[tuple[str, ...]] = ("pe",)

    channels: int
    k: int
    pe: int = 1
    idt: DataType

    @classmethod
    def create(cls, channels, *, k, pe=1, idt, name="") -> LabelSelectSpec:
        channels, k = c.check_int("channels", channels), c.check_int("k", k)
        if k > channels:
            raise ValueError(f"'k'={k} must be <= channels={channels}")
        c.check_fold("pe", pe, channels, "channels")
        return cls(channels=channels, k=k, pe=pe, idt=c.check_dtype("idt", idt), name=name)

    @classmethod
    def from_node(cls, node, pe: int = 1) -> LabelSelectSpec:
        a = node.attrs
        return cls.create(a["in_shape"][-1], k=a["k"], pe=pe, idt=a["in_dtype"], name=node.name)

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        return {"pe": (self.channels, "labels")}

    @property
    def odt(self) -> DataType:
        return UINT(max(1, (self.channels - 1).bit_length()))

    @property
    def in_lanes(self) -> int:
        return self.pe

    @property
    def in_elems(self) -> int:
        return self.channels

    @property
    def out_elems(self) -> int:
        return self.k

    @property
    def cycles(self) -> int:
        return max(self.channels // self.pe, self.k)

    @property
    def latency(self) -> int:
        return self.channels // self.pe

    def output_times(self, arrivals: list[int]) -> list[int]:
        """The list is complete one cycle after the last input beat, then one index per cycle."""
        return [arrivals[-1] + 1 + j for j in range(self.k)]

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(
            self.kind, family, k=self.k, vbits=self.idt.bits, ibits=self.odt.bits, pe=self.pe
        )

    def component(self) -> LabelSelect:
        return LabelSelect(spec=self)


class LabelSelect(c.LayerComponent):
    """Top-k label indices of a folded vector; see the module docstring."""

    make_spec = staticmethod(LabelSelectSpec.create)

    def __init__(self, *args, **params):
        s = self.spec
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(s.pe * s.idt.bits))),
                "o": Out(stream.Signature(unsigned(s.odt.bits))),
            }
        )

    def _value(self, code):
        """Comparable value of an element code (1-bit types compare as their bit)."""
        idt = self.spec.idt
        return code.as_signed() if idt.signed and idt.bits > 1 else code

    def elaborate(self, platform):
        m = Module()
        s = self.spec
        k, pe, vb, ib = s.k, s.pe, s.idt.bits, s.odt.bits
        folds = s.channels // pe

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
        lanes = data.View(data.ArrayLayout(vb, pe), self.i.payload)
        for p in range(pe):
            cand_v.append(self._value(lanes[p]))
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
            m.d.sync += fold.eq(c.incr_wrap(fold, folds))
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
