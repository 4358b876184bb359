"""Streaming max-pool over k×k windows (floor mode, no padding), NHWC, channels folded by SIMD.

On 1-bit data (BIPOLAR, BINARY) the max is an OR; on INTn/UINTn a signed/unsigned compare.
With stride k (the usual case) one row of running maxima (``OW · C/SIMD`` words) lives in a
``Memory`` read asynchronously (LUTRAM): a beat is registered with its word when taken (the word the
beat before it writes that cycle, if the same), and the max and write-back take the next cycle; rows and
columns beyond the last window are consumed and dropped, as :func:`hwgen.golden.ops.maxpool_nhwc`
does. Any other stride goes through an internal
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
``latency_cycles = ((k-1)·W + k-1)·C/SIMD + 2`` (the last beat of the first window, read, max).
Other strides: ``ii_cycles = max(H·W, OH·OW·k·k)·C/SIMD`` (at least 2);
the window generator's latency plus 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.sliding_window import SlidingWindowSpec
from hwgen.layers.spec import ImageSpec, LayerSpec, steady_times

__all__ = ["StreamingMaxPool", "StreamingMaxPoolSpec"]


@dataclass(frozen=True, eq=False, kw_only=True)
class StreamingMaxPoolSpec(ImageSpec, LayerSpec):
    """Parameters, cycle and resource model of the streaming max-pool."""

    kind: ClassVar[str] = "StreamingMaxPool"
    options: ClassVar[tuple[str, ...]] = ("simd",)

    height: int
    width: int
    channels: int
    k: int
    stride: int
    simd: int = 1
    dtype: DataType

    @classmethod
    def create(
        cls, height, width, channels, *, k, stride=None, simd=1, dtype, name=""
    ) -> StreamingMaxPoolSpec:
        k = c.check_int("k", k)
        spec = cls(
            height=c.check_int("height", height), width=c.check_int("width", width),
            channels=c.check_int("channels", channels), k=k,
            stride=k if stride is None else c.check_int("stride", stride), simd=simd,
            dtype=c.check_dtype("dtype", dtype), name=name,
        )  # fmt: skip
        c.check_fold("simd", simd, spec.channels, "channels")
        if k > min(spec.height, spec.width):
            raise ValueError(f"'k'={k} does not fit a {height}x{width} image")
        return spec

    @classmethod
    def from_node(cls, node, simd: int = 1) -> StreamingMaxPoolSpec:
        a = node.attrs
        (h, w), ch = a["ifm_dim"], a["channels"]
        return cls.create(h, w, ch, k=a["k"], stride=a["stride"], simd=simd, dtype=a["dtype"], name=node.name)

    @property
    def oh(self) -> int:
        return (self.height - self.k) // self.stride + 1

    @property
    def ow(self) -> int:
        return (self.width - self.k) // self.stride + 1

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.oh, self.ow, self.channels

    @property
    def row_walk(self) -> bool:
        """Stride k: running maxima of one output row; else an internal sliding window."""
        return self.stride == self.k

    def window(self) -> SlidingWindowSpec:
        """The sliding window in front of the reduction (strides other than k)."""
        return SlidingWindowSpec.create(
            self.height,
            self.width,
            self.channels,
            k=self.k,
            stride=self.stride,
            simd=self.simd,
            dtype=self.dtype,
        )

    @property
    def out_elems(self) -> int:
        return self.oh * self.ow * self.channels

    @property
    def cycles(self) -> int:
        if self.row_walk:
            return self.in_beats
        return max(self.in_beats, self.oh * self.ow * self.k * self.k * self.cf, 2)

    @property
    def latency(self) -> int:
        return ((self.k - 1) * self.width + self.k - 1) * self.cf + (
            2 if self.row_walk else self.window().latency + 2
        )

    def output_times(self, arrivals: list[int]) -> list[int]:
        k, cf = self.k, self.cf
        if not self.row_walk:  # each window's fold f ends with its beat (k-1, k-1, f)
            win, n = self.window().output_times(arrivals), k * k * cf
            return steady_times([win[g * n + n - cf + f] for g in range(len(win) // n) for f in range(cf)], 2)
        last = [
            arrivals[((oy * k + k - 1) * self.width + ox * k + k - 1) * cf + f]
            for oy in range(self.oh)
            for ox in range(self.ow)
            for f in range(cf)
        ]
        return steady_times(last, 2)

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(
            self.kind,
            family,
            width=self.simd * self.dtype.bits,
            depth=self.ow * self.cf if self.row_walk else self.cf,
            lanes=self.simd,
            bits=self.dtype.bits,
        )

    def component(self) -> StreamingMaxPool:
        return StreamingMaxPool(spec=self)


class StreamingMaxPool(c.LayerComponent):
    """k×k max-pool of an NHWC stream; see the module docstring."""

    make_spec = staticmethod(StreamingMaxPoolSpec.create)

    def __init__(self, *args, **params):
        sig = stream.Signature(unsigned(self.spec.simd * self.spec.dtype.bits))
        super().__init__({"i": In(sig), "o": Out(sig)})

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.spec.out_shape

    def elaborate(self, platform):
        m = Module()
        if not self.spec.row_walk:  # overlapping or gapped windows: im2col first, then reduce each window
            m.submodules.window = win = self.spec.window().component()
            wiring.connect(m, wiring.flipped(self.i), win.i)
            self._reduce(m, win.o, *self._window_walk(m))
        else:
            self._reduce(m, self.i, *self._row_walk(m))
        return m

    def _row_walk(self, m):
        """Stride k: running maxima of one output row, at ``ox·C/SIMD + cf``; drops the floor remainder.
        Every flag the handshake tests is a register, and the address a counter moved by constants."""
        s = self.spec
        k, kw_n = s.k, s.ow * s.k  # columns (and rows) inside a window: x < OW·k
        step = Signal()
        _, _, cf_last, cf_wrap = c.fold_counter(m, s.cf, step, "cf")
        x, _, x_last, x_wrap = c.fold_counter(m, s.width, cf_wrap, "x")
        y, _, y_last, _ = c.fold_counter(m, s.height, x_wrap, "y")
        kx, ky = Signal(c.idx(k)), Signal(c.idx(k))
        kx_last, ky_last = Signal(init=k == 1), Signal(init=k == 1)  # kx, ky == k - 1
        xk, yk = Signal(init=1), Signal(init=1)  # x < OW·k, y < OH·k
        addr = Signal(c.idx(s.ow * s.cf))
        keep, first, last = Signal(), Signal(), Signal()
        m.d.comb += [
            keep.eq(xk & yk),
            first.eq((ky == 0) & (kx == 0)),
            last.eq(xk & yk & kx_last & ky_last),
        ]
        with m.If(step):
            m.d.sync += addr.eq(addr + 1)
            with m.If(cf_last):
                with m.If(x_last):  # the next input row
                    ky_n = Mux(ky_last | y_last, 0, ky + 1)
                    m.d.sync += [addr.eq(0), kx.eq(0), kx_last.eq(k == 1), xk.eq(1)]
                    m.d.sync += [ky.eq(ky_n), ky_last.eq(ky_n == k - 1)]
                    m.d.sync += yk.eq(y_last | (y < s.oh * k - 1))
                with m.Else():
                    kx_n = Mux(kx_last, 0, kx + 1)
                    m.d.sync += [kx.eq(kx_n), kx_last.eq(kx_n == k - 1), xk.eq(x < kw_n - 1)]
                    with m.If(~kx_last):  # the same output column again: back to its first fold
                        m.d.sync += addr.eq(addr - (s.cf - 1))
        return s.ow * s.cf, addr, keep, first, last, step

    def _window_walk(self, m):
        """im2col input: beats (ky, kx, cf) of one window; running maxima per ``cf``."""
        s = self.spec
        step = Signal()
        cf, _, _, cf_wrap = c.fold_counter(m, s.cf, step, "cf")
        _, g_first, g_last, _ = c.fold_counter(m, s.k * s.k, cf_wrap, "g")
        return s.cf, cf, 1, g_first, g_last, step

    def _reduce(self, m, src, depth, addr, keep, first, last, step):
        """Take beats of ``src``; max into ``Memory[addr]`` (or start anew if ``first``); emit on ``last``.

        A beat taken is registered with its address, its flags and its word (an asynchronous read:
        LUTRAM, or the word the beat before it writes in that cycle); the next cycle takes the max, writes
        it back and, on ``last``, pushes it. No read sits before the max, and back-to-back beats on one
        word see each other."""
        simd, b = self.spec.simd, self.spec.dtype.bits
        oq = c.output_queue(m, self.o, simd * b, 3)
        m.d.comb += [
            src.ready.eq(oq.has_credit | ~last),
            step.eq(src.valid & src.ready),
            oq.reserve.eq(step & last),
        ]
        m.submodules.acc = acc = Memory(
            shape=unsigned(simd * b), depth=max(2, depth), init=[]
        )  # no 0-bit address
        rd = acc.read_port(domain="comb")
        wr = acc.write_port()
        v1 = c.delay(m, step, "v1")
        p1, a1, old1 = Signal(simd * b), Signal(len(rd.addr)), Signal(simd * b)
        first1, last1, keep1 = Signal(), Signal(), Signal()
        new, forward = Signal(simd * b), Signal()
        m.d.comb += [
            rd.addr.eq(addr),  # the beat's word is read as the beat is taken, into a register with it
            forward.eq(wr.en & (a1 == addr)),  # unless the beat before it writes that word now
        ]
        with m.If(step):
            m.d.sync += [p1.eq(src.payload), a1.eq(addr), first1.eq(first), last1.eq(last), keep1.eq(keep)]
            m.d.sync += old1.eq(Mux(forward, new, rd.data))
        old = data.View(data.ArrayLayout(b, simd), old1)
        inp = data.View(data.ArrayLayout(b, simd), p1)
        lanes = [self._max(old[j], inp[j]) for j in range(simd)]
        m.d.comb += [
            new.eq(Mux(first1, p1, Cat(*lanes))),
            wr.addr.eq(a1),
            wr.data.eq(new),
            wr.en.eq(v1 & keep1),
            oq.push.eq(v1 & last1),
            oq.data.eq(new),
        ]

    def _max(self, a, b):
        if self.spec.dtype.bits == 1:
            return a | b
        if self.spec.dtype.signed:
            return Mux(a.as_signed() > b.as_signed(), a, b)
        return Mux(a > b, a, b)
