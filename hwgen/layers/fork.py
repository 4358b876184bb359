"""Stream fork: one stream sent to two or more consumers (a tensor read by several layers).

Ports
-----
i : In(stream.Signature(unsigned(width)))
o0, o1, ... : Out(stream.Signature(unsigned(width)))

Each output offers the input beat until it has taken it; the input beat is consumed when every output has
(a registered ``done`` flag per output, so a consumer that is ready early takes the beat and waits for the
others). ``o_k.valid`` = ``i.valid`` and not ``done_k``; ``o_k.payload`` = ``i.payload``; ``i.ready`` = every
output ready or done, combinationally: the stitcher puts a FIFO (registered ``ready``) behind every output,
deep enough for the bursts a narrowing width converter behind it takes slower than they come, and a FIFO in
front of the join the branches meet again, sized so that the early branch never makes the fork wait. No
register on the data path: ``latency_cycles = 0``, one beat per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.spec import LaneBufferSpec, LayerSpec

__all__ = ["Fork", "ForkSpec"]


@dataclass(frozen=True, eq=False, kw_only=True)
class ForkSpec(LaneBufferSpec, LayerSpec):
    """A fork of a stream of ``lanes`` elements of ``dtype`` to ``outputs`` consumers."""

    kind: ClassVar[str] = "Fork"

    dtype: DataType
    lanes: int
    outputs: int
    frame_elems: int

    @property
    def out_ports(self) -> int:
        return self.outputs

    @property
    def cycles(self) -> int:
        return self.in_beats

    @property
    def latency(self) -> int:
        return 0

    def output_times(self, arrivals: list[int]) -> list[int]:
        return list(arrivals)

    def resources(self, family: str = "xc7") -> dict:
        return resource_model.estimate(self.kind, family, outputs=self.outputs)

    def component(self) -> Fork:
        return Fork(spec=self)

    def buffer_facts(self) -> dict:
        return {"outputs": self.outputs}


class Fork(c.LayerComponent):
    """One input stream to several outputs; see the module docstring."""

    @staticmethod
    def make_spec(width, outputs, *, beats_per_frame=1) -> ForkSpec:
        from hwgen.ir.datatypes import UINT

        return ForkSpec(
            dtype=UINT(c.check_int("width", width)),
            lanes=1,
            outputs=c.check_int("outputs", outputs, minimum=2),
            frame_elems=c.check_int("beats_per_frame", beats_per_frame),
        )

    def __init__(self, *args, **params):
        s = self.spec
        members = {f"o{k}": Out(stream.Signature(unsigned(s.width))) for k in range(s.outputs)}
        super().__init__({"i": In(stream.Signature(unsigned(s.width)))} | members)

    def elaborate(self, platform):
        m = Module()
        outs = [getattr(self, f"o{k}") for k in range(self.spec.outputs)]
        done = Signal(len(outs))
        m.d.comb += self.i.ready.eq(Cat(*(o.ready | done[k] for k, o in enumerate(outs))).all())
        for k, o in enumerate(outs):
            m.d.comb += [o.valid.eq(self.i.valid & ~done[k]), o.payload.eq(self.i.payload)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += done.eq(0)
        with m.Else():
            m.d.sync += done.eq(done | Cat(*(o.valid & o.ready for o in outs)))
        return m
