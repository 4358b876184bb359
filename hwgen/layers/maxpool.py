"""Streaming max-pool over k×k windows (floor mode, no padding), NHWC, channels folded by SIMD.

On 1-bit data (BIPOLAR, BINARY) the max is an OR; on INTn/UINTn a signed/unsigned compare.
With stride k (the usual case) one row of running maxima (``OW · C/SIMD`` words) lives in a
``Memory`` read asynchronously (LUTRAM), so a read-modify-write takes one cycle and no hazard
arises; rows and columns beyond the last window are consumed and dropped, as
:func:`hwgen.golden.ops.maxpool_nhwc` does. Any other stride goes through an internal
:class:`~hwgen.layers.sliding_window.SlidingWindow` and reduces each window's ``k·k`` beats.

Ports
-----
i : In(stream.Signature(unsigned(SIMD * dtype.bits)))
    ``H·W·C/SIMD`` beats per image: pixel (y, x) channel fold ``cf`` is beat ``(y·W + x)·C/SIMD + cf``.
o : Out(stream.Signature(unsigned(SIMD * dtype.bits)))
    ``OH·OW·C/SIMD`` beats per image in the same order.

Parameters
----------
height, width, channels : int, the input image.
k : int, window; stride : int, default k.
simd : int, channels per beat, a divisor of ``channels``.
dtype : DataType of the elements.

Cycle model
-----------
Stride k: one input beat per cycle, ``ii_cycles = H·W·C/SIMD``,
``latency_cycles = ((k-1)·W + k-1)·C/SIMD + 1`` (the last beat of the first window, plus one).
Other strides: ``ii_cycles = max(H·W, OH·OW·k·k)·C/SIMD`` (at least 2) and 3 more cycles of latency.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.layers import _common as c
from hwgen.layers._resources import estimate
from hwgen.layers.sliding_window import SlidingWindow

__all__ = ["MaxPool"]


class MaxPool(wiring.Component):
    """k×k max-pool of an NHWC stream; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, height, width, channels, *, k, stride=None, simd, dtype):
        self._h = c.check_int("height", height)
        self._w = c.check_int("width", width)
        self._c = c.check_int("channels", channels)
        self._k = c.check_int("k", k)
        self._s = self._k if stride is None else c.check_int("stride", stride)
        self._simd = c.check_fold("simd", simd, self._c, "channels")
        self._dt = c.check_dtype("dtype", dtype)
        if self._k > min(self._h, self._w):
            raise ValueError(f"'k'={k} does not fit a {height}x{width} image")
        self._cf = self._c // self._simd
        self._oh = (self._h - self._k) // self._s + 1
        self._ow = (self._w - self._k) // self._s + 1
        sig = stream.Signature(unsigned(self._simd * self._dt.bits))
        super().__init__({"i": In(sig), "o": Out(sig)})

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self._oh, self._ow, self._c

    @property
    def ii_cycles(self) -> int:
        if self._s == self._k:
            return self._h * self._w * self._cf
        return max(self._h * self._w * self._cf, self._oh * self._ow * self._k * self._k * self._cf, 2)

    @property
    def latency_cycles(self) -> int:
        return ((self._k - 1) * self._w + self._k - 1) * self._cf + (1 if self._s == self._k else 4)

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        return estimate(
            "maxpool",
            family,
            width=self._simd * self._dt.bits,
            depth=self._ow * self._cf if self._s == self._k else self._cf,
            lanes=self._simd,
            bits=self._dt.bits,
        )

    def elaborate(self, platform):
        m = Module()
        if self._s != self._k:  # overlapping or gapped windows: im2col first, then reduce each window
            m.submodules.window = win = SlidingWindow(
                self._h, self._w, self._c, k=self._k, stride=self._s, simd=self._simd, dtype=self._dt
            )
            wiring.connect(m, wiring.flipped(self.i), win.i)
            self._reduce(m, win.o, *self._window_walk(m))
        else:
            self._reduce(m, self.i, *self._row_walk(m))
        return m

    def _row_walk(self, m):
        """Stride k: running maxima of one output row, at ``ox·C/SIMD + cf``; drops the floor remainder."""
        k = self._k
        y, x, cf = Signal(c.idx(self._h)), Signal(c.idx(self._w)), Signal(c.idx(self._cf))
        ky, kx, ox = Signal(c.idx(k)), Signal(c.idx(k)), Signal(c.idx(self._ow + 1))
        keep, first, last, step = Signal(), Signal(), Signal(), Signal()
        addr = Signal(c.idx(self._ow * self._cf))
        m.d.comb += [
            keep.eq((x < self._ow * k) & (y < self._oh * k)),
            first.eq((ky == 0) & (kx == 0)),
            last.eq(keep & (ky == k - 1) & (kx == k - 1)),
            addr.eq(ox * self._cf + cf),
        ]
        with m.If(step):
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
        return self._ow * self._cf, addr, keep, first, last, step

    def _window_walk(self, m):
        """im2col input: beats (ky, kx, cf) of one window; running maxima per ``cf``."""
        n = self._k * self._k
        g, cf = Signal(c.idx(n)), Signal(c.idx(self._cf))
        first, last, step = Signal(), Signal(), Signal()
        m.d.comb += [first.eq(g == 0), last.eq(g == n - 1)]
        with m.If(step):
            m.d.sync += cf.eq(Mux(cf == self._cf - 1, 0, cf + 1))
            with m.If(cf == self._cf - 1):
                m.d.sync += g.eq(Mux(last, 0, g + 1))
        return self._cf, cf, 1, first, last, step

    def _reduce(self, m, src, depth, addr, keep, first, last, step):
        """Take beats of ``src``; max into ``Memory[addr]`` (or start anew if ``first``); emit on ``last``."""
        simd, b = self._simd, self._dt.bits
        m.submodules.oq = oq_mod = Module()
        oq = c.OutputQueue(oq_mod, self.o, simd * b, 2)
        m.d.comb += [
            src.ready.eq(oq.has_credit | ~last),
            step.eq(src.valid & src.ready),
            oq.reserve.eq(step & last),
        ]
        # Read-modify-write in one cycle through an asynchronous read port (LUTRAM).
        m.submodules.acc = acc = Memory(
            shape=unsigned(simd * b), depth=max(2, depth), init=[]
        )  # no 0-bit address
        rd = acc.read_port(domain="comb")
        wr = acc.write_port()
        new = Signal(simd * b)
        old, inp = rd.data, src.payload
        lanes = [self._max(old[j * b : (j + 1) * b], inp[j * b : (j + 1) * b]) for j in range(simd)]
        m.d.comb += [
            rd.addr.eq(addr),
            new.eq(Mux(first, inp, Cat(*lanes))),
            wr.addr.eq(addr),
            wr.data.eq(new),
            wr.en.eq(step & keep),
            oq.push.eq(step & last),
            oq.data.eq(new),
        ]

    def _max(self, a, b):
        if self._dt.bits == 1:
            return a | b
        if self._dt.signed:
            return Mux(a.as_signed() > b.as_signed(), a, b)
        return Mux(a > b, a, b)
