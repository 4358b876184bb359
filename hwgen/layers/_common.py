"""Pieces shared by the stream layers: parameter checks, widths, the credit-based output queue.

The output queue is how every layer keeps ``i.ready`` free of any combinational path from
``o.ready``: a fixed-latency pipeline never stalls once a beat is issued, and a beat that will
produce an output is issued only while the queue has a free slot counted by a registered credit
counter. ``i.ready`` is then a function of registers only.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
from amaranth.hdl import Array, Module, Mux, Shape, Signal, signed, unsigned

from hwgen.ir.datatypes import DataType
from hwgen.layers.popcount import popcount, popcount_thresholds

__all__ = [
    "OutputQueue",
    "check_dtype",
    "check_fold",
    "check_int",
    "idx",
    "int_array",
    "popcount",
    "popcount_thresholds",
    "quiet_on_error",
    "range_shape",
]


def quiet_on_error(init):
    """Decorate a component ``__init__`` so that a rejected construction does not also warn
    "created but never used" (amaranth's check for elaboratables) when the object is collected."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except Exception:
            self._MustUse__silence = True
            raise

    return wrapper


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


class OutputQueue:
    """A small register FIFO driving stream ``o``, with a credit counter for the producer.

    The producer asserts ``reserve`` in the cycle it issues work that will later ``push`` one beat,
    and may only do so while ``has_credit`` (registered) is high. ``push``/``data`` write a beat.
    ``depth`` must cover the beats in flight for full throughput: reserve-to-pop distance / rate.
    """

    def __init__(self, m: Module, o, width: int, depth: int, name: str = "oq"):
        self.reserve = Signal(name=f"{name}_reserve")
        self.push = Signal(name=f"{name}_push")
        self.data = Signal(width, name=f"{name}_data")
        self.has_credit = Signal(name=f"{name}_has_credit")
        entries = Array(Signal(width, name=f"{name}_e{k}") for k in range(depth))
        wp = Signal(idx(depth), name=f"{name}_wp")
        rp = Signal(idx(depth), name=f"{name}_rp")
        level = Signal(idx(depth + 1), name=f"{name}_level")
        owed = Signal(idx(depth + 1), name=f"{name}_owed")
        pop = Signal(name=f"{name}_pop")
        m.d.comb += [
            o.valid.eq(level != 0),
            o.payload.eq(entries[rp]),
            pop.eq(o.valid & o.ready),
            self.has_credit.eq(owed < depth),
        ]
        with m.If(self.push):
            m.d.sync += [entries[wp].eq(self.data), wp.eq(Mux(wp == depth - 1, 0, wp + 1))]
        with m.If(pop):
            m.d.sync += rp.eq(Mux(rp == depth - 1, 0, rp + 1))
        m.d.sync += [level.eq(level + self.push - pop), owed.eq(owed + self.reserve - pop)]
