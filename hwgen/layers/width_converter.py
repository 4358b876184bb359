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

from math import gcd, lcm

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.layers import _common as c
from hwgen.layers._resources import estimate

__all__ = ["WidthConverter", "buffer_elems"]


def buffer_elems(in_lanes: int, out_lanes: int) -> int:
    """Elements a converter buffers: the least that keeps both sides at full rate."""
    return in_lanes + out_lanes + min(in_lanes, out_lanes) - gcd(in_lanes, out_lanes)


class WidthConverter(wiring.Component):
    """Re-slices a stream of elements into beats of another lane count; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, bits, in_lanes, out_lanes, *, frame_elems=None):
        self._bits = c.check_int("bits", bits)
        self._in = c.check_int("in_lanes", in_lanes)
        self._out = c.check_int("out_lanes", out_lanes)
        if frame_elems is None:
            frame_elems = lcm(self._in, self._out)
        self._frame = c.check_int("frame_elems", frame_elems)
        if frame_elems % self._in or frame_elems % self._out:
            raise ValueError(f"'frame_elems'={frame_elems} must be a multiple of in_lanes and out_lanes")
        self._cap = buffer_elems(self._in, self._out)
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(self._in * self._bits))),
                "o": Out(stream.Signature(unsigned(self._out * self._bits))),
            }
        )

    @property
    def capacity(self) -> int:
        """Elements the buffer holds."""
        return self._cap

    @property
    def ii_cycles(self) -> int:
        return self._frame // min(self._in, self._out)

    @property
    def latency_cycles(self) -> int:
        return -(-self._out // self._in)

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        return estimate(
            "width_converter",
            family,
            in_bits=self._in * self._bits,
            out_bits=self._out * self._bits,
            capacity_bits=self._cap * self._bits,
        )

    def elaborate(self, platform):
        m = Module()
        b, n_in, n_out, cap = self._bits, self._in, self._out, self._cap
        buf = Signal(cap * b)
        count = Signal(c.idx(cap + 1))
        push, pop = Signal(), Signal()
        m.d.comb += [
            self.i.ready.eq(count <= cap - n_in),
            self.o.valid.eq(count >= n_out),
            self.o.payload.eq(buf[: n_out * b]),
            push.eq(self.i.valid & self.i.ready),
            pop.eq(self.o.valid & self.o.ready),
        ]
        # Elements above ``count`` are kept zero, so a new beat is ORed in at the fill position.
        kept = Mux(pop, buf >> (n_out * b), buf)
        pos = Signal(c.idx(cap + 1))
        m.d.comb += pos.eq(Mux(pop, count - n_out, count))
        incoming = Mux(push, self.i.payload, 0)
        m.d.sync += [
            buf.eq(kept | (incoming << (pos * b))),
            count.eq(pos + Mux(push, n_in, 0)),
        ]
        return m
