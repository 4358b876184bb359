"""Stream FIFO between layers, storage in an Amaranth ``Memory`` (LUTRAM or BRAM by its size).

Ports
-----
i : In(stream.Signature(unsigned(width)))
o : Out(stream.Signature(unsigned(width)))

Parameters
----------
width : int, payload bits.
depth : int, beats it can hold (>= 1).
beats_per_frame : int, beats of one frame (only for the cycle model; default 1).

Cycle model
-----------
One beat per cycle in and out; ``ii_cycles = beats_per_frame`` (twice that for ``depth == 1``,
which passes a beat every other cycle); ``latency_cycles = 2`` for ``depth >= 3`` (memory write,
read into the output register), ``1`` for ``depth <= 2`` (registers). ``i.ready`` and ``o.valid``
are registered, so FIFOs and layers chain without combinational loops. ``ram_style`` says what
synthesis is expected to infer.
"""

from __future__ import annotations

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from hwgen.layers import _common as c
from hwgen.layers._resources import estimate

__all__ = ["FIFO", "ram_style"]


def ram_style(width: int, depth: int, family: str = "xc7") -> str:
    """``"registers"``, ``"lutram"`` or ``"bram"``: what a FIFO's storage maps to (the resource model's rule,
    calibrated on synthesis, so the manifest and the estimate agree)."""
    from hwgen.layers.resource_model import _memory

    if depth <= 2:
        return "registers"
    return "bram" if _memory(width, depth, family, rom=False)[2] else "lutram"


class FIFO(wiring.Component):
    """First-in first-out stream buffer; see the module docstring."""

    @c.quiet_on_error
    def __init__(self, width, depth, *, beats_per_frame=1):
        self._width = c.check_int("width", width)
        self._depth = c.check_int("depth", depth)
        self._frame = c.check_int("beats_per_frame", beats_per_frame)
        super().__init__(
            {"i": In(stream.Signature(unsigned(width))), "o": Out(stream.Signature(unsigned(width)))}
        )

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def ram_style(self) -> str:
        """``"registers"``, ``"lutram"`` or ``"bram"``: what the storage should map to."""
        return ram_style(self._width, self._depth)

    @property
    def ii_cycles(self) -> int:
        return self._frame * (2 if self._depth == 1 else 1)

    @property
    def latency_cycles(self) -> int:
        return 1 if self._depth <= 2 else 2

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits``."""
        return estimate("fifo", family, width=self._width, depth=self._depth)

    def elaborate(self, platform):
        m = Module()
        if self._depth <= 2:  # registers; ready is "not full", so a depth of 1 passes every other cycle
            q = c.OutputQueue(m, self.o, self._width, self._depth, "q")
            m.d.comb += [
                self.i.ready.eq(q.has_credit),
                q.push.eq(self.i.valid & self.i.ready),
                q.reserve.eq(q.push),
                q.data.eq(self.i.payload),
            ]
            return m
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=self._width, depth=self._depth)
        m.d.comb += [
            fifo.w_data.eq(self.i.payload),
            fifo.w_en.eq(self.i.valid),
            self.i.ready.eq(fifo.w_rdy),
            self.o.payload.eq(fifo.r_data),
            self.o.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o.ready),
        ]
        return m
