"""Streaming max-pool over k×k windows with stride k (floor mode), NHWC, channels folded by SIMD.

On 1-bit data (BIPOLAR, BINARY) the max is an OR; on INTn/UINTn a signed/unsigned compare.
One row of running maxima (``OW · C/SIMD`` words) lives in a ``Memory`` read asynchronously
(LUTRAM), so a read-modify-write takes one cycle and no hazard arises. Rows and columns beyond
``OH·k`` / ``OW·k`` are consumed and dropped, as :func:`hwgen.golden.ops.maxpool_nhwc` does.

Ports
-----
i : In(stream.Signature(unsigned(SIMD * dtype.bits)))
    ``H·W·C/SIMD`` beats per image: pixel (y, x) channel fold ``cf`` is beat ``(y·W + x)·C/SIMD + cf``.
o : Out(stream.Signature(unsigned(SIMD * dtype.bits)))
    ``OH·OW·C/SIMD`` beats per image in the same order.

Parameters
----------
height, width, channels : int, the input image.
k : int, window and stride.
simd : int, channels per beat, a divisor of ``channels``.
dtype : DataType of the elements.

Cycle model
-----------
One input beat per cycle: ``ii_cycles = H·W·C/SIMD``;
``latency_cycles = ((k-1)·W + k-1)·C/SIMD + 1`` (the last beat of the first window, plus one).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.layers import _common as c
from hwgen.layers._resources import estimate

__all__ = ["MaxPool"]


class MaxPool(wiring.Component):
    """k×k, stride-k max-pool of an NHWC stream; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, height, width, channels, *, k, simd, dtype):
        self._h = c.check_int("height", height)
        self._w = c.check_int("width", width)
        self._c = c.check_int("channels", channels)
        self._k = c.check_int("k", k)
        self._simd = c.check_fold("simd", simd, self._c, "channels")
        self._dt = c.check_dtype("dtype", dtype)
        if self._k > min(self._h, self._w):
            raise ValueError(f"'k'={k} does not fit a {height}x{width} image")
        self._cf = self._c // self._simd
        self._oh, self._ow = self._h // self._k, self._w // self._k
        sig = stream.Signature(unsigned(self._simd * self._dt.bits))
        super().__init__({"i": In(sig), "o": Out(sig)})

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self._oh, self._ow, self._c

    @property
    def ii_cycles(self) -> int:
        return self._h * self._w * self._cf

    @property
    def latency_cycles(self) -> int:
        return ((self._k - 1) * self._w + self._k - 1) * self._cf + 1

    def resources(self) -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        return estimate(
            "maxpool",
            width=self._simd * self._dt.bits,
            depth=self._ow * self._cf,
            lanes=self._simd,
            bits=self._dt.bits,
        )

    def elaborate(self, platform):
        m = Module()
        k, cf_n, simd, b = self._k, self._cf, self._simd, self._dt.bits
        m.submodules.oq = oq_mod = Module()
        oq = c.OutputQueue(oq_mod, self.o, simd * b, 2)

        # Position of the next input beat.
        y, x, cf = Signal(range(self._h)), Signal(range(self._w)), Signal(range(cf_n))
        ky, kx, ox = Signal(range(k)), Signal(range(k)), Signal(range(self._ow + 1))
        in_window = Signal()
        first, last = Signal(), Signal()
        m.d.comb += [
            in_window.eq((x < self._ow * k) & (y < self._oh * k)),
            first.eq((ky == 0) & (kx == 0)),
            last.eq(in_window & (ky == k - 1) & (kx == k - 1)),
        ]
        take = Signal()
        m.d.comb += [
            self.i.ready.eq(oq.has_credit | ~last),
            take.eq(self.i.valid & self.i.ready),
            oq.reserve.eq(take & last),
        ]
        with m.If(take):
            self._advance(m, y, x, cf, ky, kx, ox)

        # Running maxima of the current output row, read-modify-write in one cycle.
        m.submodules.row = row = Memory(shape=unsigned(simd * b), depth=self._ow * cf_n, init=[])
        rd = row.read_port(domain="comb")
        wr = row.write_port()
        addr = Signal(range(self._ow * cf_n))
        m.d.comb += addr.eq(ox * cf_n + cf)
        new = Signal(simd * b)
        lanes = [
            self._max(rd.data[j * b : (j + 1) * b], self.i.payload[j * b : (j + 1) * b]) for j in range(simd)
        ]
        m.d.comb += [
            rd.addr.eq(addr),
            new.eq(Mux(first, self.i.payload, Cat(*lanes))),
            wr.addr.eq(addr),
            wr.data.eq(new),
            wr.en.eq(take & in_window),
            oq.push.eq(take & last),
            oq.data.eq(new),
        ]
        return m

    def _advance(self, m, y, x, cf, ky, kx, ox):
        k = self._k
        m.d.sync += cf.eq(Mux(cf == self._cf - 1, 0, cf + 1))
        with m.If(cf == self._cf - 1):
            with m.If(x == self._w - 1):
                m.d.sync += [x.eq(0), kx.eq(0), ox.eq(0)]
                m.d.sync += [
                    y.eq(Mux(y == self._h - 1, 0, y + 1)),
                    ky.eq(Mux((ky == k - 1) | (y == self._h - 1), 0, ky + 1)),
                ]
            with m.Else():
                m.d.sync += [x.eq(x + 1), kx.eq(Mux(kx == k - 1, 0, kx + 1))]
                with m.If(kx == k - 1):
                    m.d.sync += ox.eq(ox + 1)

    def _max(self, a, b):
        if self._dt.bits == 1:
            return a | b
        if self._dt.signed:
            return Mux(a.as_signed() > b.as_signed(), a, b)
        return Mux(a > b, a, b)
