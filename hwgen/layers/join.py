"""Layers with two or more input streams: the residual add and the channel concatenation.

Ports
-----
i0, i1, ... : In(stream.Signature(unsigned(SIMD * in_dtypes[k].bits)))
    Input ``k``: NHWC, channels fastest, ``SIMD`` channels per beat.
o : Out(stream.Signature(unsigned(SIMD * out_dtype.bits)))

``AddStreams``: every input has ``C`` channels; output element = ``Σ_k muls[k] · x_k`` (ops.add_streams).
One beat is taken from every input at once.
``ConcatStreams``: input ``k`` has ``C_k`` channels; per pixel the output sends ``C_0/SIMD`` beats taken from
input 0, then ``C_1/SIMD`` from input 1, ..., each element times ``muls[k]`` (ops.concat_channels).

Elements are integer values in their datatype's encoding (:mod:`hwgen.ir.datatypes`; a BIPOLAR bit ``b``
is the value ``2b - 1``) and are re-encoded in ``out_dtype``.

Cycle model
-----------
One output beat per cycle: ``ii_cycles`` = output beats per frame; ``latency_cycles = 2`` (input register,
add or select into the output queue). Ready of input ``k`` is the other inputs' valid (AddStreams) or the
registered port selection (ConcatStreams), and the output queue's registered credit: never ``o.ready``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import ClassVar

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import BIPOLAR, DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.spec import LayerSpec

__all__ = ["AddStreams", "AddStreamsSpec", "ConcatStreams", "ConcatStreamsSpec", "JoinSpec"]

#: Input register, then add (or select) into the output queue.
LATENCY = 2


def _value(m: Module, raw, dt: DataType, mul: int, name: str):
    """The integer value of element ``raw`` (encoded in ``dt``) times ``mul``, as a signed signal."""
    if dt == BIPOLAR:
        v = raw.as_unsigned() * 2 - 1
    elif dt.signed:
        v = raw.as_signed()
    else:
        v = raw.as_unsigned()
    lo, hi = sorted((dt.min * mul, dt.max * mul))
    out = Signal(c.range_shape(min(lo, 0), max(hi, 0)), name=name)
    m.d.comb += out.eq(v * mul)
    return out


def _encode(value, dt: DataType):
    """An integer value in ``dt``'s encoding (BIPOLAR: the bit of ``value > 0``)."""
    return (value > 0) if dt == BIPOLAR else value[: dt.bits]


@dataclass(frozen=True, eq=False, kw_only=True)
class JoinSpec(LayerSpec):
    """Common part of the join layers: ``n`` inputs of ``SIMD`` lanes, ``pixels`` vectors per frame."""

    options: ClassVar[tuple[str, ...]] = ("simd",)

    in_dtypes: tuple[DataType, ...]
    muls: tuple[int, ...]
    out_dtype: DataType
    pixels: int = 1
    simd: int = 1

    @classmethod
    def _check(cls, in_dtypes, muls, out_dtype, pixels, simd):
        in_dtypes = tuple(c.check_dtype("in_dtypes", dt) for dt in in_dtypes)
        muls = tuple(c.check_int("muls", k) for k in muls)
        if len(in_dtypes) < 2 or len(muls) != len(in_dtypes):
            raise ValueError("a join needs two or more inputs, one datatype and one multiplier each")
        odt = c.check_dtype("out_dtype", out_dtype)
        for dt, k in zip(in_dtypes, muls, strict=True):
            if not (odt.allowed(dt.min * k) and odt.allowed(dt.max * k)):
                raise ValueError(f"'out_dtype' {odt} cannot hold {k} x {dt}")
        return in_dtypes, muls, odt, c.check_int("pixels", pixels), c.check_int("simd", simd)

    @property
    def in_ports(self) -> int:
        return len(self.in_dtypes)

    def port_idt(self, k: int) -> DataType:
        return self.in_dtypes[k]

    @property
    def idt(self) -> DataType:
        return self.in_dtypes[0]

    @property
    def odt(self) -> DataType:
        return self.out_dtype

    @property
    def in_lanes(self) -> int:
        return self.simd

    @property
    def out_lanes(self) -> int:
        return self.simd

    @property
    def in_elems(self) -> int:
        return self.port_elems(0)

    @property
    def cycles(self) -> int:
        return self.out_beats

    def output_times(self, arrivals: list[int]) -> list[int]:
        return self.join_times([arrivals] * self.in_ports)[0]

    def join_times(self, arrivals: list[list[int]]) -> tuple[list[int], list[list[int]]]:
        """(output valid cycles, the cycle each input beat is taken, per input) for inputs valid at
        ``arrivals[k]``, the output never stalled."""
        taken: list[list[int]] = [[] for _ in arrivals]
        out, t = [], -1
        for group in self.take_order():
            t = max(t + 1, *(arrivals[k][len(taken[k])] for k in group))
            for k in group:
                taken[k].append(t)
            out.append(t + LATENCY)
        return out, taken

    def take_order(self):  # pragma: no cover - every kind overrides it
        """Per output beat, the inputs a beat is taken from."""
        raise NotImplementedError

    @property
    def latency(self) -> int:
        return LATENCY

    def describe(self, family: str = "xc7") -> dict:
        return super().describe(family) | {"in_ports": self.in_ports}


