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

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import UINT, DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.spec import BufferSpec, LayerSpec, steady_times

__all__ = ["FIFO", "FIFOSpec", "ram_style"]


def ram_style(width: int, depth: int, family: str = "xc7") -> str:
    """``"registers"``, ``"lutram"`` or ``"bram"``: what a FIFO's storage maps to (the resource model's rule,
    calibrated on synthesis, so the manifest and the estimate agree)."""
    if depth <= 2:
        return "registers"
    return "bram" if resource_model.ram_in_block_ram(width, depth, family) else "lutram"


@dataclass(frozen=True, eq=False, kw_only=True)
class FIFOSpec(BufferSpec, LayerSpec):
    """A FIFO of ``depth`` beats of ``lanes`` elements of ``dtype`` between two layers."""

    kind: ClassVar[str] = "FIFO"

    dtype: DataType
    lanes: int
    depth: int
    frame_elems: int

    @property
    def width(self) -> int:
        return self.lanes * self.dtype.bits

    @property
    def in_lanes(self) -> int:
        return self.lanes

    @property
    def out_lanes(self) -> int:
        return self.lanes

    @property
    def ram_style(self) -> str:
        return ram_style(self.width, self.depth)

    @property
    def cycles(self) -> int:
        return self.in_beats * (2 if self.depth == 1 else 1)

    @property
    def latency(self) -> int:
        return 1 if self.depth <= 2 else 2

    def output_times(self, arrivals: list[int]) -> list[int]:
        return steady_times(arrivals, self.latency)

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(self.kind, family, width=self.width, depth=self.depth)

    def component(self) -> FIFO:
        return FIFO(spec=self)

    def buffer_facts(self) -> dict:
        return {"depth": self.depth, "ram_style": self.ram_style}


class FIFO(c.LayerComponent):
    """First-in first-out stream buffer; see the module docstring."""

    @staticmethod
    def make_spec(width, depth, *, beats_per_frame=1) -> FIFOSpec:
        return FIFOSpec(
            dtype=UINT(c.check_int("width", width)),
            lanes=1,
            depth=c.check_int("depth", depth),
            frame_elems=c.check_int("beats_per_frame", beats_per_frame),
        )

    def __init__(self, *args, **params):
        sig = stream.Signature(unsigned(self.spec.width))
        super().__init__({"i": In(sig), "o": Out(sig)})

    @property
    def depth(self) -> int:
        return self.spec.depth

    @property
    def ram_style(self) -> str:
        """``"registers"``, ``"lutram"`` or ``"bram"``: what the storage should map to."""
        return self.spec.ram_style

    def elaborate(self, platform):
        m = Module()
        width, depth = self.spec.width, self.spec.depth
        if depth <= 2:  # registers; ready is "not full", so a depth of 1 passes every other cycle
            q = c.output_queue(m, self.o, width, depth, "q")
            m.d.comb += [
                self.i.ready.eq(q.has_credit),
                q.push.eq(self.i.valid & self.i.ready),
                q.reserve.eq(q.push),
                q.data.eq(self.i.payload),
            ]
            return m
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=width, depth=depth)
        m.d.comb += [
            fifo.w_data.eq(self.i.payload),
            fifo.w_en.eq(self.i.valid),
            self.i.ready.eq(fifo.w_rdy),
            self.o.payload.eq(fifo.r_data),
            self.o.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o.ready),
        ]
        return m
