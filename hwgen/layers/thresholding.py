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
from hwgen.layers import resource_model
from hwgen.layers.spec import LayerSpec, steady_times

__all__ = ["Thresholding", "ThresholdingSpec"]

#: Threshold read, compare into the output queue.
LATENCY = 2


@dataclass(frozen=True, eq=False, kw_only=True)
class ThresholdingSpec(LayerSpec):
    """Parameters, cycle and resource model of the standalone thresholding unit."""

    kind: ClassVar[str] = "Thresholding"
    options: ClassVar[tuple[str, ...]] = ("pe",)

    channels: int
    idt: DataType
    thresholds: np.ndarray  # (C, T), ascending, in the input's value domain
    out_offset: int = 0
    out_dtype: DataType | None = None
    pe: int = 1
    storage_mode: str = "auto"
    pixels: int = 1  # channel vectors per frame

    @classmethod
    def create(
        cls, channels, *, pe=1, idt, thresholds, out_offset=0, odt=None, storage="auto", pixels=1, name=""
    ) -> ThresholdingSpec:
        channels = c.check_int("channels", channels)
        c.check_fold("pe", pe, channels, "channels")
        idt = c.check_dtype("idt", idt)
        if storage not in ("auto", "rom", "hardwired"):
            raise ValueError(f"'storage' must be 'auto', 'rom' or 'hardwired', not {storage!r}")
        out_offset = c.check_int("out_offset", out_offset, minimum=-(1 << 62))
        thr = th.check_thresholds(thresholds, channels)
        spec = cls(
            channels=channels, idt=idt, thresholds=thr, out_offset=out_offset,
            out_dtype=None if odt is None else c.check_dtype("odt", odt), pe=pe, storage_mode=storage,
            pixels=c.check_int("pixels", pixels), name=name,
        )  # fmt: skip
        spec.odt  # noqa: B018 - checks the output datatype now
        return spec

    @classmethod
    def from_node(cls, node, pe: int = 1) -> ThresholdingSpec:
        a = node.attrs
        channels = a["in_shape"][-1]
        return cls.create(
            channels,
            pe=pe,
            idt=a["in_dtype"],
            thresholds=a["thresholds"],
            out_offset=a["out_offset"],
            odt=a["out_dtype"],
            pixels=prod(a["in_shape"]) // channels,
            name=node.name,
        )

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        return {"pe": (self.channels, "channels")}

    @property
    def folds(self) -> int:
        return self.channels // self.pe

    @property
    def storage(self) -> str:
        if self.storage_mode == "auto":
            return "hardwired" if self.folds == 1 else "rom"
        return self.storage_mode

    @cached_property
    def odt(self) -> DataType:
        return th.out_dtype(self.out_offset, self.thresholds.shape[1], self.out_dtype)

    @property
    def value_range(self) -> tuple[int, int]:
        """Range of the compared value: the input's, or the bit 0..1 of a BIPOLAR input."""
        return (0, 1) if self.idt == BIPOLAR else (self.idt.min, self.idt.max)

    @property
    def thr_shape(self):
        lo, hi = self.value_range
        return c.range_shape(lo, hi + 1)

    def table_thresholds(self) -> np.ndarray:
        """(C, T) thresholds as the hardware compares them, clipped to the value range."""
        thr = self.thresholds
        if self.idt == BIPOLAR:  # compare the bit b (value 2b - 1): 2b - 1 >= t  <=>  b >= ceil((t + 1) / 2)
            thr = -((-(thr + 1)) // 2)
        lo, hi = self.value_range
        return np.clip(thr, lo, hi + 1)

    @property
    def in_lanes(self) -> int:
        return self.pe

    @property
    def out_lanes(self) -> int:
        return self.pe

    @property
    def in_elems(self) -> int:
        return self.channels * self.pixels

    @property
    def out_elems(self) -> int:
        return self.channels * self.pixels

    @property
    def cycles(self) -> int:
        return self.folds * self.pixels

    @property
    def latency(self) -> int:
        return LATENCY

    def output_times(self, arrivals: list[int]) -> list[int]:
        return steady_times(arrivals, LATENCY)

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(
            self.kind,
            family,
            channels=self.channels,
            pe=self.pe,
            ibits=self.idt.bits,
            n_thresholds=self.thresholds.shape[1],
            thr_bits=self.thr_shape.width,
            obits=self.odt.bits,
            storage=self.storage,
        )

    def component(self) -> Thresholding:
        return Thresholding(spec=self)


class Thresholding(c.LayerComponent):
    """Per-channel multi-threshold of a folded stream; see the module docstring."""

    make_spec = staticmethod(ThresholdingSpec.create)

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
        pe, ib, tshape = s.pe, s.idt.bits, s.thr_shape
        oq = c.output_queue(m, self.o, pe * s.odt.bits, 3)

        fold = Signal(c.idx(s.folds))
        take = Signal()
        m.d.comb += [
            self.i.ready.eq(oq.has_credit),
            take.eq(self.i.valid & self.i.ready),
            oq.reserve.eq(take),
        ]
        with m.If(take):
            m.d.sync += fold.eq(c.incr_wrap(fold, s.folds))

        valid1 = Signal()
        x1 = Signal(data.ArrayLayout(ib, pe))
        m.d.sync += [valid1.eq(take), x1.eq(self.i.payload)]
        xs = [x1[p].as_signed() if s.idt.signed and s.idt != BIPOLAR else x1[p] for p in range(pe)]
        values = th.levels(m, xs, s.table_thresholds(), tshape, fold, s.storage, s.out_offset)
        c.push_outputs(m, oq, valid1, values, s.odt.bits)
        return m