@dataclass(frozen=True, eq=False, kw_only=True)
class AddStreamsSpec(JoinSpec):
    """The element-wise sum of ``len(in_dtypes)`` streams of ``channels`` channels."""

    kind: ClassVar[str] = "AddStreams"

    channels: int

    @classmethod
    def create(cls, channels, *, in_dtypes, muls, out_dtype, pixels=1, simd=1, name="") -> AddStreamsSpec:
        channels = c.check_int("channels", channels)
        c.check_fold("simd", simd, channels, "channels")
        in_dtypes, muls, odt, pixels, simd = cls._check(in_dtypes, muls, out_dtype, pixels, simd)
        lo = sum(k * dt.min for dt, k in zip(in_dtypes, muls, strict=True))
        hi = sum(k * dt.max for dt, k in zip(in_dtypes, muls, strict=True))
        if not (odt.allowed(lo) and odt.allowed(hi)):
            raise ValueError(f"'out_dtype' {odt} cannot hold the sums {lo}..{hi}")
        return cls(
            channels=channels,
            in_dtypes=in_dtypes,
            muls=muls,
            out_dtype=odt,
            pixels=pixels,
            simd=simd,
            name=name,
        )

    @classmethod
    def from_node(cls, node, simd: int = 1) -> AddStreamsSpec:
        a = node.attrs
        return cls.create(
            a["channels"],
            in_dtypes=a["in_dtypes"],
            muls=a["muls"],
            out_dtype=a["out_dtype"],
            pixels=prod(a["in_shape"]) // a["channels"],
            simd=simd,
            name=node.name,
        )

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        return {"simd": (self.channels, "channels")}

    def port_elems(self, k: int) -> int:
        return self.channels * self.pixels

    @property
    def out_elems(self) -> int:
        return self.channels * self.pixels

    def take_order(self):
        group = tuple(range(self.in_ports))
        return [group] * self.out_beats

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(
            self.kind, family, lanes=self.simd, ibits=[dt.bits for dt in self.in_dtypes], obits=self.odt.bits
        )

    def component(self) -> AddStreams:
        return AddStreams(spec=self)


