"""Standalone multi-thresholding unit on a stream of PE lanes.

Ports
-----
i : In(stream.Signature(unsigned(PE * idt.bits)))
    ``C/PE`` beats per pixel; beat ``f`` lane ``p`` = channel ``f*PE + p``.
o : Out(stream.Signature(unsigned(PE * odt.bits)))
    Same folding; lane value ``out_offset + #{t : x >= thr[c, t]}`` (ops.multithreshold).

Parameters
----------
channels : int, C.
pe : int, lanes, divisor of C.
idt : DataType of the input values (INTn accumulators, UINT8 pixels, ...).
thresholds : (C or 1, T) ascending integer array.
out_offset : int; odt : DataType, optional (narrowest type of the output range by default).
storage : "auto" | "rom" | "hardwired" (auto: constants when one fold, else a ROM).

Cycle model
-----------
One beat per cycle: ``ii_cycles = C/PE`` per pixel; ``latency_cycles = 2`` (threshold read,
compare into the output queue).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import BIPOLAR
from hwgen.layers import _common as c
from hwgen.layers import _thresholds as th
from hwgen.layers._resources import estimate

__all__ = ["Thresholding"]


class Thresholding(wiring.Component):
    """Per-channel multi-threshold of a folded stream; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, channels, *, pe, idt, thresholds, out_offset=0, odt=None, storage="auto"):
        self._c = c.check_int("channels", channels)
        self._pe = c.check_fold("pe", pe, self._c, "channels")
        self._idt = idt = c.check_dtype("idt", idt)
        if storage not in ("auto", "rom", "hardwired"):
            raise ValueError(f"'storage' must be 'auto', 'rom' or 'hardwired', not {storage!r}")
        self._folds = self._c // self._pe
        self._storage = ("hardwired" if self._folds == 1 else "rom") if storage == "auto" else storage
        self._out_offset = c.check_int("out_offset", out_offset, minimum=-(1 << 62))
        thr = th.check_thresholds(thresholds, self._c)
        if idt == BIPOLAR:  # compare the bit b (value 2b - 1): 2b - 1 >= t  <=>  b >= ceil((t + 1) / 2)
            thr = -((-(thr + 1)) // 2)
            lo, hi = 0, 1
        else:
            lo, hi = idt.min, idt.max
        self._thr = np.clip(thr, lo, hi + 1)
        self._thr_shape = c.range_shape(lo, hi + 1)
        self._odt = th.out_dtype(self._out_offset, thr.shape[1], odt)
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(self._pe * idt.bits))),
                "o": Out(stream.Signature(unsigned(self._pe * self._odt.bits))),
            }
        )

    @property
    def odt(self):
        return self._odt

    @property
    def ii_cycles(self) -> int:
        return self._folds

    @property
    def latency_cycles(self) -> int:
        return 2

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        return estimate(
            "thresholding",
            family,
            channels=self._c,
            pe=self._pe,
            ibits=self._idt.bits,
            n_thresholds=self._thr.shape[1],
            thr_bits=self._thr_shape.width,
            obits=self._odt.bits,
            storage=self._storage,
        )

    def elaborate(self, platform):
        m = Module()
        pe, ib, n_thr, tshape = self._pe, self._idt.bits, self._thr.shape[1], self._thr_shape
        m.submodules.oq = oq_mod = Module()
        oq = c.OutputQueue(oq_mod, self.o, pe * self._odt.bits, 3)

        fold = Signal(c.idx(self._folds))
        take = Signal()
        m.d.comb += [
            self.i.ready.eq(oq.has_credit),
            take.eq(self.i.valid & self.i.ready),
            oq.reserve.eq(take),
        ]
        with m.If(take):
            m.d.sync += fold.eq(Mux(fold == self._folds - 1, 0, fold + 1))

        valid1 = Signal()
        x1 = Signal(pe * ib)
        m.d.sync += [valid1.eq(take), x1.eq(self.i.payload)]
        words = th.words(self._thr, pe, tshape.width)
        thr_word = th.table(m, "trom", words, pe * n_thr * tshape.width, fold, self._storage)
        outs = []
        for p in range(pe):
            raw = x1[p * ib : (p + 1) * ib]
            x = raw.as_signed() if self._idt.signed and self._idt != BIPOLAR else raw
            out = Signal(self._odt.bits, name=f"out_{p}")
            m.d.comb += out.eq(th.count(m, x, p, thr_word, n_thr, tshape, "thr") + self._out_offset)
            outs.append(out)
        m.d.comb += [oq.push.eq(valid1), oq.data.eq(Cat(*outs))]
        return m
