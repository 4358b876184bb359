"""Pieces shared by the stream layers: parameter checks, widths, the credit-based output queue.

The output queue is how every layer keeps ``i.ready`` free of any combinational path from
``o.ready``: a fixed-latency pipeline never stalls once a beat is issued, and a beat that will
produce an output is issued only while the queue has a free slot counted by a registered credit
counter. ``i.ready`` is then a function of registers only.
"""

from __future__ import annotations

import numbers

import numpy as np
from amaranth.hdl import Array, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import DataType
from hwgen.layers.popcount import popcount, popcount_thresholds

__all__ = [
    "LayerComponent",
    "OutputQueue",
    "check_dtype",
    "check_fold",
    "check_int",
    "delay",
    "delay_all",
    "idx",
    "incr_wrap",
    "int_array",
    "output_queue",
    "popcount",
    "popcount_thresholds",
    "range_shape",
]


class LayerComponent(wiring.Component):
    """Base of the layers' Amaranth components: a component is built from its kind's spec.

    ``Kind(*args, **params)`` validates the parameters into a spec with the subclass's ``make_spec``
    *before* the object exists (a rejected construction leaves no unused elaboratable behind);
    ``Kind(spec=spec)`` takes a spec as it is (what :meth:`hwgen.layers.spec.LayerSpec.component` does).
    The subclass's ``__init__`` builds its signature from ``self.spec``. Cycle and resource model:
    the spec's.
    """

    def __new__(cls, *args, spec=None, **params):
        if spec is None:
            spec = cls.make_spec(*args, **params)
        self = super().__new__(cls, src_loc_at=1)
        self._spec = spec
        return self

    @staticmethod
    def make_spec(*args, **params):  # pragma: no cover - every layer defines it
        raise NotImplementedError

    @property
    def spec(self):
        """The layer's parameters, cycle model and resource model."""
        return self._spec

    @property
    def odt(self):
        """Datatype of the output elements."""
        return self._spec.odt

    @property
    def ii_cycles(self) -> int:
        """Cycles per frame (per input vector for a matrix layer) in steady state."""
        return self._spec.cycles

    @property
    def latency_cycles(self) -> int:
        """First input beat to first output beat, fed one beat per cycle."""
        return self._spec.latency

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``luts``, ``ffs``, ``bram_bits`` (:mod:`hwgen.layers.resource_model`)."""
        return self._spec.resources(family)


def idx(n: int) -> range:
    """Shape of a counter over ``0 .. n-1``, at least one bit wide (no zero-width signals in Verilog)."""
    return range(max(2, n))


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; TypeError / ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"'{name}' must be an int, not {value!r}")
    if value < minimum:
        raise ValueError(f"'{name}' must be >= {minimum}, not {value}")
    return int(value)


def check_fold(name: str, lanes, total: int, total_name: str) -> int:
    """A lane count that divides ``total``."""
    lanes = check_int(name, lanes)
    if total % lanes:
        raise ValueError(f"'{name}'={lanes} must divide {total_name}={total}")
    return lanes


def check_dtype(name: str, dt) -> DataType:
    if not isinstance(dt, DataType):
        raise TypeError(f"'{name}' must be a hwgen.ir.datatypes.DataType, not {dt!r}")
    return dt


def int_array(name: str, value, ndim: int) -> np.ndarray:
    """``value`` as an int64 array of ``ndim`` dimensions holding integers only."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is a type error for the user
        raise TypeError(f"'{name}' must be an array of integers, not {type(value).__name__}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"'{name}' must be an array of integers, not {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"'{name}' must have {ndim} dimensions, not shape {arr.shape}")
    if arr.size and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"'{name}' must hold integer values")
    return arr.astype(np.int64)


def range_shape(lo: int, hi: int) -> Shape:
    """Narrowest Amaranth shape holding every integer of ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    if lo >= 0:
        return unsigned(max(1, hi.bit_length()))
    bits = max((-lo - 1).bit_length(), hi.bit_length() if hi > 0 else 0) + 1
    return signed(bits)


class OutputQueue(wiring.Component):
    """A small register FIFO driving stream ``o``, with a credit counter for the producer.

    The producer asserts ``reserve`` in the cycle it issues work that will later ``push`` one beat,
    and may only do so while ``has_credit`` (registered) is high. ``push``/``data`` write a beat.
    ``depth`` must cover the beats in flight for full throughput: reserve-to-pop distance / rate.

    Members
    -------
    reserve, push : In(1)
    data : In(width)
    has_credit : Out(1)
    o : Out(stream.Signature(width)), connect it to the owner's output stream.
    """

    def __init__(self, width: int, depth: int):
        self._width, self._depth = width, depth
        super().__init__(
            {
                "reserve": In(1),
                "push": In(1),
                "data": In(width),
                "has_credit": Out(1),
                "o": Out(stream.Signature(unsigned(width))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        depth, o = self._depth, self.o
        entries = Array(Signal(self._width, name=f"e{k}") for k in range(depth))
        wp = Signal(idx(depth))
        rp = Signal(idx(depth))
        level, level_next = Signal(idx(depth + 1)), Signal(idx(depth + 1))
        owed, owed_next = Signal(idx(depth + 1)), Signal(idx(depth + 1))
        # ``o.valid`` and ``has_credit`` straight from flip-flops: their comparisons are made one cycle
        # early on the next level and the next credit count (same values, no logic after the register)
        nonempty, credit = Signal(), Signal(init=1)
        pop = Signal()
        m.d.comb += [
            o.valid.eq(nonempty),
            o.payload.eq(entries[rp]),
            pop.eq(o.valid & o.ready),
            self.has_credit.eq(credit),
            level_next.eq(level + self.push - pop),
            owed_next.eq(owed + self.reserve - pop),
        ]
        with m.If(self.push):
            m.d.sync += [entries[wp].eq(self.data), wp.eq(incr_wrap(wp, depth))]
        with m.If(pop):
            m.d.sync += rp.eq(incr_wrap(rp, depth))
        m.d.sync += [
            level.eq(level_next),
            nonempty.eq(level_next != 0),
            owed.eq(owed_next),
            credit.eq(owed_next < depth),
        ]
        return m


def output_queue(m: Module, o, width: int, depth: int, name: str = "oq") -> OutputQueue:
    """An :class:`OutputQueue` added to ``m`` as submodule ``name`` and driving the owner's stream ``o``."""
    q = OutputQueue(width, depth)
    m.submodules[name] = q
    wiring.connect(m, q.o, wiring.flipped(o))
    return q


def delay(m: Module, value, name: str):
    """``value`` one clock cycle later (a register)."""
    reg = Signal.like(value, name=name) if isinstance(value, Signal) else Signal(len(value), name=name)
    m.d.sync += reg.eq(value)
    return reg


def delay_all(m: Module, values, prefix: str) -> tuple:
    """Each signal of ``values`` one clock cycle later."""
    return tuple(delay(m, v, f"{prefix}_{v.name}") for v in values)


def incr_wrap(x, n: int):
    """``x + 1``, wrapping to 0 after ``n - 1`` (a counter over ``0 .. n-1``)."""
    return Mux(x == n - 1, 0, x + 1)
