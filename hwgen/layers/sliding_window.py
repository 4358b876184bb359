"""Sliding-window (im2col) generator for k×k convolutions, with stride and optional zero/constant padding.

Produces :func:`hwgen.golden.ops.sliding_window` as a stream: for every output pixel (oy, ox), row
by row, the window vector in (ky, kx, c) order, c fastest, folded by SIMD. Input pixels go into a
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
k : int or (kh, kw); stride : int; pad : int (< kh and < kw), on every border;
pad_value : int, a value of ``dtype`` (used when pad > 0); simd : int, divisor of channels; dtype : DataType.

Cycle model
-----------
``ii_cycles = max(H·W, OH·OW·kh·kw) · C/SIMD`` (the busier side moves one beat per cycle; at
least 2);
``latency_cycles = 3`` (write, read, output queue). A frame's output, padding included, starts
only after its first input beat has arrived.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.layers import _common as c
from hwgen.layers._resources import estimate

__all__ = ["SlidingWindow"]


class SlidingWindow(wiring.Component):
    """im2col stream generator; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, height, width, channels, *, k, stride=1, pad=0, pad_value=0, simd, dtype):
        self._h = c.check_int("height", height)
        self._w = c.check_int("width", width)
        self._c = c.check_int("channels", channels)
        kh, kw = tuple(k) if isinstance(k, (tuple, list)) and len(k) == 2 else (k, k)
        self._kh, self._kw = c.check_int("k", kh), c.check_int("k", kw)
        self._s = c.check_int("stride", stride)
        self._pad = c.check_int("pad", pad, minimum=0)
        if self._pad >= min(self._kh, self._kw):
            raise ValueError(f"'pad'={pad} must be smaller than the window {self._kh}x{self._kw}")
        self._simd = c.check_fold("simd", simd, self._c, "channels")
        self._dt = c.check_dtype("dtype", dtype)
        if self._pad and not self._dt.allowed(pad_value):
            raise ValueError(f"'pad_value'={pad_value!r} is not a {self._dt} value")
        self._pad_code = int(self._dt.encode(pad_value)) if self._pad else 0
        hp, wp = self._h + 2 * self._pad, self._w + 2 * self._pad
        self._oh, self._ow = (hp - self._kh) // self._s + 1, (wp - self._kw) // self._s + 1
        if self._oh < 1 or self._ow < 1:
            raise ValueError(f"a {self._kh}x{self._kw} window does not fit a {hp}x{wp} (padded) image")
        self._cf = self._c // self._simd
        self._frame_in = self._h * self._w * self._cf
        need = ((self._kh + self._s) * self._w + self._kw + self._s) * self._cf
        self._depth = 1 << max(1, (need - 1).bit_length())
        sig = stream.Signature(unsigned(self._simd * self._dt.bits))
        super().__init__({"i": In(sig), "o": Out(sig)})

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self._oh, self._ow, self._kh * self._kw * self._c

    @property
    def buffer_depth(self) -> int:
        """Words of the circular buffer (a power of two)."""
        return self._depth

    @property
    def ii_cycles(self) -> int:
        # A one-beat frame (1x1 image, C = SIMD) takes two cycles: the writer stays within one frame
        # of the reader.
        return max(self._frame_in, self._oh * self._ow * self._kh * self._kw * self._cf, 2)

    @property
    def latency_cycles(self) -> int:
        return 3

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        counters = 4 * max(self._h, self._w).bit_length() + 3 * self._depth.bit_length()
        return estimate(
            "sliding_window",
            family,
            width=self._simd * self._dt.bits,
            depth=self._depth,
            counters_bits=counters,
        )

    def elaborate(self, platform):
        m = Module()
        h, w, cf_n, pad = self._h, self._w, self._cf, self._pad
        kh, kw, depth, frame = self._kh, self._kw, self._depth, self._frame_in
        width = self._simd * self._dt.bits
        m.submodules.oq = oq_mod = Module()
        oq = c.OutputQueue(oq_mod, self.o, width, 3)
        m.submodules.buf = buf = Memory(shape=unsigned(width), depth=depth, init=[])
        wr = buf.write_port()
        rd = buf.read_port()

        lead = Signal(signed(2))  # writer's frame minus reader's frame: -1, 0 or 1
        w_wrap, r_wrap = Signal(), Signal()
        m.d.sync += lead.eq(lead + w_wrap - r_wrap)

        # Reader position: window top-left (ty, tx) in padded-out coordinates, offsets in the window.
        oy, ox = Signal(c.idx(self._oh)), Signal(c.idx(self._ow))
        ky, kx, cf = Signal(c.idx(kh)), Signal(c.idx(kw)), Signal(c.idx(cf_n))
        ty = Signal(signed(max(h, pad + 1).bit_length() + 2), init=-pad)
        tx = Signal(signed(max(w, pad + 1).bit_length() + 2), init=-pad)
        iy, ix = Signal(ty.shape()), Signal(tx.shape())
        inside = Signal()
        rb = Signal(c.idx(frame))  # beat of the frame this read needs
        lb = Signal(c.idx(frame))  # oldest beat any remaining window needs
        m.d.comb += [
            iy.eq(ty + ky),
            ix.eq(tx + kx),
            inside.eq((iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)),
            rb.eq(((iy * w + ix) * cf_n + cf).as_unsigned()),
            lb.eq(Mux(ty < 0, 0, ((ty * w + Mux(tx < 0, 0, tx)) * cf_n).as_unsigned())),
        ]

        # Writer.
        wb = Signal(c.idx(frame))
        wslot = Signal(c.idx(depth))
        dist = Signal(signed(len(wb) + len(lb) + 3))
        m.d.comb += [
            dist.eq(wb - lb + Mux(lead == 1, frame, 0)),
            # ahead of the oldest needed beat by less than the buffer, and never two frames ahead
            self.i.ready.eq((lead == -1) | ((dist < depth) & ~((lead == 1) & (wb == frame - 1)))),
            wr.addr.eq(wslot),
            wr.data.eq(self.i.payload),
            wr.en.eq(self.i.valid & self.i.ready),
        ]
        with m.If(wr.en):
            m.d.sync += [wb.eq(Mux(wb == frame - 1, 0, wb + 1)), wslot.eq(wslot + 1)]
            m.d.comb += w_wrap.eq(wb == frame - 1)

        # Reader: issue one beat when it is padding or already written, and the queue has room.
        rbase = Signal(c.idx(depth))
        started, written = Signal(), Signal()  # the reader's frame has begun; its beat rb has arrived
        issue = Signal()
        m.d.comb += [
            started.eq((lead == 1) | ((lead == 0) & (wb != 0))),
            written.eq((lead == 1) | ((lead == 0) & (rb < wb))),
            issue.eq(oq.has_credit & started & (~inside | written)),
            oq.reserve.eq(issue),
            rd.addr.eq(rbase + rb),
        ]
        pad1 = Signal()
        m.d.sync += [pad1.eq(~inside), oq.push.eq(issue)]
        pad_word = sum(self._pad_code << (j * self._dt.bits) for j in range(self._simd))
        m.d.comb += oq.data.eq(Mux(pad1, pad_word, rd.data))
        with m.If(issue):
            self._advance(m, (oy, ox, ky, kx, cf, ty, tx, rbase), r_wrap)
        return m

    def _advance(self, m, regs, r_wrap):
        oy, ox, ky, kx, cf, ty, tx, rbase = regs
        s, pad = self._s, self._pad
        m.d.sync += cf.eq(Mux(cf == self._cf - 1, 0, cf + 1))
        with m.If(cf == self._cf - 1):
            m.d.sync += kx.eq(Mux(kx == self._kw - 1, 0, kx + 1))
            with m.If(kx == self._kw - 1):
                m.d.sync += ky.eq(Mux(ky == self._kh - 1, 0, ky + 1))
                with m.If(ky == self._kh - 1):
                    with m.If(ox == self._ow - 1):
                        m.d.sync += [ox.eq(0), tx.eq(-pad)]
                        with m.If(oy == self._oh - 1):
                            m.d.sync += [
                                oy.eq(0),
                                ty.eq(-pad),
                                rbase.eq(rbase + self._frame_in % self._depth),
                            ]
                            m.d.comb += r_wrap.eq(1)
                        with m.Else():
                            m.d.sync += [oy.eq(oy + 1), ty.eq(ty + s)]
                    with m.Else():
                        m.d.sync += [ox.eq(ox + 1), tx.eq(tx + s)]
