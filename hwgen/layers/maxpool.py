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
        return ((self.k - 1) * self.width + self.k - 1) * self.cf + (1 if self.row_walk else 4)

    def output_times(self, arrivals: list[int]) -> list[int]:
        k, cf = self.k, self.cf
        if not self.row_walk:  # each window's fold f ends with its beat (k-1, k-1, f)
            win, n = self.window().output_times(arrivals), k * k * cf
            return steady_times([win[g * n + n - cf + f] for g in range(len(win) // n) for f in range(cf)], 1)
        last = [
            arrivals[((oy * k + k - 1) * self.width + ox * k + k - 1) * cf + f]
            for oy in range(self.oh)
            for ox in range(self.ow)
            for f in range(cf)
        ]
        return steady_times(last, 1)

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
        """Stride k: running maxima of one output row, at ``ox·C/SIMD + cf``; drops the floor remainder."""
        s = self.spec
        k = s.k
        y, x, cf = Signal(c.idx(s.height)), Signal(c.idx(s.width)), Signal(c.idx(s.cf))
        ky, kx, ox = Signal(c.idx(k)), Signal(c.idx(k)), Signal(c.idx(s.ow + 1))
        keep, first, last, step = Signal(), Signal(), Signal(), Signal()
        addr = Signal(c.idx(s.ow * s.cf))
        m.d.comb += [
            keep.eq((x < s.ow * k) & (y < s.oh * k)),
            first.eq((ky == 0) & (kx == 0)),
            last.eq(keep & (ky == k - 1) & (kx == k - 1)),
            addr.eq(ox * s.cf + cf),
        ]
        with m.If(step):
            m.d.sync += cf.eq(c.incr_wrap(cf, s.cf))
            with m.If(cf == s.cf - 1):
                with m.If(x == s.width - 1):
                    m.d.sync += [x.eq(0), kx.eq(0), ox.eq(0)]
                    m.d.sync += [
                        y.eq(c.incr_wrap(y, s.height)),
                        ky.eq(Mux((ky == k - 1) | (y == s.height - 1), 0, ky + 1)),
                    ]
                with m.Else():
                    m.d.sync += [x.eq(x + 1), kx.eq(c.incr_wrap(kx, k))]
                    with m.If(kx == k - 1):
                        m.d.sync += ox.eq(ox + 1)
        return s.ow * s.cf, addr, keep, first, last, step

    def _window_walk(self, m):
        """im2col input: beats (ky, kx, cf) of one window; running maxima per ``cf``."""
        s = self.spec
        n = s.k * s.k
        g, cf = Signal(c.idx(n)), Signal(c.idx(s.cf))
        first, last, step = Signal(), Signal(), Signal()
        m.d.comb += [first.eq(g == 0), last.eq(g == n - 1)]
        with m.If(step):
            m.d.sync += cf.eq(c.incr_wrap(cf, s.cf))
            with m.If(cf == s.cf - 1):
                m.d.sync += g.eq(c.incr_wrap(g, n))
        return s.cf, cf, 1, first, last, step

    def _reduce(self, m, src, depth, addr, keep, first, last, step):
        """Take beats of ``src``; max into ``Memory[addr]`` (or start anew if ``first``); emit on ``last``."""
        simd, b = self.spec.simd, self.spec.dtype.bits
        oq = c.output_queue(m, self.o, simd * b, 2)
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
        old = data.View(data.ArrayLayout(b, simd), rd.data)
        inp = data.View(data.ArrayLayout(b, simd), src.payload)
        lanes = [self._max(old[j], inp[j]) for j in range(simd)]
        m.d.comb += [
            rd.addr.eq(addr),
            new.eq(Mux(first, src.payload, Cat(*lanes))),
            wr.addr.eq(addr),
            wr.data.eq(new),
            wr.en.eq(step & keep),
            oq.push.eq(step & last),
            oq.data.eq(new),
        ]

    def _max(self, a, b):
        if self.spec.dtype.bits == 1:
            return a | b
        if self.spec.dtype.signed:
            return Mux(a.as_signed() > b.as_signed(), a, b)
        return Mux(a > b, a, b)
