"""Stream width converter: beats of ``in_lanes`` elements in, beats of ``out_lanes`` elements out.

Typical use: the PE lanes of one layer feed the SIMD lanes of the next. Element order is kept
(element 0 of the stream in the LSBs of the first beat); any pair of lane counts works, with an
element buffer of ``in + out + min(in, out) - gcd(in, out)`` elements, the least that keeps both
sides at full rate with a registered ``i.ready`` (``in + out`` when one count divides the other).

Ports
-----
i : In(stream.Signature(unsigned(in_lanes * bits)))
o : Out(stream.Signature(unsigned(out_lanes * bits)))

Parameters
----------
bits : int, bits per element.
in_lanes, out_lanes : int, elements per input and output beat.
frame_elems : int, elements per frame (cycle model only), a multiple of both lane counts;
    default their least common multiple.

Cycle model
-----------
``ii_cycles = frame_elems / min(in_lanes, out_lanes)`` (the narrower side moves one beat per
cycle); ``latency_cycles = ceil(out_lanes / in_lanes)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd, lcm
from typing import ClassVar

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import UINT, DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.spec import BufferSpec, LayerSpec, steady_times

__all__ = ["WidthConverter", "WidthConverterSpec", "buffer_elems", "fill_wiring", "slot_inputs"]


def buffer_elems(in_lanes: int, out_lanes: int) -> int:
    """Elements a converter buffers: the least that keeps both sides at full rate."""
    return in_lanes + out_lanes + min(in_lanes, out_lanes) - gcd(in_lanes, out_lanes)


def fill_wiring(in_lanes: int, out_lanes: int, pop: bool) -> list[tuple[int, int, int]]:
    """``(slot, incoming chunk, fill level)`` of every path from an input chunk into the buffer.

    Both lane counts are multiples of ``g = gcd(in, out)``, so the fill level always is too: the buffer
    works in chunks of ``g`` elements (a 64 -> 48 converter moves 16-element chunks, 4 in, 3 out). Slot
    ``j`` takes incoming chunk ``e`` when the level is ``j + shift - e``, ``shift`` being the chunks a
    pop moves out (``pop``) or 0. Only levels a push happens at are wired: ``<= cap - in`` (``ready``),
    and ``>= out`` with a pop (``valid``)."""
    g = gcd(in_lanes, out_lanes)
    n_in, n_out, cap = in_lanes // g, out_lanes // g, buffer_elems(in_lanes, out_lanes) // g
    shift = n_out if pop else 0
    lo = n_out if pop else 0
    return [
        (j, e, j + shift - e) for j in range(cap) for e in range(n_in) if lo <= j + shift - e <= cap - n_in
    ]


def slot_inputs(in_lanes: int, out_lanes: int) -> list[int]:
    """Signals each buffer bit of chunk slot ``j`` is a function of: its old value, the value a pop moves
    in, ``pop``, and the fill-level bit and input bit of each wire into it (resource model)."""
    g = gcd(in_lanes, out_lanes)
    n = [3] * (buffer_elems(in_lanes, out_lanes) // g)
    for pop in (False, True):
        for j, _, _ in fill_wiring(in_lanes, out_lanes, pop):
            n[j] += 2
    return n


@dataclass(frozen=True, eq=False, kw_only=True)
class WidthConverterSpec(BufferSpec, LayerSpec):
    """Beats of ``lanes_in`` elements of ``dtype`` in, beats of ``lanes_out`` out."""

    kind: ClassVar[str] = "WidthConverter"

    dtype: DataType
    lanes_in: int
    lanes_out: int
    frame_elems: int

    @classmethod
    def create(cls, dtype, in_lanes, out_lanes, *, frame_elems=None, name="") -> WidthConverterSpec:
        in_lanes = c.check_int("in_lanes", in_lanes)
        out_lanes = c.check_int("out_lanes", out_lanes)
        if frame_elems is None:
            frame_elems = lcm(in_lanes, out_lanes)
        c.check_int("frame_elems", frame_elems)
        if frame_elems % in_lanes or frame_elems % out_lanes:
            raise ValueError(f"'frame_elems'={frame_elems} must be a multiple of in_lanes and out_lanes")
        return cls(dtype=dtype, lanes_in=in_lanes, lanes_out=out_lanes, frame_elems=frame_elems, name=name)

    @property
    def in_lanes(self) -> int:
        return self.lanes_in

    @property
    def out_lanes(self) -> int:
        return self.lanes_out

    @property
    def capacity(self) -> int:
        """Elements the buffer holds."""
        return buffer_elems(self.lanes_in, self.lanes_out)

    @property
    def cycles(self) -> int:
        return self.frame_elems // min(self.lanes_in, self.lanes_out)

    @property
    def latency(self) -> int:
        return -(-self.lanes_out // self.lanes_in)

    def output_times(self, arrivals: list[int]) -> list[int]:
        """Output beat ``j`` waits for the input beat holding its last element, then one register."""
        n_in, n_out = self.lanes_in, self.lanes_out
        n = len(arrivals) * n_in // n_out
        return steady_times([arrivals[((j + 1) * n_out - 1) // n_in] for j in range(n)], 1)

    def resources(self, family: str = "xc7") -> dict:
        b = self.dtype.bits
        return resource_model.estimate(
            self.kind,
            family,
            in_bits=self.lanes_in * b,
            out_bits=self.lanes_out * b,
            capacity_bits=self.capacity * b,
            chunk_bits=gcd(self.lanes_in, self.lanes_out) * b,
            slot_inputs=slot_inputs(self.lanes_in, self.lanes_out),
        )

    def component(self) -> WidthConverter:
        return WidthConverter(spec=self)


class WidthConverter(c.LayerComponent):
    """Re-slices a stream of elements into beats of another lane count; see the module docstring."""

    @staticmethod
    def make_spec(bits, in_lanes, out_lanes, *, frame_elems=None) -> WidthConverterSpec:
        bits = c.check_int("bits", bits)
        return WidthConverterSpec.create(UINT(bits), in_lanes, out_lanes, frame_elems=frame_elems)

    def __init__(self, *args, **params):
        s = self.spec
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(s.lanes_in * s.dtype.bits))),
                "o": Out(stream.Signature(unsigned(s.lanes_out * s.dtype.bits))),
            }
        )

    @property
    def capacity(self) -> int:
        """Elements the buffer holds."""
        return self.spec.capacity

    def elaborate(self, platform):
        m = Module()
        s = self.spec
        g = gcd(s.lanes_in, s.lanes_out)  # chunks of g elements: see fill_wiring
        w, n_in, n_out, cap = g * s.dtype.bits, s.lanes_in // g, s.lanes_out // g, s.capacity // g
        buf = Signal(cap * w)
        count = Signal(c.idx(cap + 1))  # chunks held
        at = Signal(cap + 1, init=1)  # one-hot copy of ``count``: where an incoming beat goes
        ready, valid = Signal(init=1), Signal()  # registers
        push, pop = Signal(), Signal()
        m.d.comb += [
            self.i.ready.eq(ready),
            self.o.valid.eq(valid),
            self.o.payload.eq(buf[: n_out * w]),
            push.eq(self.i.valid & ready),
            pop.eq(valid & self.o.ready),
        ]

        # Chunks above ``count`` are kept zero, so a new beat is ORed in at the fill position. With a pop
        # the old contents move down ``n_out`` slots and so does the fill position. The buffer's four next
        # values (push or not, pop or not) come from flip-flops only (the held chunks, the one-hot fill
        # position and the input beat, itself a register upstream); the handshakes select among them last.
        def fill(popped: bool) -> tuple[list, list]:
            shift = n_out if popped else 0
            held = Cat(buf, Const(0, shift * w))  # a pop moves zeros in at the top
            kept = [held[(j + shift) * w : (j + shift + 1) * w] for j in range(cap)]
            taken = list(kept)
            for j, e, level in fill_wiring(s.lanes_in, s.lanes_out, popped):
                taken[j] = taken[j] | Mux(at[level], self.i.payload[e * w : (e + 1) * w], 0)
            return kept, taken

        (stay, stay_in), (moved, moved_in) = fill(False), fill(True)
        m.d.sync += buf.eq(
            Mux(pop, Mux(push, Cat(*moved_in), Cat(*moved)), Mux(push, Cat(*stay_in), Cat(*stay)))
        )

        # count, its one-hot copy and the two flags; each flag compares ``count`` with a constant for the
        # four (push, pop) cases, then a multiplexer picks one
        def step(dp: int):
            return [
                count.eq(count + dp),
                at.eq(at << dp if dp >= 0 else at >> -dp),
                ready.eq(count <= cap - n_in - dp if cap - n_in - dp >= 0 else 0),
                valid.eq(count >= n_out - dp if n_out - dp > 0 else 1),
            ]

        with m.If(push & pop):
            m.d.sync += step(n_in - n_out)
        with m.Elif(push):
            m.d.sync += step(n_in)
        with m.Elif(pop):
            m.d.sync += step(-n_out)
        return m
