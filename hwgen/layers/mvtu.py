"""Matrix-vector-threshold unit (MVTU): folded ``y = threshold(W x)`` on streams.

Ports
-----
i : In(stream.Signature(unsigned(SIMD * idt.bits))), ``MW/SIMD`` beats per vector, lane ``j`` of beat ``b``
    = ``x[b*SIMD + j]``; o : Out(stream.Signature(unsigned(PE * odt.bits))), ``MH/PE`` beats per vector,
    lane ``p`` of beat ``f`` = output channel ``f*PE + p``.

Parameters (:meth:`MVTUSpec.create`)
------------------------------------
w : (MH, MW) weight values (bipolar as -1/+1); idt, wdt : DataTypes (BIPOLAR x BIPOLAR: XNOR-popcount,
    dot = 2·P − MW; other mixes multiply-accumulate, :mod:`hwgen.layers.mac`); pe, simd : lanes.
thresholds : None (raw accumulators out) or (MH or 1, T) ascending; output =
    ``out_offset + #{t : acc >= thr[c, t]}`` (:func:`hwgen.golden.ops.multithreshold`); odt : optional.
weights : "auto" | "rom" | "hardwired" — tables in ``Memory`` ROMs or constants (auto: constants when
    fully parallel). A fully parallel hard-wired XNOR layer folds its threshold comparisons into the
    popcount trees (``fused_thresholds``).
pad_rows, pad_cols : None, or the padding lanes of the OH·OW input windows (bipolar inputs), which count 0
    (:mod:`hwgen.layers.pad_mask`); an XNOR layer then accumulates ``2·P + M`` per beat (P unmasked
    matches, M masked lanes): dot = acc − MW (:func:`hwgen.layers.mac.beat_sum`).

Cycle model
-----------
The input vector is buffered while output fold 0 runs and reused for the others, one beat issued per cycle:
``ii_cycles = (MH/PE)·(MW/SIMD)``, ``latency_cycles = MW/SIMD + 3 + pipeline``, two more at pipeline 3
and one more for a weight ROM read in banks. The input is taken in bursts
(MW/SIMD beats during fold 0, then none): a steady producer upstream needs a FIFO in between
(``tests/layers/test_chain.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod
from typing import ClassVar

import numpy as np
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import BIPOLAR, DataType
from hwgen.layers import _common as c
from hwgen.layers import _thresholds as th
from hwgen.layers import mac, pad_mask, resource_model
from hwgen.layers.spec import LayerSpec

__all__ = ["MVTU", "MVTUSpec"]

#: Pipeline stages from issuing the last beat of an output fold to its output beat in the queue:
#: operand read, lane sums, accumulate, threshold into the output queue; ``pipeline`` adds more.
LATENCY_AFTER_LAST_BEAT = 4
#: ``pipeline`` settings: 0; 1 registers the operands (input and weight ROM word, through the ROM's own
#: output register where the family has one) before the lane sums, and reads each threshold word a cycle
#: early into a register; 2 also cuts the lane-sum compressor trees in the middle with a register stage;
#: 3 cuts them in three (for LUT4 families, where a tree level costs most), cuts each threshold comparison
#: in two register stages and registers the output beat before the output queue.
PIPELINE_STAGES = (0, 1, 2, 3)


@dataclass(frozen=True, eq=False, kw_only=True)
class MVTUSpec(LayerSpec):
    """Parameters, cycle and resource model of a matrix-vector-threshold unit (see the module docstring).
    Build with :meth:`create` or :meth:`from_node`; :meth:`with_lanes` is cheap (weights read once)."""

    kind: ClassVar[str] = "MVTU"
    options: ClassVar[tuple[str, ...]] = ("pe", "simd")
    budgeted: ClassVar[bool] = True
    pipeline_options: ClassVar[tuple[int, ...]] = PIPELINE_STAGES

    weights: np.ndarray
    idt: DataType
    wdt: DataType
    thresholds: np.ndarray | None = None
    out_offset: int = 0
    out_dtype: DataType | None = None  # as requested; ``odt`` is the checked/derived one
    pe: int = 1
    simd: int = 1
    weight_mode: str = "auto"  # "auto" | "rom" | "hardwired"
    vectors: int = 1  # input vectors per frame
    pipeline: int = 0  # extra register stages, see PIPELINE_STAGES
    acc_lo: int = 0
    acc_hi: int = 0
    pad_rows: np.ndarray | None = None
    pad_cols: np.ndarray | None = None

    @classmethod
    def create(
        cls, w, *, idt, wdt, pe=1, simd=1, thresholds=None, out_offset=0, odt=None, weights="auto",
        vectors=1, pipeline=0, pad_rows=None, pad_cols=None, name="",
    ) -> MVTUSpec:  # fmt: skip
        """A validated spec; TypeError / ValueError naming the parameter otherwise."""
        w = c.int_array("w", w, 2)
        mh, mw = w.shape
        if mh < 1 or mw < 1:
            raise ValueError(f"'w' must be non-empty, not shape {w.shape}")
        idt = c.check_dtype("idt", idt)
        wdt = c.check_dtype("wdt", wdt)
        if not wdt.allowed(w):
            raise ValueError(f"'w' holds values outside {wdt}")
        c.check_fold("pe", pe, mh, "MH")
        c.check_fold("simd", simd, mw, "MW")
        if weights not in ("auto", "rom", "hardwired"):
            raise ValueError(f"'weights' must be 'auto', 'rom' or 'hardwired', not {weights!r}")
        out_offset = c.check_int("out_offset", out_offset, minimum=-(1 << 62))
        if thresholds is not None:
            thresholds = th.check_thresholds(thresholds, mh)
        elif out_offset:
            raise ValueError("'out_offset' needs thresholds")
        if odt is not None:
            c.check_dtype("odt", odt)
        if pipeline not in PIPELINE_STAGES:
            raise ValueError(f"'pipeline' must be one of {PIPELINE_STAGES}, not {pipeline!r}")
        lo, hi = mac.sum_range(w, idt)
        vectors = c.check_int("vectors", vectors)
        if pad_rows is not None or pad_cols is not None:
            pad_rows, pad_cols = pad_mask.check_tables(pad_rows, pad_cols, idt, mw, vectors)
        spec = cls(
            weights=w, idt=idt, wdt=wdt, thresholds=thresholds, out_offset=out_offset, out_dtype=odt,
            pe=pe, simd=simd, weight_mode=weights, vectors=vectors, pipeline=pipeline, acc_lo=lo, acc_hi=hi,
            pad_rows=pad_rows, pad_cols=pad_cols, name=name,
        )  # fmt: skip
        spec.odt  # noqa: B018 - checks the output datatype now
        return spec

    @classmethod
    def from_node(cls, node, pe: int = 1, simd: int = 1) -> MVTUSpec:
        a = node.attrs
        thr = a["thresholds"]
        return cls.create(
            a["weights"], idt=a["in_dtype"], wdt=a["w_dtype"], pe=pe, simd=simd, thresholds=thr,
            out_offset=a["out_offset"] if thr is not None else 0, odt=a["out_dtype"],
            vectors=prod(a["in_shape"]) // a["weights"].shape[1], pad_rows=a.get("pad_rows"),
            pad_cols=a.get("pad_cols"), name=node.name,
        )  # fmt: skip

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        return {"pe": (self.mh, "MH"), "simd": (self.mw, "MW")}

    # -- derived facts ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(MH, MW)."""
        return self.weights.shape

    @property
    def mh(self) -> int:
        return self.weights.shape[0]

    @property
    def mw(self) -> int:
        return self.weights.shape[1]

    @property
    def nf(self) -> int:
        """Output folds MH/PE."""
        return self.mh // self.pe

    @property
    def sf(self) -> int:
        """Input folds MW/SIMD."""
        return self.mw // self.simd

    @property
    def mac(self) -> str:
        """Lane-group architecture (:func:`hwgen.layers.mac.mac_kind`)."""
        return mac.mac_kind(self.idt, self.wdt, self.simd)

    @property
    def xnor(self) -> bool:
        return self.idt == BIPOLAR and self.wdt == BIPOLAR

    @property
    def padded(self) -> str:
        """Masking the padding lanes of its windows: ``"beat"`` (one mask bit per beat) or ``"lane"``,
        else ``""`` (:func:`hwgen.layers.pad_mask.kind`)."""
        return pad_mask.kind(self.pad_rows, self.pad_cols, self.mw, self.simd)

    @property
    def storage(self) -> str:
        """``"rom"`` or ``"hardwired"``: constants when fully parallel unless asked otherwise."""
        if self.weight_mode == "auto":
            return "hardwired" if self.nf * self.sf == 1 else "rom"
        return self.weight_mode

    @property
    def acc_domain(self) -> tuple[int, int]:
        """Range of the hardware accumulator: the popcount ``0..MW`` (XNOR), ``2·P + M`` in ``0..2·MW``
        (padded XNOR), or the dot product."""
        if self.xnor:
            return (0, 2 * self.mw) if self.padded else (0, self.mw)
        return (self.acc_lo, self.acc_hi)

    @property
    def n_thresholds(self) -> int:
        return 0 if self.thresholds is None else self.thresholds.shape[1]

    @property
    def thr_shape(self):
        lo, hi = self.acc_domain
        return c.range_shape(lo, hi + 1)

    @cached_property
    def odt(self) -> DataType:
        """Output datatype: the thresholds' output range, or the raw accumulator type."""
        if self.thresholds is None:
            return th.raw_dtype(self.out_dtype, self.acc_lo, self.acc_hi)
        return th.out_dtype(self.out_offset, self.n_thresholds, self.out_dtype)

    @property
    def fused_thresholds(self) -> bool:
        """True for a fully parallel, hard-wired XNOR layer with thresholds: the comparisons are folded
        into the popcount trees (``popcount_thresholds``)."""
        one_beat = self.nf * self.sf == 1
        fixed = self.xnor and not self.padded and self.thresholds is not None
        return fixed and self.storage == "hardwired" and one_beat

    def table_thresholds(self) -> np.ndarray:
        """(MH, T) thresholds in the accumulator's domain, clipped to it: what the hardware compares with."""
        thr = self.thresholds
        if self.xnor and self.padded:  # acc >= t  <=>  a - MW >= t
            thr = thr + self.mw
        elif self.xnor:
            thr = th.popcount_thresholds(thr, self.mw)
        lo, hi = self.acc_domain
        return np.clip(thr, lo, hi + 1)

    # -- streams and cycle model ------------------------------------------------------------------
    @property
    def in_lanes(self) -> int:
        return self.simd

    @property
    def out_lanes(self) -> int:
        return self.pe

    @property
    def in_elems(self) -> int:
        return self.mw * self.vectors

    @property
    def out_elems(self) -> int:
        return self.mh * self.vectors

    @property
    def ii_vector(self) -> int:
        """Cycles per input vector: (MH/PE)·(MW/SIMD)."""
        return self.nf * self.sf

    @property
    def cycles(self) -> int:
        return self.ii_vector * self.vectors

    @property
    def banked(self) -> int:
        """Cycles the weight ROM's bank multiplexers add when it is deeper than one block RAM and read
        through registered banks (pipeline >= 1): :func:`hwgen.layers._thresholds.bank_stages`."""
        width, depth = self.pe * self.simd * self.wdt.bits, self.nf * self.sf
        return th.bank_stages(width, depth, self.storage) if self.pipeline >= 1 else 0

    @property
    def after_issue(self) -> int:
        """Cycles from issuing the last beat of an output fold to its output beat in the queue."""
        return LATENCY_AFTER_LAST_BEAT + self.pipeline + self.banked + 2 * self.out_registered

    @property
    def out_registered(self) -> bool:
        """Pipeline 3: the threshold comparisons are cut in two register stages
        (:func:`hwgen.layers._thresholds.ge_staged`) and the output beat is registered before the queue."""
        return self.pipeline >= 3

    @property
    def latency(self) -> int:
        return self.sf + self.after_issue - 1

    @property
    def queue_depth(self) -> int:
        return 1 + -(-self.after_issue // self.sf)

    def output_times(self, arrivals: list[int]) -> list[int]:
        """Output fold 0 issues a beat as each input beat arrives; folds 1.. reuse the buffered vector."""
        nf, sf = self.nf, self.sf
        out, t = [], -1
        for v in range(len(arrivals) // sf):
            for f in range(nf):
                for b in range(sf):
                    t = max(t + 1, arrivals[v * sf + b]) if f == 0 else t + 1
                out.append(t + self.after_issue)
        return out

    def resources(self, family: str = "xc7") -> dict:
        thr_bits = self.thr_shape.width if self.thresholds is not None else 0
        return resource_model.estimate(
            self.kind, family, mh=self.mh, mw=self.mw, pe=self.pe, simd=self.simd, ibits=self.idt.bits,
            wbits=self.wdt.bits, mac=self.mac, acc_bits=c.range_shape(*self.acc_domain).width,
            n_thresholds=self.n_thresholds, thr_bits=thr_bits, obits=self.odt.bits, storage=self.storage,
            queue_depth=self.queue_depth, padded=self.padded,
        )  # fmt: skip

    def component(self) -> MVTU:
        return MVTU(spec=self)

    # -- tables -----------------------------------------------------------------------------------
    def weight_words(self, lanes=None) -> list[int]:
        """One ROM word per (output fold, input fold): lane ``p`` element ``j`` at ``p·SIMD + j``
        (of ``lanes`` only, if given)."""
        blocks = self.weights.reshape(self.nf, self.pe, self.sf, self.simd).transpose(0, 2, 1, 3)
        if lanes is not None:
            blocks = blocks[:, :, list(lanes), :]
        return self.wdt.pack(blocks, blocks.shape[2] * self.simd)


class MVTU(c.LayerComponent):
    """Folded matrix-vector(-threshold) unit; see the module docstring for ports and cycle model."""

    make_spec = staticmethod(MVTUSpec.create)

    def __init__(self, *args, **params):
        s = self.spec
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(s.simd * s.idt.bits))),
                "o": Out(stream.Signature(unsigned(s.pe * s.odt.bits))),
            }
        )

    @property
    def ii_cycles(self) -> int:
        """Cycles per input vector."""
        return self.spec.ii_vector

    # -- hardware ---------------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        s = self.spec
        pe, simd, nf_n, sf_n = s.pe, s.simd, s.nf, s.sf
        wb = s.wdt.bits
        oq = c.output_queue(m, self.o, pe * s.odt.bits, s.queue_depth)

        # S0: issue one beat per cycle, (nf, sf) order; stream only during output fold 0.
        issue, (sf, sf_first, sf_last), (nf, need_stream, nf_wrap) = c.issue_folds(m, self.i, oq, sf_n, nf_n)
        addr = Signal(c.idx(nf_n * sf_n))
        with m.If(issue):
            m.d.sync += addr.eq(c.incr_wrap(addr, nf_n * sf_n))

        # S1: operands. The input vector is kept for output folds 1.. in a buffer (_common.vector_buffer).
        valid1, first1, last1, nf1 = Signal(), Signal(), Signal(), Signal(c.idx(nf_n))
        m.d.sync += [valid1.eq(issue), first1.eq(sf_first), last1.eq(sf_last), nf1.eq(nf)]
        x1 = c.vector_buffer(m, self.i.payload, sf, sf_n, nf_n > 1, issue, need_stream)
        mask1 = None  # the padding lanes of this beat's window, alongside the operands
        if s.padded:
            mask1 = c.delay(
                m, pad_mask.lane_mask(m, s.pad_rows, s.pad_cols, s.mw, simd, sf, nf_wrap), "mask1"
            )
        staged = s.pipeline >= 1  # operand registers between the ROM / input buffer and the lane sums
        w1 = th.lane_tables(
            m, "wrom", s.weight_words, pe, simd * wb, addr, nf_n * sf_n, issue, s.storage, staged
        )
        ctrl1 = (valid1, first1, last1, nf1)
        for k in range(staged + s.banked):  # as many stages as the weight word takes after the ROM read
            x1 = c.delay(m, x1, f"x1p{k}", reset_less=True)
            ctrl1 = c.delay_all(m, ctrl1, f"p{k}")
            mask1 = None if mask1 is None else c.delay(m, mask1, f"mask1p{k}", reset_less=True)
        cut = max(0, s.pipeline - 1)  # register stages inside the lane-sum trees
        for k in range(cut):  # the lane sums arrive that much later: so does their control
            ctrl1 = c.delay_all(m, ctrl1, f"cut{k}")

        # S2: per-lane beat sums, registered. A fully parallel XNOR layer with constant thresholds
        # counts the thresholds reached right here, the comparisons folded into the popcount trees.
        valid2, first2, last2, nf2 = c.delay_all(m, ctrl1, "s2")
        fused = s.fused_thresholds
        thr = s.table_thresholds() if s.thresholds is not None else None
        w_lanes = data.View(data.ArrayLayout(simd * wb, pe), w1)
        psum2 = mac.lane_sums(m, s, x1, list(w_lanes), thr if fused else None, cut, mask1)
        a_shape = psum2[0].shape() if fused else c.range_shape(*s.acc_domain)

        # S3: accumulators; thresholds of fold nf read alongside.
        acc, done3 = c.accumulators(m, valid2, first2, last2, psum2, a_shape)
        ob = s.odt.bits
        if fused:
            values = [a + s.out_offset for a in acc]
        elif thr is not None:  # staged: the word read a cycle early, so no ROM read precedes a comparison
            t_addr = ctrl1[3] if staged else nf2
            values = th.levels(
                m, acc, thr, s.thr_shape, t_addr, s.storage, s.out_offset, registered=staged,
                staged=s.out_registered,
            )  # fmt: skip
        else:
            values = [a - s.mw if s.padded else (a << 1) - s.mw for a in acc] if s.xnor else acc
        # pipeline 3: the comparisons' stage (for other outputs a plain register), then an output register
        staged_thr = s.out_registered and thr is not None and not fused
        c.push_outputs(m, oq, done3, values, ob, 2 * s.out_registered, computed=staged_thr)
        return m
