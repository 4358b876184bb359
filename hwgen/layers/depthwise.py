"""Depthwise convolution (vector-vector-threshold unit): ``y[c] = threshold(Σ_t w[c, t] · window[t, c])``.

Every channel ``c`` has its own ``kh·kw`` weights and sees only its own channel of each window
(ONNX ``Conv`` with ``group`` = channels; average pooling is the same with every weight 1). The layer
holds its own sliding-window generator in depthwise order (:mod:`hwgen.layers.sliding_window`): for each
output pixel, channel fold by channel fold, the fold's ``kh·kw`` taps in a row, ``PE`` channels per beat,
so that the vector-vector unit behind it accumulates ``PE`` independent channels over ``kh·kw``
consecutive beats and never needs a buffer of partial sums. One hardware layer per network layer: the
generator and the unit are folded together (one option, ``pe``), and no width converter can come between
them.

Ports
-----
i : In(stream.Signature(unsigned(PE * idt.bits))), the image: ``H·W·C/PE`` beats, pixel (y, x) channel
    fold ``f`` at ``(y·W + x)·C/PE + f``, lane ``p`` = channel ``f·PE + p``.
o : Out(stream.Signature(unsigned(PE * odt.bits))), the output image in the same order, ``OH·OW·C/PE`` beats.

Parameters (:meth:`DepthwiseSpec.create`)
-----------------------------------------
height, width, channels : the input image; k : int or (kh, kw); stride; pad (every border) with
pad_value (a value of ``idt``); w : (C, kh·kw) weight values, tap order (ky, kx); idt, wdt : DataTypes
(BIPOLAR x BIPOLAR: XNOR, dot = 2·P − kh·kw); thresholds : None (raw dot products out) or (C or 1, T)
ascending, output ``out_offset + #{t : acc >= thr[c, t]}``; odt : optional; pe : channels per beat.

Cycle model
-----------
The window generator emits ``OH·OW·kh·kw·C/PE`` beats per frame and the unit takes one per cycle:
``ii_cycles`` = the generator's (:class:`~hwgen.layers.sliding_window.SlidingWindowSpec`);
an output beat leaves :data:`LATENCY_AFTER_LAST_TAP` cycles after the last tap of its fold.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import BIPOLAR, DataType
from hwgen.layers import _common as c
from hwgen.layers import _thresholds as th
from hwgen.layers import mac, resource_model
from hwgen.layers.sliding_window import SlidingWindowSpec
from hwgen.layers.spec import LayerSpec

__all__ = ["Depthwise", "DepthwiseSpec"]

#: Issue, operands (weight ROM word), lane products, accumulate, threshold into the output queue.
LATENCY_AFTER_LAST_TAP = 4


@dataclass(frozen=True, eq=False, kw_only=True)
class DepthwiseSpec(LayerSpec):
    """Parameters, cycle and resource model of a depthwise convolution (see the module docstring)."""

    kind: ClassVar[str] = "DepthwiseConv"
    options: ClassVar[tuple[str, ...]] = ("pe",)

    window: SlidingWindowSpec  # the generator inside, simd = pe, depthwise order
    weights: np.ndarray  # (C, K)
    idt: DataType
    wdt: DataType
    thresholds: np.ndarray | None = None
    out_offset: int = 0
    out_dtype: DataType | None = None
    pe: int = 1
    acc_lo: int = 0
    acc_hi: int = 0

    @classmethod
    def create(
        cls, height, width, channels, *, k, w, idt, wdt, stride=1, pad=0, pad_value=0, pe=1, thresholds=None,
        out_offset=0, odt=None, name="",
    ) -> DepthwiseSpec:  # fmt: skip
        """A validated spec; TypeError / ValueError naming the parameter otherwise."""
        idt, wdt = c.check_dtype("idt", idt), c.check_dtype("wdt", wdt)
        if pad and idt == BIPOLAR:
            raise ValueError("padding a bipolar input: no value of BIPOLAR is 0")
        window = SlidingWindowSpec.create(
            height, width, channels, k=k, stride=stride, pad=pad, pad_value=pad_value, simd=pe, dtype=idt,
            depthwise=True, name=name,
        )  # fmt: skip
        w = c.int_array("w", w, 2)
        taps = window.kh * window.kw
        if w.shape != (window.channels, taps):
            raise ValueError(
                f"'w' must have shape ({window.channels}, {taps}) (channels, taps), not {w.shape}"
            )
        if not wdt.allowed(w):
            raise ValueError(f"'w' holds values outside {wdt}")
        out_offset = c.check_int("out_offset", out_offset, minimum=-(1 << 62))
        if thresholds is not None:
            thresholds = th.check_thresholds(thresholds, window.channels)
        elif out_offset:
            raise ValueError("'out_offset' needs thresholds")
        lo, hi = mac.sum_range(w, idt)
        odt = None if odt is None else c.check_dtype("odt", odt)
        spec = cls(
            window=window, weights=w, idt=idt, wdt=wdt, thresholds=thresholds, out_offset=out_offset,
            out_dtype=odt, pe=pe, acc_lo=lo, acc_hi=hi, name=name,
        )  # fmt: skip
        spec.odt  # noqa: B018 - checks the output datatype now
        return spec

    @classmethod
    def from_node(cls, node, pe: int = 1) -> DepthwiseSpec:
        a = node.attrs
        (h, w), ch = a["ifm_dim"], a["channels"]
        thr = a["thresholds"]
        return cls.create(
            h, w, ch, k=a["k"], w=a["weights"], idt=a["in_dtype"], wdt=a["w_dtype"], stride=a["stride"],
            pad=a["pad"], pad_value=a["pad_value"], pe=pe, thresholds=thr,
            out_offset=a["out_offset"] if thr is not None else 0, odt=a["out_dtype"], name=node.name,
        )  # fmt: skip

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        return {"pe": (self.channels, "channels")}

    def with_lanes(self, **lanes) -> DepthwiseSpec:
        spec = super().with_lanes(**lanes)
        return dataclasses.replace(spec, window=dataclasses.replace(spec.window, simd=spec.pe))

    # -- derived facts ----------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        return self.window.channels

    @property
    def taps(self) -> int:
        return self.window.kh * self.window.kw

    @property
    def cf(self) -> int:
        """Channel folds C/PE."""
        return self.channels // self.pe

    @property
    def mac(self) -> str:
        return mac.mac_kind(self.idt, self.wdt, 1)

    @property
    def xnor(self) -> bool:
        return self.mac == "xnor"

    @property
    def storage(self) -> str:
        return "rom"

    @property
    def acc_domain(self) -> tuple[int, int]:
        """The accumulator: the matches P in ``0..kh·kw`` (XNOR) or the dot product."""
        return (0, self.taps) if self.xnor else (self.acc_lo, self.acc_hi)

    @property
    def n_thresholds(self) -> int:
        return 0 if self.thresholds is None else self.thresholds.shape[1]

    @property
    def thr_shape(self):
        lo, hi = self.acc_domain
        return c.range_shape(lo, hi + 1)

    @cached_property
    def odt(self) -> DataType:
        if self.thresholds is None:
            return th.raw_dtype(self.out_dtype, self.acc_lo, self.acc_hi)
        return th.out_dtype(self.out_offset, self.n_thresholds, self.out_dtype)

    def table_thresholds(self) -> np.ndarray:
        """(C, T) thresholds in the accumulator's domain, clipped to it."""
        thr = np.broadcast_to(self.thresholds, (self.channels, self.n_thresholds))
        if self.xnor:
            thr = th.popcount_thresholds(thr, self.taps)
        lo, hi = self.acc_domain
        return np.clip(thr, lo, hi + 1)

    # -- streams and cycle model ------------------------------------------------------------------
    @property
    def in_lanes(self) -> int:
        return self.pe

    @property
    def out_lanes(self) -> int:
        return self.pe

    @property
    def in_elems(self) -> int:
        return self.window.in_elems

    @property
    def out_elems(self) -> int:
        return self.window.oh * self.window.ow * self.channels

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.window.oh, self.window.ow, self.channels

    @property
    def cycles(self) -> int:
        return self.window.cycles

    @property
    def queue_depth(self) -> int:
        return 1 + -(-LATENCY_AFTER_LAST_TAP // self.taps)

    def output_times(self, arrivals: list[int]) -> list[int]:
        """The generator's beats, one taken per cycle; a fold's output after its last tap."""
        out, t = [], -1
        for b, x in enumerate(self.window.output_times(arrivals)):
            t = max(t + 1, x)
            if b % self.taps == self.taps - 1:
                out.append(t + LATENCY_AFTER_LAST_TAP)
        return out

    def resources(self, family: str = "xc7") -> dict:
        thr_bits = self.thr_shape.width if self.thresholds is not None else 0
        return resource_model.estimate(
            self.kind, family, mh=self.channels, mw=self.taps, pe=self.pe, simd=1, ibits=self.idt.bits,
            wbits=self.wdt.bits, mac=self.mac, acc_bits=c.range_shape(*self.acc_domain).width,
            n_thresholds=self.n_thresholds, thr_bits=thr_bits, obits=self.odt.bits, storage="rom",
            queue_depth=self.queue_depth, ones=bool(np.all(self.weights == 1)),
            window=self.window.resource_params(),
        )  # fmt: skip

    def component(self) -> Depthwise:
        return Depthwise(spec=self)

    # -- tables -----------------------------------------------------------------------------------
    def weight_words(self) -> list[int]:
        """One ROM word per (channel fold, tap): lane ``p`` at bits ``p·wbits``."""
        blocks = self.weights.reshape(self.cf, self.pe, self.taps).transpose(0, 2, 1)
        return self.wdt.pack(blocks, self.pe)


class Depthwise(c.LayerComponent):
    """Depthwise convolution: window generator + vector-vector-threshold unit; see the module docstring."""

    make_spec = staticmethod(DepthwiseSpec.create)

    def __init__(self, *args, **params):
        s = self.spec
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(s.pe * s.idt.bits))),
                "o": Out(stream.Signature(unsigned(s.pe * s.odt.bits))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        s = self.spec
        pe, taps, cf_n = s.pe, s.taps, s.cf
        m.submodules.window = win = s.window.component()
        wiring.connect(m, wiring.flipped(self.i), win.i)
        oq = c.output_queue(m, self.o, pe * s.odt.bits, s.queue_depth)

        # S0: take one window beat per cycle; the output queue is reserved at a fold's first tap.
        issue = Signal()
        tap, tap_first, tap_last, tap_wrap = c.fold_counter(m, taps, issue, "tap")
        cf, _, _, _ = c.fold_counter(m, cf_n, tap_wrap, "cf")
        addr = Signal(c.idx(cf_n * taps))
        can_issue = Signal()
        m.d.comb += [
            can_issue.eq(~tap_first | oq.has_credit),
            win.o.ready.eq(can_issue),
            issue.eq(can_issue & win.o.valid),
            oq.reserve.eq(issue & tap_first),
        ]
        with m.If(issue):
            m.d.sync += addr.eq(c.incr_wrap(addr, cf_n * taps))

        # S1: the beat and its weight word.
        valid1, first1, last1, cf1 = Signal(), Signal(), Signal(), Signal(c.idx(cf_n))
        x1 = Signal(pe * s.idt.bits, name="x1")
        m.d.sync += [
            valid1.eq(issue),
            first1.eq(tap_first),
            last1.eq(tap_last),
            cf1.eq(cf),
            x1.eq(win.o.payload),
        ]
        w1 = th.table(m, "wrom", s.weight_words(), pe * s.wdt.bits, addr, "rom")

        # S2: one product per lane, registered.
        valid2, first2, last2, cf2 = Signal(), Signal(), Signal(), Signal(c.idx(cf_n))
        m.d.sync += [valid2.eq(valid1), first2.eq(first1), last2.eq(last1), cf2.eq(cf1)]
        xs = data.View(data.ArrayLayout(s.idt.bits, pe), x1)
        ws = data.View(data.ArrayLayout(s.wdt.bits, pe), w1)
        prod_shape = unsigned(1) if s.xnor else c.range_shape(*mac.sum_range(s.weights, s.idt, 1))
        prods = [Signal(prod_shape, name=f"prod2_{p}") for p in range(pe)]
        for p in range(pe):
            term = mac.beat_sum(m, s.mac, xs[p], ws[p], s.idt, s.wdt, 1, f"lane{p}")
            m.d.sync += prods[p].eq(term)

        # S3: accumulators; the fold's thresholds read alongside.
        acc, done3 = c.accumulators(m, valid2, first2, last2, prods, c.range_shape(*s.acc_domain))
        if s.thresholds is not None:
            values = th.levels(m, acc, s.table_thresholds(), s.thr_shape, cf2, "rom", s.out_offset)
        else:
            values = [(a << 1) - taps if s.xnor else a for a in acc]
        c.push_outputs(m, oq, done3, values, s.odt.bits)
        return m
