"""Sliding-window (im2col) generator for k×k convolutions, with stride and optional zero/constant padding.

Produces :func:`hwgen.golden.ops.sliding_window` as a stream: for every output pixel (oy, ox), row
by row, the window vector in (ky, kx, c) order, c fastest, folded by SIMD. With ``depthwise`` the same
window comes channel fold by channel fold, each fold's taps (ky, kx) in a row (order (cf, ky, kx), SIMD
channels per beat): what a depthwise layer consumes (:mod:`hwgen.layers.depthwise`). Input pixels go into a
circular buffer (a ``Memory``, LUTRAM or BRAM by size) written as they arrive; a reader walks the
windows and reads each beat once it has been written, emitting ``pad_value`` beats for positions
outside the image without reading. The writer may overwrite a slot only when no remaining window
needs it, and runs up to one frame ahead of the reader, so consecutive images overlap.

Ports
-----
i : In(stream.Signature(unsigned(SIMD * dtype.bits)))
    ``H·W·C/SIMD`` beats per image, pixel (y, x) channel fold ``cf`` at ``(y·W + x)·C/SIMD + cf``.
o : Out(stream.Signature(unsigned(SIMD * dtype.bits)))
    ``OH·OW·kh·kw·C/SIMD`` beats per image.

Parameters
----------
height, width, channels : int, the input image.
k : int or (kh, kw); stride : int; pad : int (< kh and < kw), on every border, or (top, left, bottom, right)
(top and bottom < kh, left and right < kw);
pad_value : int, a value of ``dtype`` (used when pad > 0); simd : int, divisor of channels; dtype : DataType;
depthwise : bool, the output order above.

Cycle model
-----------
``ii_cycles = max(H·W, OH·OW·kh·kw) · C/SIMD`` (the busier side moves one beat per cycle; at
least 2);
``latency_cycles = 3`` (write, read, output queue), 4 when the buffer may be a block RAM (its read word
goes through a register first). A frame's output, padding included, starts only after its first input
beat has arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import DataType
from hwgen.layers import _common as c
from hwgen.layers import _window as w_
from hwgen.layers import resource_model
from hwgen.layers.spec import ImageSpec, LayerSpec

__all__ = ["SlidingWindow", "SlidingWindowSpec"]

#: Buffer write, read, output queue (one more with a registered block-RAM read word).
LATENCY = 3


@dataclass(frozen=True, eq=False, kw_only=True)
class SlidingWindowSpec(ImageSpec, LayerSpec):
    """Parameters, cycle and resource model of the sliding-window generator."""

    kind: ClassVar[str] = "SlidingWindow"
    options: ClassVar[tuple[str, ...]] = ("simd",)

    height: int
    width: int
    channels: int
    kh: int
    kw: int
    stride: int = 1
    pad: int = 0
    pads: tuple[int, int, int, int] | None = None  # (top, left, bottom, right) when the borders differ
    pad_value: int = 0
    simd: int = 1
    dtype: DataType
    depthwise: bool = False

    @classmethod
    def create(
        cls,
        height,
        width,
        channels,
        *,
        k,
        stride=1,
        pad=0,
        pad_value=0,
        simd=1,
        dtype,
        depthwise=False,
        name="",
    ) -> SlidingWindowSpec:
        kh, kw = tuple(k) if isinstance(k, tuple | list) and len(k) == 2 else (k, k)
        four = tuple(pad) if isinstance(pad, tuple | list) and len(pad) == 4 else (pad,) * 4
        four = tuple(c.check_int("pad", v, minimum=0) for v in four)
        even = len(set(four)) == 1
        spec = cls(
            height=c.check_int("height", height), width=c.check_int("width", width),
            channels=c.check_int("channels", channels), kh=c.check_int("k", kh), kw=c.check_int("k", kw),
            stride=c.check_int("stride", stride), pad=four[0] if even else 0, pads=None if even else four,
            pad_value=pad_value, simd=simd, dtype=c.check_dtype("dtype", dtype), depthwise=bool(depthwise),
            name=name,
        )  # fmt: skip
        t, left, b, r = spec.borders
        if max(t, b) >= spec.kh or max(left, r) >= spec.kw:
            raise ValueError(f"'pad'={pad} must be smaller than the window {spec.kh}x{spec.kw}")
        c.check_fold("simd", simd, spec.channels, "channels")
        if any(spec.borders) and not spec.dtype.allowed(pad_value):
            raise ValueError(f"'pad_value'={pad_value!r} is not a {spec.dtype} value")
        if spec.oh < 1 or spec.ow < 1:
            hp, wp = spec.height + t + b, spec.width + left + r
            raise ValueError(f"a {spec.kh}x{spec.kw} window does not fit a {hp}x{wp} (padded) image")
        return spec

    @classmethod
    def from_node(cls, node, simd: int = 1) -> SlidingWindowSpec:
        a = node.attrs
        (h, w), ch = a["ifm_dim"], a["channels"]
        return cls.create(
            h, w, ch, k=a["k"], stride=a["stride"], pad=a["pad"], pad_value=a["pad_value"], simd=simd,
            dtype=a["dtype"], name=node.name,
        )  # fmt: skip

    @property
    def borders(self) -> tuple[int, int, int, int]:
        """Padding (top, left, bottom, right)."""
        return self.pads or (self.pad,) * 4

    @property
    def oh(self) -> int:
        t, _, b, _ = self.borders
        return (self.height + t + b - self.kh) // self.stride + 1

    @property
    def ow(self) -> int:
        _, left, _, r = self.borders
        return (self.width + left + r - self.kw) // self.stride + 1

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.oh, self.ow, self.kh * self.kw * self.channels

    @property
    def buffer_depth(self) -> int:
        """Words of the circular buffer (a power of two)."""
        need = ((self.kh + self.stride) * self.width + self.kw + self.stride) * self.cf
        return 1 << max(1, (need - 1).bit_length())

    @property
    def out_elems(self) -> int:
        return self.oh * self.ow * self.kh * self.kw * self.channels

    @property
    def cycles(self) -> int:
        # A one-beat frame (1x1 image, C = SIMD) takes two cycles: the writer stays within one frame
        # of the reader.
        return max(self.in_beats, self.out_beats, 2)

    @property
    def latency(self) -> int:
        return LATENCY + self.read_register

    @property
    def read_register(self) -> bool:
        """The buffer is a block RAM (on some family: ``resource_model.read_registered``), and its read
        word goes through a plain register (the block RAM's own output register, where the family has one:
        :mod:`hwgen.flow.ecp5_pack`)."""
        return resource_model.read_registered(self.simd * self.dtype.bits, self.buffer_depth)

    @property
    def drain(self) -> int:
        # once the frame's last beat is written, every read is ready: one beat per cycle, then the queue
        return self.latency + self.out_beats + 2

    def window_reads(self):
        """Input beat each output beat reads (None for padding), in output order."""
        h, w, cf, s = self.height, self.width, self.cf, self.stride
        top, left = self.borders[:2]
        for oy in range(self.oh):
            for ox in range(self.ow):
                taps = [(ky, kx) for ky in range(self.kh) for kx in range(self.kw)]
                order = (
                    [(t, f) for f in range(cf) for t in taps]
                    if self.depthwise
                    else [(t, f) for t in taps for f in range(cf)]
                )
                for (ky, kx), f in order:
                    iy, ix = oy * s - top + ky, ox * s - left + kx
                    inside = 0 <= iy < h and 0 <= ix < w
                    yield (iy * w + ix) * cf + f if inside else None

    def output_times(self, arrivals: list[int]) -> list[int]:
        """A beat is read once written (padding: once the frame has begun), then the output queue."""
        out, t = [], -1
        for rb in self.window_reads():
            t = max(t + 1, arrivals[0 if rb is None else rb] + 1)
            out.append(t + self.latency - 1)
        return out

    def resource_params(self) -> dict:
        """What the resource model prices: the line buffer's word width and depth, the counters' bits."""
        # window counters, the tap's pixel (iy, ix), the beats rb and wbase, the buffer's room (two) and
        # its pointers
        pixel, frame = max(self.height, self.width).bit_length(), self.in_beats.bit_length()
        counters = 6 * pixel + 4 * frame + 3 * self.buffer_depth.bit_length()
        return {"width": self.simd * self.dtype.bits, "depth": self.buffer_depth, "counters_bits": counters}

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(self.kind, family, **self.resource_params())

    def component(self) -> SlidingWindow:
        return SlidingWindow(spec=self)


class SlidingWindow(c.LayerComponent):
    """im2col stream generator; see the module docstring."""

    make_spec = staticmethod(SlidingWindowSpec.create)

    def __init__(self, *args, **params):
        sig = stream.Signature(unsigned(self.spec.simd * self.spec.dtype.bits))
        super().__init__({"i": In(sig), "o": Out(sig)})

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.spec.out_shape

    def elaborate(self, platform):
        m = Module()
        s = self.spec
        h, w, cf_n = s.height, s.width, s.cf
        top, left = s.borders[:2]
        kh, kw, depth, frame = s.kh, s.kw, s.buffer_depth, s.in_beats
        width = s.simd * s.dtype.bits
        oq = c.output_queue(m, self.o, width, 3 + s.read_register)  # the beats in flight
        attrs = c.ram_attrs(s.read_register)
        m.submodules.buf = buf = Memory(shape=unsigned(width), depth=depth, init=[], attrs=attrs)
        wr = buf.write_port()
        rd = buf.read_port()

        lead, lead_n = Signal(signed(2)), Signal(signed(2))  # writer's frame minus reader's: -1, 0 or 1
        w_wrap, r_wrap = Signal(), Signal()
        m.d.comb += lead_n.eq(lead + w_wrap - r_wrap)
        m.d.sync += lead.eq(lead_n)

        # Reader position: the window's counters and its top-left (ty, tx) in padded-out coordinates.
        # Everything the handshakes test is a register kept equal to what it stands for, so no multiplier
        # or adder sits between a flip-flop and ``issue`` or ``i.ready`` (_advance updates them):
        # (iy, ix) the tap's input pixel; rb = (iy·W + ix)·C/SIMD + cf the beat it reads (when inside);
        # room = lb + depth, lb the oldest beat any remaining window of the frame needs; whether beat rb
        # has been written is the sign of a register (_window.reader_gap), not a comparison.
        ty = Signal(signed(max(h, top + 1).bit_length() + 2), init=-top)
        tx = Signal(signed(max(w, left + 1).bit_length() + 2), init=-left)
        iy, ix = Signal(ty.shape(), init=-top), Signal(tx.shape(), init=-left)
        rb0 = (-top * w - left) * cf_n
        rb_hi = (((s.oh - 1) * s.stride - top + kh - 1) * w + (s.ow - 1) * s.stride - left + kw) * cf_n
        rb, wbase = Signal(c.range_shape(rb0, rb_hi), init=rb0), Signal(c.range_shape(rb0, rb_hi), init=rb0)
        row_lb, row_neg = Signal(c.idx(frame), init=w_.row_start(s, 0)), Signal(init=top > 0)
        # the tap is inside the image: two flags moved with iy and ix (_window.advance)
        row_in, col_in = Signal(init=top == 0), Signal(init=left == 0)
        inside = row_in & col_in
        n = len(Signal(c.idx(frame)))

        # Reader: issue one beat when it is padding or already written, and the queue has room.
        wb = Signal(c.idx(frame))  # the next beat the writer stores
        wb_zero = Signal(init=1)  # wb == 0 (_window.writer)
        rbase = Signal(c.idx(depth))
        started, written = Signal(), Signal()  # the reader's frame has begun; its beat rb has arrived
        issue = Signal(attrs={"keep": 1})  # a LUT output: the handshakes select with it last
        m.d.comb += [
            started.eq((lead == 1) | ((lead == 0) & ~wb_zero)),
            issue.eq(oq.has_credit & started & (~inside | written)),
            oq.reserve.eq(issue),
            rd.addr.eq(rbase + rb[:n]),
        ]
        # The read word (through its register with a block RAM), then the padding multiplexer, into the
        # queue.
        word, pad, push = rd.data, c.delay(m, ~inside, "pad1"), issue
        if s.read_register:
            word, pad, push = (
                c.delay(m, word, "word", reset_less=True),
                c.delay(m, pad, "pad2"),
                c.delay(m, push, "push1"),
            )
        m.d.sync += oq.push.eq(push)
        pad_word = s.dtype.pack([s.pad_value] * s.simd, s.simd)[0] if any(s.borders) else 0
        m.d.comb += oq.data.eq(Mux(pad, pad_word, word))
        regs = (ty, tx, rbase, iy, ix, row_in, col_in, rb, wbase, row_lb, row_neg)
        ends, lb_next, cases = w_.advance(m, s, regs, issue)
        m.d.comb += written.eq(w_.reader_gap(m, s, rb0, issue, wr.en, cases, rb_hi))
        m.d.comb += r_wrap.eq(issue & ends[1])  # the frame's last read issued
        w_.writer(m, s, self.i, wr, (wb, wb_zero), (lead, w_wrap), issue, ends, lb_next)
        return m