@dataclass(frozen=True, eq=False, kw_only=True)
class ConcatStreamsSpec(JoinSpec):
    """The channels of ``len(in_dtypes)`` images side by side (input ``k`` has ``in_channels[k]``)."""

    kind: ClassVar[str] = "ConcatStreams"

    in_channels: tuple[int, ...]

    @classmethod
    def create(
        cls, in_channels, *, in_dtypes, muls, out_dtype, pixels=1, simd=1, name=""
    ) -> ConcatStreamsSpec:
        in_channels = tuple(c.check_int("in_channels", ch) for ch in in_channels)
        for ch in in_channels:
            c.check_fold("simd", simd, ch, "the channels of every input")
        in_dtypes, muls, odt, pixels, simd = cls._check(in_dtypes, muls, out_dtype, pixels, simd)
        if len(in_channels) != len(in_dtypes):
            raise ValueError("'in_channels' needs one entry per input")
        return cls(
            in_channels=in_channels, in_dtypes=in_dtypes, muls=muls, out_dtype=odt, pixels=pixels, simd=simd,
            name=name,
        )  # fmt: skip

    @classmethod
    def from_node(cls, node, simd: int = 1) -> ConcatStreamsSpec:
        a = node.attrs
        return cls.create(
            a["in_channels"],
            in_dtypes=a["in_dtypes"],
            muls=a["muls"],
            out_dtype=a["out_dtype"],
            pixels=prod(a["in_shape"]) // a["in_shape"][-1],
            simd=simd,
            name=node.name,
        )

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        from math import gcd

        g = 0
        for ch in self.in_channels:
            g = gcd(g, ch)
        return {"simd": (g, "the common divisor of the inputs' channels")}

    def port_elems(self, k: int) -> int:
        return self.in_channels[k] * self.pixels

    @property
    def out_elems(self) -> int:
        return sum(self.in_channels) * self.pixels

    @property
    def port_beats(self) -> tuple[int, ...]:
        """Beats per pixel from each input."""
        return tuple(ch // self.simd for ch in self.in_channels)

    def take_order(self):
        per_pixel = [(k,) for k, n in enumerate(self.port_beats) for _ in range(n)]
        return per_pixel * self.pixels

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(
            self.kind,
            family,
            lanes=self.simd,
            ibits=[dt.bits for dt in self.in_dtypes],
            obits=self.odt.bits,
            beats=sum(self.port_beats),
        )

    def component(self) -> ConcatStreams:
        return ConcatStreams(spec=self)


class _Join(c.LayerComponent):
    """Common structure: ``take`` (a beat from one or every input, with output-queue credit) registers the
    inputs' payloads; a cycle later their values (times ``muls``) are combined into the output queue.
    Subclasses drive ``take`` and the inputs' ready (:meth:`_accept`) and combine the lanes
    (:meth:`_combine`)."""

    def __init__(self, *args, **params):
        s = self.spec
        members = {
            f"i{k}": In(stream.Signature(unsigned(s.simd * dt.bits))) for k, dt in enumerate(s.in_dtypes)
        }
        super().__init__(members | {"o": Out(stream.Signature(unsigned(s.simd * s.odt.bits)))})

    def inputs(self) -> list:
        return [getattr(self, f"i{k}") for k in range(self.spec.in_ports)]

    def _lanes(self, m: Module, payload, k: int) -> list:
        """The values of input ``k``'s lanes in ``payload`` (a registered copy), times ``muls[k]``."""
        s = self.spec
        dt = s.in_dtypes[k]
        view = data.ArrayLayout(dt.bits, s.simd)(payload)
        return [_value(m, view[p], dt, s.muls[k], f"v{k}_{p}") for p in range(s.simd)]

    def _accept(self, m: Module, ins: list, credit, take) -> list:  # pragma: no cover - per kind
        """Drive ``take`` and every input's ready; return signals to carry to the combining cycle."""
        raise NotImplementedError

    def _combine(self, m: Module, lanes: list, carried: list) -> list:  # pragma: no cover - per kind
        """The output lanes' values from every input's lane values (``lanes[k][p]``)."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        s = self.spec
        oq = c.output_queue(m, self.o, s.simd * s.odt.bits, 3)
        ins = self.inputs()
        take = Signal()
        carried = self._accept(m, ins, oq.has_credit, take)
        m.d.comb += oq.reserve.eq(take)
        valid1 = c.delay(m, take, "valid1")
        carried = [c.delay(m, sig, f"{sig.name}_1") for sig in carried]
        regs = [c.delay(m, i.payload, f"x{k}", reset_less=True) for k, i in enumerate(ins)]
        lanes = [self._lanes(m, r, k) for k, r in enumerate(regs)]
        outs = [_encode(v, s.odt) for v in self._combine(m, lanes, carried)]
        m.d.comb += [oq.push.eq(valid1), oq.data.eq(Cat(*outs))]
        return m


class AddStreams(_Join):
    """Element-wise sum of the input streams; see the module docstring."""

    make_spec = staticmethod(AddStreamsSpec.create)

    def _accept(self, m, ins, credit, take):
        m.d.comb += take.eq(credit & Cat(*(i.valid for i in ins)).all())
        for k, i in enumerate(ins):
            m.d.comb += i.ready.eq(credit & Cat(*(j.valid for n, j in enumerate(ins) if n != k)).all())
        return []

    def _combine(self, m, lanes, carried):
        s, outs = self.spec, []
        for p in range(s.simd):
            total = Signal(c.range_shape(s.odt.min, s.odt.max), name=f"sum_{p}")
            m.d.comb += total.eq(sum(v[p] for v in lanes))
            outs.append(total)
        return outs


class ConcatStreams(_Join):
    """Channel concatenation of the input streams; see the module docstring."""

    make_spec = staticmethod(ConcatStreamsSpec.create)

    def _accept(self, m, ins, credit, take):
        s = self.spec
        n_beats = sum(s.port_beats)
        # one-hot input select per beat of a pixel (the input of beat b of a pixel is fixed)
        order = [k for k, n in enumerate(s.port_beats) for _ in range(n)]
        sel = [Signal(init=int(order[0] == k), name=f"sel{k}") for k in range(s.in_ports)]
        beat = Signal(c.idx(n_beats))
        m.d.comb += take.eq(credit & Cat(*(sl & i.valid for sl, i in zip(sel, ins, strict=True))).any())
        for sl, i in zip(sel, ins, strict=True):
            m.d.comb += i.ready.eq(credit & sl)
        with m.If(take):
            m.d.sync += beat.eq(c.incr_wrap(beat, n_beats))
            with m.Switch(beat):
                for b in range(n_beats):
                    nxt = order[(b + 1) % n_beats]
                    with m.Case(b):
                        m.d.sync += [sl.eq(int(k == nxt)) for k, sl in enumerate(sel)]
        return sel

    def _combine(self, m, lanes, sel1):
        s, outs = self.spec, []
        for p in range(s.simd):
            val = Signal(c.range_shape(min(s.odt.min, 0), s.odt.max), name=f"val_{p}")
            with m.Switch(Cat(*sel1)):
                for k in range(s.in_ports):
                    with m.Case(1 << k):
                        m.d.comb += val.eq(lanes[k][p])
            outs.append(val)
        return outs
