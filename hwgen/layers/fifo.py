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
One beat per cycle in and out; ``ii_cycles = beats_per_frame`` (twice that for ``depth == 1``, which passes
a beat every other cycle). A FIFO of at most :data:`SHIFT_BITS` bits is a shift queue of registers
(:class:`~hwgen.layers._common.OutputQueue`): ``latency_cycles = 1``. A larger one keeps ``depth - QUEUE``
beats in a memory (LUTRAM or block RAM, synchronous write and read) in front of a :data:`QUEUE`-beat shift
queue: ``latency_cycles = 3`` (write, read, queue). A memory that may be a block RAM on some family
(``resource_model.read_registered``) has its read word go through a plain register first (the block RAM's
own output register where the family has one; its clock-to-out alone would take most of a fast clock's
period): one more cycle and one more queue entry. Either way ``i.ready``, ``o.valid`` and ``o.payload`` are
flip-flops and every flag is a register updated without an adder in front, so FIFOs and layers chain without
long or combinational paths. ``ram_style`` says what synthesis is expected to infer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import UINT, DataType
from hwgen.layers import _common as c
from hwgen.layers import resource_model
from hwgen.layers.spec import LaneBufferSpec, LayerSpec, steady_times

__all__ = ["FIFO", "FIFOSpec", "QUEUE", "ram_style"]

#: Beats of the register output queue behind a FIFO's memory.
QUEUE = 3
#: Largest FIFO (width x depth bits) built as a shift queue of registers.
SHIFT_BITS = resource_model.FIFO_SHIFT_BITS


def ram_style(width: int, depth: int, family: str = "xc7") -> str:
    """``"registers"`` (a shift queue), ``"lutram"`` or ``"bram"``: what a FIFO's storage maps to (the
    resource model's rule, calibrated on synthesis, so the manifest and the estimate agree)."""
    if resource_model.fifo_in_registers(width, depth):
        return "registers"
    return "bram" if resource_model.ram_in_block_ram(width, depth, family) else "lutram"


@dataclass(frozen=True, eq=False, kw_only=True)
class FIFOSpec(LaneBufferSpec, LayerSpec):
    """A FIFO of ``depth`` beats of ``lanes`` elements of ``dtype`` between two layers."""

    kind: ClassVar[str] = "FIFO"

    dtype: DataType
    lanes: int
    depth: int
    frame_elems: int

    @property
    def ram_style(self) -> str:
        return ram_style(self.width, self.depth)

    @property
    def cycles(self) -> int:
        return self.in_beats * (2 if self.depth == 1 else 1)

    @property
    def latency(self) -> int:
        return 1 if self.ram_style == "registers" else QUEUE + self.read_register

    @property
    def read_register(self) -> bool:
        """The memory's read word is registered (it may be a block RAM on some family)."""
        return self.ram_style != "registers" and resource_model.read_registered(self.width, self.depth)

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
        if self.ram_style == "registers":  # ready is "not full": a depth of 1 passes every other cycle
            q = c.output_queue(m, self.o, width, depth, "q")
            m.d.comb += [
                self.i.ready.eq(q.has_credit),
                q.push.eq(self.i.valid & self.i.ready),
                q.reserve.eq(q.push),
                q.data.eq(self.i.payload),
            ]
            return m
        self._memory(m, width, depth - QUEUE - self.spec.read_register)
        return m

    def _memory(self, m, width: int, n: int):
        """An ``n``-beat memory in front of a QUEUE-beat output queue."""
        reg = self.spec.read_register
        q = c.output_queue(m, self.o, width, QUEUE + reg, "q")
        mem = Memory(shape=unsigned(width), depth=max(2, n), init=[], attrs=c.ram_attrs(reg))
        m.submodules.mem = mem
        wr, rd = mem.write_port(), mem.read_port()
        wp, rp = Signal(c.idx(n)), Signal(c.idx(n))
        count = Signal(c.idx(n + 1))
        full, nonempty, pending = Signal(), Signal(), Signal()  # registers; pending: a read in flight
        write, read = Signal(), Signal()
        word, ready_word = rd.data, pending
        if reg:  # the read word is in its register a cycle later
            word, ready_word = c.delay(m, rd.data, "word", reset_less=True), c.delay(m, pending, "pending2")
        m.d.comb += [
            self.i.ready.eq(~full),
            write.eq(self.i.valid & ~full),
            read.eq(nonempty & q.has_credit),
            q.reserve.eq(read),
            q.push.eq(ready_word),
            q.data.eq(word),
            wr.addr.eq(wp),
            wr.data.eq(self.i.payload),
            wr.en.eq(write),
            rd.addr.eq(rp),
            rd.en.eq(read),
        ]
        m.d.sync += pending.eq(read)
        with m.If(write):
            m.d.sync += wp.eq(c.incr_wrap(wp, n))
        with m.If(read):
            m.d.sync += rp.eq(c.incr_wrap(rp, n))
        # count and its flags, each next flag from registers and the two strobes only (no adder before it)
        with m.If(write & ~read):
            m.d.sync += [count.eq(count + 1), nonempty.eq(1), full.eq(count == n - 1)]
        with m.Elif(read & ~write):
            m.d.sync += [count.eq(count - 1), nonempty.eq(count != 1), full.eq(0)]
