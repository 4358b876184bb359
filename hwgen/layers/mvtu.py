"""Matrix-vector-threshold unit (MVTU): folded ``y = threshold(W x)`` on streams.

Ports
-----
i : In(stream.Signature(unsigned(SIMD * idt.bits)))
    ``MW/SIMD`` beats per input vector; beat ``b`` lane ``j`` = ``x[b*SIMD + j]``.
o : Out(stream.Signature(unsigned(PE * odt.bits)))
    ``MH/PE`` beats per output vector; beat ``f`` lane ``p`` = output channel ``f*PE + p``.

Parameters
----------
w : (MH, MW) integer array of weight values (bipolar as -1/+1).
idt, wdt : DataType of inputs and weights. BIPOLAR x BIPOLAR uses XNOR + popcount
    (dot = 2·P − MW), every other mix multiply-accumulates.
pe, simd : output and input lanes, divisors of MH and MW.
thresholds : None (raw signed accumulators out, two's complement ``odt = INT(n)``) or a
    (MH or 1, T) ascending integer array; output = ``out_offset + #{t : acc >= thr[c, t]}``
    (:func:`hwgen.golden.ops.multithreshold`).
out_offset : int, odt : DataType, optional (default: narrowest type of the output range;
    BIPOLAR is allowed for T = 1, out_offset = 0: code 1 = +1).
weights : "auto" | "rom" | "hardwired" — weights and thresholds in ``Memory`` ROMs or as constants
    (auto: constants when fully parallel, i.e. one beat in and one out per vector; a one-word
    table is a constant either way). A fully parallel hard-wired XNOR layer folds its threshold
    comparisons into the popcount trees (``fused_thresholds``).

Cycle model
-----------
The input vector is buffered while the first output fold runs and reused for the others; one
beat is issued per cycle. ``ii_cycles = (MH/PE)·(MW/SIMD)``; ``latency_cycles = MW/SIMD + 3``
(issue, operand read, lane sum, accumulate, threshold into the output queue).
The input is taken in bursts: MW/SIMD beats at one per cycle during output fold 0, then none for
(MH/PE − 1)·(MW/SIMD) cycles. A producer that runs at a steady rate upstream needs a FIFO in
between to keep its own rate (see ``tests/layers/test_chain.py``).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import BIPOLAR, INT
from hwgen.layers import _common as c
from hwgen.layers import _thresholds as th
from hwgen.layers import popcount
from hwgen.layers._resources import estimate

__all__ = ["MVTU"]

_LATENCY_AFTER_LAST_BEAT = 4
# Integer x integer products with at most this many operand bits are constant tables (popcount.lut_function)
# summed by one compressor tree; wider ones use ``*`` and an adder chain.
TABLE_PRODUCT_BITS = 8
# Bipolar x integer lanes of at least this many SIMD terms sum (v XOR s) + s in one compressor tree
# (measured better on both families for SIMD 9; for SIMD 3 a Mux(s, v, -v) adder chain is smaller on ECP5).
TREE_SIGN_SIMD = 4


class MVTU(wiring.Component):
    """Folded matrix-vector(-threshold) unit; see the module docstring for ports and cycle model."""

    @c.quiet_on_error
    def __init__(self, w, *, idt, wdt, pe, simd, thresholds=None, out_offset=0, odt=None, weights="auto"):
        self._w = w = c.int_array("w", w, 2)
        self._mh, self._mw = mh, mw = w.shape
        if mh < 1 or mw < 1:
            raise ValueError(f"'w' must be non-empty, not shape {w.shape}")
        self._idt = idt = c.check_dtype("idt", idt)
        self._wdt = wdt = c.check_dtype("wdt", wdt)
        if not wdt.allowed(w):
            raise ValueError(f"'w' holds values outside {wdt}")
        self._pe = c.check_fold("pe", pe, mh, "MH")
        self._simd = c.check_fold("simd", simd, mw, "MW")
        if weights not in ("auto", "rom", "hardwired"):
            raise ValueError(f"'weights' must be 'auto', 'rom' or 'hardwired', not {weights!r}")
        self._nf, self._sf = mh // self._pe, mw // self._simd
        if weights == "auto":
            weights = "hardwired" if self._nf * self._sf == 1 else "rom"
        self._storage = weights
        self._xnor = idt == BIPOLAR and wdt == BIPOLAR
        self._ranges(w, idt)
        self._out_offset = c.check_int("out_offset", out_offset, minimum=-(1 << 62))
        self._set_thresholds(thresholds, odt)
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(self._simd * idt.bits))),
                "o": Out(stream.Signature(unsigned(self._pe * self._odt.bits))),
            }
        )

    # -- parameters -------------------------------------------------------------------------
    def _ranges(self, w, idt):
        lo_x, hi_x = idt.min, idt.max
        term_lo = np.minimum(w * lo_x, w * hi_x)
        term_hi = np.maximum(w * lo_x, w * hi_x)
        self._acc_lo, self._acc_hi = int(term_lo.sum(axis=1).min()), int(term_hi.sum(axis=1).max())
        beat_lo = term_lo.reshape(self._mh, self._sf, self._simd).sum(axis=2)
        beat_hi = term_hi.reshape(self._mh, self._sf, self._simd).sum(axis=2)
        if self._xnor:  # hardware accumulates a = popcount, acc = 2a - MW
            self._a_lo, self._a_hi = 0, self._mw
            self._psum_shape = unsigned(self._simd.bit_length())
        else:
            self._a_lo, self._a_hi = self._acc_lo, self._acc_hi
            self._psum_shape = c.range_shape(int(beat_lo.min()), int(beat_hi.max()))
        self._a_shape = c.range_shape(self._a_lo, self._a_hi)

    def _set_thresholds(self, thresholds, odt):
        if thresholds is None:
            self._thr = None
            acc_bits = max(2, c.range_shape(min(self._acc_lo, -1), self._acc_hi).width)  # INTn has n >= 2
            if odt is not None and odt != INT(acc_bits):
                raise ValueError(f"'odt' must be None or INT{acc_bits} for raw accumulator output, not {odt}")
            if self._out_offset:
                raise ValueError("'out_offset' needs thresholds")
            self._odt = INT(acc_bits)
            return
        thr = th.check_thresholds(thresholds, self._mh)
        if self._xnor:  # acc >= t  <=>  2a - MW >= t  <=>  a >= ceil((t + MW) / 2)
            thr = -((-(thr + self._mw)) // 2)
        self._thr = np.clip(thr, self._a_lo, self._a_hi + 1)
        self._thr_shape = c.range_shape(self._a_lo, self._a_hi + 1)
        self._odt = th.out_dtype(self._out_offset, thr.shape[1], odt)

    # -- cycle and resource model -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(MH, MW)."""
        return self._mh, self._mw

    @property
    def pe(self) -> int:
        return self._pe

    @property
    def simd(self) -> int:
        return self._simd

    @property
    def idt(self):
        return self._idt

    @property
    def wdt(self):
        return self._wdt

    @property
    def odt(self):
        """Output datatype (INTn accumulators when there are no thresholds)."""
        return self._odt

    @property
    def weight_storage(self) -> str:
        """``"rom"`` or ``"hardwired"``: where weights and thresholds live."""
        return self._storage

    @property
    def fused_thresholds(self) -> bool:
        """True for a fully parallel, hard-wired XNOR layer with thresholds: the threshold
        comparisons are folded into the popcount trees (``popcount_thresholds``)."""
        return self._xnor and self._thr is not None and self._storage == "hardwired" and self.ii_cycles == 1

    @property
    def acc_range(self) -> tuple[int, int]:
        """Smallest and largest reachable accumulator (dot product) value over all channels."""
        return self._acc_lo, self._acc_hi

    @property
    def ii_cycles(self) -> int:
        return self._nf * self._sf

    @property
    def latency_cycles(self) -> int:
        return self._sf + _LATENCY_AFTER_LAST_BEAT - 1

    @property
    def queue_depth(self) -> int:
        return 1 + -(-_LATENCY_AFTER_LAST_BEAT // self._sf)

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits`` (see :mod:`hwgen.layers.resource_model`)."""
        return estimate(
            "mvtu",
            family,
            mh=self._mh,
            mw=self._mw,
            pe=self._pe,
            simd=self._simd,
            ibits=self._idt.bits,
            wbits=self._wdt.bits,
            xnor=self._xnor,
            acc_bits=self._a_shape.width,
            n_thresholds=0 if self._thr is None else self._thr.shape[1],
            thr_bits=0 if self._thr is None else self._thr_shape.width,
            obits=self._odt.bits,
            storage=self._storage,
            queue_depth=self.queue_depth,
        )

    # -- tables -----------------------------------------------------------------------------
    def _weight_words(self) -> list[int]:
        codes = self._wdt.encode(self._w).astype(object)
        words = []
        for nf in range(self._nf):
            for sf in range(self._sf):
                word = 0
                blk = codes[nf * self._pe : (nf + 1) * self._pe, sf * self._simd : (sf + 1) * self._simd]
                for k, v in enumerate(blk.reshape(-1)):
                    word |= int(v) << (k * self._wdt.bits)
                words.append(word)
        return words

    # -- hardware ---------------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        pe, simd, nf_n, sf_n = self._pe, self._simd, self._nf, self._sf
        ib, wb = self._idt.bits, self._wdt.bits
        m.submodules.oq = oq_mod = Module()
        oq = c.OutputQueue(oq_mod, self.o, pe * self._odt.bits, self.queue_depth)

        # S0: issue one beat per cycle, (nf, sf) order; stream only during output fold 0.
        nf = Signal(c.idx(nf_n))
        sf = Signal(c.idx(sf_n))
        addr = Signal(c.idx(nf_n * sf_n))
        need_stream = Signal()
        can_issue = Signal()
        issue = Signal()
        m.d.comb += [
            need_stream.eq(nf == 0),
            can_issue.eq((sf != 0) | oq.has_credit),
            self.i.ready.eq(can_issue & need_stream),
            issue.eq(can_issue & (~need_stream | self.i.valid)),
            oq.reserve.eq(issue & (sf == 0)),
        ]
        with m.If(issue):
            m.d.sync += [
                sf.eq(Mux(sf == sf_n - 1, 0, sf + 1)),
                addr.eq(Mux(addr == nf_n * sf_n - 1, 0, addr + 1)),
            ]
            with m.If(sf == sf_n - 1):
                m.d.sync += nf.eq(Mux(nf == nf_n - 1, 0, nf + 1))

        # S1: operands. The input vector is kept for output folds 1.. in a buffer.
        valid1, first1, last1 = Signal(), Signal(), Signal()
        nf1 = Signal(c.idx(nf_n))
        x_in = Signal(simd * ib)
        m.d.sync += [valid1.eq(issue), first1.eq(sf == 0), last1.eq(sf == sf_n - 1), nf1.eq(nf)]
        m.d.sync += x_in.eq(self.i.payload)
        x1 = Signal(simd * ib)
        if nf_n > 1:
            m.submodules.xbuf = xbuf = Memory(shape=unsigned(simd * ib), depth=max(2, sf_n), init=[])
            wr = xbuf.write_port()
            rd = xbuf.read_port()
            from_stream1 = Signal()
            m.d.sync += from_stream1.eq(need_stream)
            m.d.comb += [
                wr.addr.eq(sf),
                wr.data.eq(self.i.payload),
                wr.en.eq(issue & need_stream),
                rd.addr.eq(sf),
                x1.eq(Mux(from_stream1, x_in, rd.data)),
            ]
        else:
            m.d.comb += x1.eq(x_in)
        w1 = th.table(m, "wrom", self._weight_words(), pe * simd * wb, addr, self._storage)

        # S2: per-lane beat sums, registered. A fully parallel XNOR layer with constant thresholds
        # counts the thresholds reached right here, the comparisons folded into the popcount trees.
        valid2, first2, last2 = Signal(), Signal(), Signal()
        nf2 = Signal(c.idx(nf_n))
        m.d.sync += [valid2.eq(valid1), first2.eq(first1), last2.eq(last1), nf2.eq(nf1)]
        fused = self.fused_thresholds
        psum_shape, a_shape = self._psum_shape, self._a_shape
        if fused:
            psum_shape = a_shape = unsigned(self._thr.shape[1].bit_length())
        psum2 = [Signal(psum_shape, name=f"psum2_{p}") for p in range(pe)]
        for p in range(pe):
            wp = w1[p * simd * wb : (p + 1) * simd * wb]
            if fused:
                level = c.popcount_thresholds(m, ~(x1 ^ wp), self._thr[p].tolist(), f"pt{p}")
                m.d.sync += psum2[p].eq(level)
            else:
                m.d.sync += psum2[p].eq(self._beat_sum(m, x1, wp, p))

        # S3: accumulators; thresholds of fold nf read alongside.
        done3 = Signal()
        acc = [Signal(a_shape, name=f"acc_{p}") for p in range(pe)]
        m.d.sync += done3.eq(valid2 & last2)
        with m.If(valid2):
            m.d.sync += [a.eq(Mux(first2, 0, a) + s) for a, s in zip(acc, psum2, strict=True)]
        ob = self._odt.bits
        if fused:
            values = [a + self._out_offset for a in acc]
        elif self._thr is not None:
            n_thr, tshape = self._thr.shape[1], self._thr_shape
            words = th.words(self._thr, pe, tshape.width)
            thr_word = th.table(m, "trom", words, pe * n_thr * tshape.width, nf2, self._storage)
            off = self._out_offset
            values = [th.count(m, acc[p], p, thr_word, n_thr, tshape, "thr") + off for p in range(pe)]
        else:
            values = [(a << 1) - self._mw if self._xnor else a for a in acc]
        outs = [Signal(ob, name=f"out_{p}") for p in range(pe)]
        m.d.comb += [o.eq(v) for o, v in zip(outs, values, strict=True)]
        m.d.comb += [oq.push.eq(done3), oq.data.eq(Cat(*outs))]
        return m

    def _beat_sum(self, m, x, wp, p):
        simd, ib, wb = self._simd, self._idt.bits, self._wdt.bits
        if self._xnor:
            return c.popcount(m, ~(x ^ wp), f"pc{p}")
        xs = [x[j * ib : (j + 1) * ib] for j in range(simd)]
        ws = [wp[j * wb : (j + 1) * wb] for j in range(simd)]
        if BIPOLAR in (self._idt, self._wdt):  # (sign code, value code, value type) per term
            bip_x = self._idt == BIPOLAR
            terms3 = [
                (xe, we, self._wdt) if bip_x else (we, xe, self._idt) for xe, we in zip(xs, ws, strict=True)
            ]
            if simd < TREE_SIGN_SIMD:
                terms = [Mux(s[0], _value(v, dt), -_value(v, dt)) for s, v, dt in terms3]
                return sum(terms[1:], terms[0])
            # +v or -v = (v XOR n) + n with n = 1 for the bipolar code 0 (-1): a carry-in bit per term
            terms = []
            for j, (s, v, dt) in enumerate(terms3):
                neg = Signal(name=f"neg{p}_{j}")
                vv = Signal(signed(dt.bits + (0 if dt.signed else 1)), name=f"v{p}_{j}")
                m.d.comb += [neg.eq(~s[0]), vv.eq(_value(v, dt))]
                terms += [vv ^ neg.replicate(len(vv)).as_signed(), neg]
            return popcount.sum_values(m, terms, f"bs{p}")
        if ib + wb <= TABLE_PRODUCT_BITS:  # products as constant tables, one compressor tree
            ix, iw = self._idt.decode(np.arange(1 << ib)), self._wdt.decode(np.arange(1 << wb))
            prods = np.outer(iw, ix).reshape(-1)  # index = w_code << ib | x_code
            shape = c.range_shape(int(prods.min()), int(prods.max()))
            terms = [
                popcount.lut_function(m, Cat(xe, we), lambda i: int(prods[i]), shape, f"prod{p}_{j}")
                for j, (xe, we) in enumerate(zip(xs, ws, strict=True))
            ]
            return popcount.sum_values(m, terms, f"bs{p}")
        terms = [_value(xe, self._idt) * _value(we, self._wdt) for xe, we in zip(xs, ws, strict=True)]
        return sum(terms[1:], terms[0])


def _value(code, dt):
    """Signed/unsigned Amaranth value of a non-bipolar element code."""
    return code.as_signed() if dt.signed else code
