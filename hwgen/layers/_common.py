"""Pieces shared by the stream layers: parameter checks, widths, the credit-based output queue.

The output queue is how every layer keeps ``i.ready`` free of any combinational path from
``o.ready``: a fixed-latency pipeline never stalls once a beat is issued, and a beat that will
produce an output is issued only while the queue has a free slot counted by a registered credit
counter. ``i.ready`` is then a function of registers only.
"""

from __future__ import annotations

import numbers

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.ir.datatypes import DataType
from hwgen.layers import resource_model
from hwgen.layers.popcount import popcount, popcount_thresholds

__all__ = [
    "LayerComponent",
    "OutputQueue",
    "check_dtype",
    "check_fold",
    "check_int",
    "delay",
    "delay_all",
    "fold_counter",
    "idx",
    "incr_wrap",
    "issue_folds",
    "int_array",
    "lut_output",
    "output_queue",
    "popcount",
    "popcount_thresholds",
    "range_shape",
    "vector_buffer",
    "accumulators",
    "push_outputs",
]

#: Largest MVTU input-vector buffer (bits) kept in a rotating shift register rather than a memory.
SHIFT_BUFFER_BITS = 1024


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


def ram_attrs(read_register: bool) -> dict:
    """Attributes of a RAM whose reads never need what a write to the same word in the same cycle does
    (the writer and the reader never meet on a word that is read). Given only to a RAM whose read word is
    registered (one that may be a block RAM): yosys then adds no collision logic after the block RAM, and
    the register can move into its output register (:mod:`hwgen.flow.ecp5_pack`). A smaller RAM keeps
    yosys' choice of distributed RAM, which the attribute would tip towards a block RAM read without one."""
    return {"no_rw_check": 1} if read_register else {}


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
    credit_next : Out(1), what ``has_credit`` will be after this cycle (for an owner that registers
        a flag derived from it).
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
                "credit_next": Out(1),
                "o": Out(stream.Signature(unsigned(width))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        depth, o = self._depth, self.o
        # A shift queue: the oldest beat is always entry 0, so ``o.valid`` and ``o.payload`` are flip-flops.
        # ``held`` (beats stored) and ``owed`` (beats reserved, not yet popped) are thermometer codes:
        # bit k set = more than k. No adder or comparator sits between ``o.ready`` and a register.
        e = [Signal(self._width, name=f"e{k}", reset_less=True) for k in range(depth)]
        held, owed = Signal(depth), Signal(depth)
        pop = Signal()
        m.d.comb += [
            o.valid.eq(held[0]),
            o.payload.eq(e[0]),
            pop.eq(held[0] & o.ready),
            self.has_credit.eq(~owed[depth - 1]),
        ]
        for k in range(depth):  # a free entry always loads ``data``; only ``held`` says which are beats
            above = (held[k + 1], e[k + 1]) if k + 1 < depth else (0, self.data)
            m.d.sync += e[k].eq(Mux(pop, Mux(above[0], above[1], self.data), Mux(held[k], e[k], self.data)))
        for therm, up in ((held, self.push), (owed, self.reserve)):
            nxt = Signal(depth, name=f"{therm.name}_next")
            m.d.comb += nxt.eq(Mux(up & ~pop, Cat(1, therm[:-1]), Mux(pop & ~up, Cat(therm[1:], 0), therm)))
            m.d.sync += therm.eq(nxt)
            if therm is owed:
                m.d.comb += self.credit_next.eq(~nxt[depth - 1])
        return m


def output_queue(m: Module, o, width: int, depth: int, name: str = "oq") -> OutputQueue:
    """An :class:`OutputQueue` added to ``m`` as submodule ``name`` and driving the owner's stream ``o``."""
    q = OutputQueue(width, depth)
    m.submodules[name] = q
    wiring.connect(m, q.o, wiring.flipped(o))
    return q


def lut_output(m: Module, value, name: str) -> Signal:
    """``value`` on a wire synthesis keeps (``keep``): the LUT mapper must make it the output of a LUT, so
    logic written as "compute both outcomes, select with the late signal last" stays that way instead of
    being re-cut with the late signal deep inside a wide multiplexer tree."""
    sig = Signal(len(value), name=name, attrs={"keep": 1})
    m.d.comb += sig.eq(value)
    return sig


def delay(m: Module, value, name: str, reset_less: bool = False):
    """``value`` one clock cycle later (a register; ``reset_less`` for data a valid bit qualifies: a plain
    flip-flop that synthesis may move into a block RAM's output register)."""
    if isinstance(value, Signal):
        reg = Signal.like(value, name=name, reset_less=reset_less)
    else:
        reg = Signal(len(value), name=name, reset_less=reset_less)
    m.d.sync += reg.eq(value)
    return reg


def delay_all(m: Module, values, prefix: str) -> tuple:
    """Each signal of ``values`` one clock cycle later."""
    return tuple(delay(m, v, f"{prefix}_{v.name}") for v in values)


def fold_counter(m: Module, n: int, step, name: str):
    """A counter over ``0 .. n-1`` advanced by ``step``, with registered ``first`` (== 0) and ``last``
    (== n - 1) flags: logic that tests them sees a flip-flop, not a comparator. Returns
    ``(count, first, last, wrap)``; ``wrap`` = ``step & last`` (the counter returns to 0)."""
    count = Signal(idx(n), name=name)
    if n == 1:
        return count, Const(1, 1), Const(1, 1), step
    first = Signal(init=1, name=f"{name}_first")
    last = Signal(init=0, name=f"{name}_last")
    wrap = Signal(name=f"{name}_wrap")
    m.d.comb += wrap.eq(step & last)
    with m.If(step):
        m.d.sync += [
            count.eq(Mux(last, 0, count + 1)),
            first.eq(last),
            last.eq(count == n - 2),
        ]
    return count, first, last, wrap


def issue_folds(m: Module, i, oq: OutputQueue, sf_n: int, nf_n: int):
    """A folded matrix layer's issue: one beat per cycle in (output fold, input fold) order, from the
    input stream ``i`` during output fold 0 only; a fold's first beat reserves its output in ``oq``.
    Every test of a counter is a registered flag, and ``i.ready`` is a flip-flop: its next value comes
    from the next values of the flags it stands for. Returns ``issue, (sf, first, last), (nf, streaming,
    wrap)``: the counters (:func:`fold_counter`) of the input and output folds."""
    issue, can_issue = Signal(name="issue"), Signal(name="can_issue")
    sf, sf_first, sf_last, sf_wrap = fold_counter(m, sf_n, issue, "sf")
    nf, need_stream, nf_last, nf_wrap = fold_counter(m, nf_n, sf_wrap, "nf")
    ready = Signal(init=1, name="ready")
    first_next = Mux(issue, sf_last, sf_first) if sf_n > 1 else Const(1, 1)
    stream_next = Mux(sf_wrap, nf_last, need_stream) if nf_n > 1 else Const(1, 1)
    m.d.sync += ready.eq(stream_next & (~first_next | oq.credit_next))
    m.d.comb += [
        can_issue.eq(~sf_first | oq.has_credit),
        i.ready.eq(ready),
        issue.eq(can_issue & (~need_stream | i.valid)),
        oq.reserve.eq(issue & sf_first),
    ]
    return issue, (sf, sf_first, sf_last), (nf, need_stream, nf_wrap)


def incr_wrap(x, n: int):
    """``x + 1``, wrapping to 0 after ``n - 1`` (a counter over ``0 .. n-1``)."""
    return Mux(x == n - 1, 0, x + 1)


def vector_buffer(m: Module, payload, beat, beats: int, reuse: bool, issue, streaming):
    """The MVTU's operand ``x`` one cycle after ``issue``: the input ``payload`` while ``streaming`` (output
    fold 0), else beat ``beat`` of the vector kept from it (``reuse``: there are later output folds).

    A buffer of at most :data:`SHIFT_BUFFER_BITS` is a rotating shift register: each issue moves it one
    beat, the tail takes the input (fold 0) or the head (later folds), and the operand is the tail — a
    flip-flop, no read multiplexer. A larger one is a memory written a cycle late from the input register
    (fold 1 reads beat ``b`` no sooner than ``beats`` cycles after it came) and read synchronously. One that
    may be a block RAM (``resource_model.read_registered``) with three beats or more is read a cycle
    ahead, at the beat the next issue takes, into a plain register (the block RAM's output register,
    :mod:`hwgen.flow.ecp5_pack`), so the word leaves a flip-flop at the same cycle as before and a read
    never meets the write of a word it needs. A distributed RAM is read at the issued beat: its read is
    fast, and an address chosen by ``issue`` would put the handshake in front of it.
    """
    width = len(payload)
    x_in = Signal(width, name="x_in", reset_less=True)
    m.d.sync += x_in.eq(payload)
    if not reuse:
        return x_in
    if width * beats <= SHIFT_BUFFER_BITS:
        regs = [Signal(width, name=f"xbuf{k}", reset_less=True) for k in range(beats)]
        with m.If(issue):
            m.d.sync += [a.eq(b) for a, b in zip(regs, regs[1:], strict=False)]
            m.d.sync += regs[-1].eq(Mux(streaming, payload, regs[0]))
        return regs[-1]
    # a buffer that may be a block RAM is read a cycle ahead (three beats or more: that read still comes
    # after the write of the beat it reads); a distributed RAM keeps the address a flip-flop
    ahead = beats >= 3 and resource_model.read_registered(width, beats)
    attrs = ram_attrs(ahead)
    m.submodules.xbuf = xbuf = Memory(shape=unsigned(width), depth=max(2, beats), init=[], attrs=attrs)
    wr, rd = xbuf.write_port(), xbuf.read_port()
    from_stream = delay(m, streaming, "from_stream")
    late = beats >= 2  # else fold 1 reads the beat in the cycle after it came: write at once
    w_addr, w_en = beat, issue & streaming
    if late:
        w_addr, w_en = delay(m, beat, "xbuf_wa"), delay(m, w_en, "xbuf_we")
    x1 = Signal(width, name="x1")
    word = rd.data
    if ahead:  # the address the next issue reads; the word through a plain register
        m.d.comb += rd.addr.eq(Mux(issue, incr_wrap(beat, beats), beat))
        word = delay(m, rd.data, "xbuf_q", reset_less=True)
    else:
        m.d.comb += rd.addr.eq(beat)
    m.d.comb += [
        wr.addr.eq(w_addr),
        wr.data.eq(x_in if late else payload),
        wr.en.eq(w_en),
        x1.eq(Mux(from_stream, x_in, word)),
    ]
    return x1


def accumulators(m: Module, valid, first, last, terms, shape) -> tuple[list[Signal], Signal]:
    """One accumulator per term: set to the term on a ``first`` beat, else added to, while ``valid``.
    Returns ``(accumulators, done)``, ``done`` high in the cycle after a ``last`` beat (the sums final)."""
    acc = [Signal(shape, name=f"acc_{p}", reset_less=True) for p in range(len(terms))]
    done = Signal(name="done3")
    m.d.sync += done.eq(valid & last)
    with m.If(valid):
        m.d.sync += [a.eq(Mux(first, 0, a) + t) for a, t in zip(acc, terms, strict=True)]
    return acc, done


def push_outputs(m: Module, oq, done, values, bits: int, stages: int = 0, computed: int = 0) -> None:
    """Lane ``values`` (``bits`` each) as one beat into output queue ``oq`` when ``done``, through
    ``stages`` registers; the first ``computed`` of them are inside the values already (a staged
    comparison), so only ``done`` is delayed for those."""
    outs = [Signal(bits, name=f"out_{p}") for p in range(len(values))]
    m.d.comb += [o.eq(v) for o, v in zip(outs, values, strict=True)]
    push, beat = done, Cat(*outs)
    for k in range(stages):
        push = delay(m, push, f"done{4 + k}")
        if k >= computed:
            beat = delay(m, beat, f"out{4 + k}", reset_less=True)
    m.d.comb += [oq.push.eq(push), oq.data.eq(beat)]
