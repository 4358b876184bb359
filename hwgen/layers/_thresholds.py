"""Multi-threshold pieces shared by the MVTU and the standalone thresholding unit.

Semantics: :func:`hwgen.golden.ops.multithreshold` — ``out_offset + #{t : acc >= thr[c, t]}``.
Thresholds are clipped to ``[lo, hi + 1]`` of the value they are compared with, which keeps the
result exact and the comparators as narrow as the value range allows.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Array, Cat, Const, Signal, signed, unsigned
from amaranth.lib.memory import Memory

from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT, smallest_type_for
from hwgen.layers import _common as c
from hwgen.layers.resource_model import rom_in_block_ram

__all__ = [
    "check_thresholds",
    "count",
    "ge_staged",
    "lane_groups",
    "lane_tables",
    "levels",
    "out_dtype",
    "table",
    "words",
]


def check_thresholds(thresholds, channels: int) -> np.ndarray:
    """Validated (channels, T) int64 thresholds (a (1, T) row is shared by all channels)."""
    thr = c.int_array("thresholds", thresholds, 2)
    if thr.shape[0] not in (1, channels) or thr.shape[1] < 1:
        raise ValueError(f"'thresholds' must have shape ({channels} or 1, T>=1), not {thr.shape}")
    if np.any(np.diff(thr, axis=1) < 0):
        raise ValueError("'thresholds' rows must be ascending")
    return np.broadcast_to(thr, (channels, thr.shape[1])).copy()


def out_dtype(out_offset: int, n_thr: int, odt):
    """The output datatype: ``odt`` checked against ``out_offset .. out_offset + n_thr``, or the narrowest."""
    lo, hi = out_offset, out_offset + n_thr
    if odt is None:
        odt = smallest_type_for(lo, hi)
        return BINARY if odt == UINT(1) else odt
    c.check_dtype("odt", odt)
    if odt == BIPOLAR:
        if (lo, hi) != (0, 1):
            raise ValueError("'odt' BIPOLAR needs one threshold per channel and out_offset 0")
    elif not (odt.min <= lo and hi <= odt.max):
        raise ValueError(f"'odt' {odt} cannot hold outputs {lo}..{hi}")
    return odt


def words(thr: np.ndarray, pe: int, shape) -> list[int]:
    """One word per fold of ``pe`` channels: lane ``p`` threshold ``t`` at element ``p*T + t``, each element
    ``shape.width`` bits (two's complement for a signed ``shape``)."""
    dt = (INT if shape.signed else UINT)(shape.width)
    return dt.pack(thr, pe * thr.shape[1])


def bank_depth(width: int) -> int:
    """Words of one block RAM at ``width`` bits in its narrowest configuration that holds them (ECP5
    DP16KD and xc7 RAMB18 alike: 512 x 36, 1K x 18, 2K x 9, 4K x 4, 8K x 2, 16K x 1)."""
    for bits, depth in ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024)):
        if width <= bits:
            return depth
    return 512


def rom_banks(width: int, depth: int, storage: str = "rom") -> int:
    """Block RAMs deep a ROM is when read through :func:`table` with ``registered``: a deeper one is split
    into banks here, so that no multiplexer of block-RAM outputs sits before the first register."""
    if storage != "rom" or not rom_in_block_ram(width, depth):
        return 1
    return -(-depth // bank_depth(width))


#: Banks one registered multiplexer stage selects among (a LUT4 and a PFUMX on ECP5): the block RAMs of
#: a deep ROM stand in a column across the device, and a wider multiplexer's routing alone took 5.2 of
#: 7.5 ns (16 banks, CNV-W1A1's fifth conv layer).
BANKS_PER_STAGE = 4


def bank_stages(width: int, depth: int, storage: str = "rom") -> int:
    """Registered multiplexer stages after the banks of a ROM read through :func:`table` with
    ``registered``: 0 for one bank, then one per factor of :data:`BANKS_PER_STAGE`."""
    banks, stages = rom_banks(width, depth, storage), 0
    while banks > 1:
        banks, stages = -(-banks // BANKS_PER_STAGE), stages + 1
    return stages


def table(m, name: str, data: list[int], width: int, addr, storage: str, registered: bool = False):
    """``data[addr]`` one cycle after ``addr``: a Memory ROM or a constant table; a constant if all words
    are equal.
    ``registered``: two cycles after ``addr``, through a plain output register (no reset, no enable: on ECP5
    the block RAM's own output register, :mod:`hwgen.flow.ecp5_pack`), so no logic follows the table read;
    for a ROM deeper than one block RAM (:func:`rom_banks`), read as banks of one block RAM each, every
    bank through its output register, then :func:`bank_stages` registered multiplexers, one cycle each.

    A deep ROM (:func:`rom_in_block_ram`) is a synchronous read port in block RAM. Any other table
    is read combinationally from a registered copy of the address (the latency of a synchronous
    read): yosys then maps it to logic as a function of the address alone, instead of pulling the
    address counter's next-state logic into every output bit (measured 5994 -> 3421 LUT6 on a
    256 x 256, PE 16, SIMD 64 XNOR MVTU on xc7, all in logic).
    """
    if len(set(data)) == 1:  # one word, or every word the same (average pooling's weights)
        return Const(data[0], width)
    if registered and rom_banks(width, len(data), storage) > 1:
        return _banked(m, name, data, width, addr)
    if registered:
        return c.delay(m, table(m, name, data, width, addr, storage), f"{name}_q", reset_less=True)
    if storage == "rom" and rom_in_block_ram(width, len(data)):
        mem = Memory(shape=unsigned(width), depth=len(data), init=data, attrs={"rom_style": "block"})
        m.submodules[name] = mem
        port = mem.read_port()
        m.d.comb += port.addr.eq(addr)
        return port.data
    addr_q = Signal(len(addr), name=f"{name}_addr_q", reset_less=True)
    m.d.sync += addr_q.eq(addr)
    if storage == "rom":  # in LUTs, as the resource model prices it (yosys would take a block RAM for some)
        mem = Memory(shape=unsigned(width), depth=len(data), init=data, attrs={"rom_style": "logic"})
        m.submodules[name] = mem
        port = mem.read_port(domain="comb")
        m.d.comb += port.addr.eq(addr_q)
        return port.data
    word = Signal(width, name=f"{name}_data")
    m.d.comb += word.eq(Array(Const(d, width) for d in data)[addr_q])
    return word


#: Bits of a ROM in logic read through one copy of its address (:func:`lane_tables`).
ADDRESS_COPY_BITS = 64


def lane_groups(lanes: int, lane_bits: int, depth: int, storage: str) -> list[range]:
    """The lanes of a ``lanes`` x ``lane_bits``-bit ROM word that share one address copy in
    :func:`lane_tables`: all of them, unless the ROM is in logic and wider than :data:`ADDRESS_COPY_BITS`;
    then as many whole lanes as fit in that many bits (at least one) per copy."""
    width = lanes * lane_bits
    if storage != "rom" or rom_in_block_ram(width, depth) or width <= ADDRESS_COPY_BITS:
        return [range(lanes)]
    per = max(1, ADDRESS_COPY_BITS // lane_bits)
    return [range(g, min(g + per, lanes)) for g in range(0, lanes, per)]


def lane_tables(
    m, name: str, words, lanes: int, lane_bits: int, addr, depth: int, step, storage: str, registered
):
    """A ROM word of ``lanes`` lanes read as :func:`table` per group of lanes (:func:`lane_groups`), each
    group from its own copy of the address counter ``addr`` (the same counter: 0 .. ``depth`` - 1, one up
    and wrapping when ``step``). A wide ROM in logic otherwise hangs thousands of LUTs on four address
    flip-flops, and synthesis shares their decoders across the whole word: on CNV's second layer (12 words
    of 3,072 bits) a path of six LUTs with 10 ns of routing. Counters with their own feedback are not
    merged by synthesis, and each group's decoder stays next to its lanes. ``words(lanes)`` gives the
    table of the given lanes."""
    groups = lane_groups(lanes, lane_bits, depth, storage)
    parts = []
    for g, group in enumerate(groups):
        copy = addr
        if g:
            copy = Signal.like(addr, name=f"{name}_addr{g}")
            with m.If(step):
                m.d.sync += copy.eq(c.incr_wrap(copy, depth))
        part = name if len(groups) == 1 else f"{name}{g}"
        parts.append(table(m, part, words(group), len(group) * lane_bits, copy, storage, registered))
    return Cat(*parts)


def count(m, value, p: int, word, n_thr: int, shape, name: str, staged: bool = False):
    """Number of lane-``p`` thresholds in ``word`` that ``value`` reaches: combinational, or with
    ``staged`` one cycle later, each comparison cut in two halves with registered partial results
    (:func:`ge_staged`), so no carry chain spans the whole width."""
    tb = shape.width
    ge = []
    for t in range(n_thr):
        raw = word[(p * n_thr + t) * tb : (p * n_thr + t + 1) * tb]
        thr = raw.as_signed() if shape.signed else raw
        ge.append(ge_staged(m, value, thr, f"{name}{p}_{t}") if staged else value >= thr)
    return c.popcount(m, Cat(*ge), f"{name}{p}")


def levels(m, values, thr, shape, addr, storage: str, out_offset: int, *, registered=False, staged=False):
    """``out_offset`` + the thresholds (rows of ``thr``, clipped to ``shape``) each lane of ``values``
    reaches. The lanes' thresholds of fold ``addr`` are one table word (:func:`words`, :func:`table`;
    ``registered``: read into the ROM's output register, so ``addr`` comes a cycle early);
    ``staged``: the comparisons take a cycle (:func:`ge_staged`)."""
    pe, n_thr = len(values), thr.shape[1]
    word = table(m, "trom", words(thr, pe, shape), pe * n_thr * shape.width, addr, storage, registered)
    return [count(m, v, p, word, n_thr, shape, "thr", staged) + out_offset for p, v in enumerate(values)]


def ge_staged(m, a, b, name: str):
    """``a >= b`` of the previous cycle: the upper halves compared (``>``, ``==``) and the lower halves
    (``>=``, unsigned) into registers, then combined. Both operands are taken at one signed width."""
    width = max(len(a), len(b)) + 1
    a, b = a.as_signed() if a.shape().signed else a, b.as_signed() if b.shape().signed else b
    wa, wb = Signal(signed(width), name=f"{name}_a"), Signal(signed(width), name=f"{name}_b")
    m.d.comb += [wa.eq(a), wb.eq(b)]
    k = width // 2
    gt, eq, lo = (Signal(name=f"{name}_{n}", reset_less=True) for n in ("gt", "eq", "lo"))
    m.d.sync += [
        gt.eq(wa[k:].as_signed() > wb[k:].as_signed()),
        eq.eq(wa[k:] == wb[k:]),
        lo.eq(wa[:k] >= wb[:k]),
    ]
    return gt | (eq & lo)


def raw_dtype(requested, lo: int, hi: int):
    """Output type of a layer that sends its dot products ``lo..hi`` out raw: ``requested`` if it holds
    them (ValueError otherwise), else the narrowest INTn, n >= 2."""
    if requested is None:
        return INT(max(2, c.range_shape(min(lo, -1), hi).width))
    if requested.kind == "bipolar" or not (requested.min <= lo and hi <= requested.max):
        raise ValueError(f"'odt' {requested} cannot hold the accumulators {lo}..{hi}")
    return requested


def popcount_thresholds(thr: np.ndarray, n: int) -> np.ndarray:
    """Thresholds on a dot product of ``n`` ±1 terms as thresholds on its matches P:
    2P − n >= t  <=>  P >= ceil((t + n) / 2)."""
    return -((-(thr + n)) // 2)


def _banked(m, name: str, data: list[int], width: int, addr):
    """``data[addr]`` two cycles plus :func:`bank_stages` after ``addr`` from banks of one block RAM: bank
    reads, their output registers, then registered multiplexers of up to :data:`BANKS_PER_STAGE` each."""
    depth = bank_depth(width)
    low = depth.bit_length() - 1
    words = []
    for b in range(0, len(data), depth):
        part = data[b : b + depth]
        mem = Memory(shape=unsigned(width), depth=len(part), init=part, attrs={"rom_style": "block"})
        m.submodules[f"{name}_bank{b // depth}"] = mem
        port = mem.read_port()
        m.d.comb += port.addr.eq(addr[:low])
        words.append(c.delay(m, port.data, f"{name}_bank{b // depth}_q", reset_less=True))
    sel = c.delay(m, c.delay(m, addr[low:], f"{name}_sel1"), f"{name}_sel2")  # with the bank words
    level, per = 0, BANKS_PER_STAGE.bit_length() - 1  # select bits per stage
    while len(words) > 1:
        groups = [words[k : k + BANKS_PER_STAGE] for k in range(0, len(words), BANKS_PER_STAGE)]
        part = sel[:per] if len(groups) > 1 else sel
        words = []
        for g, group in enumerate(groups):
            word = Signal(width, name=f"{name}_mux{level}_{g}", reset_less=True)
            m.d.sync += word.eq(Array(group)[part] if len(group) > 1 else group[0])
            words.append(word)
        sel = c.delay(m, sel[per:], f"{name}_sel{level + 3}") if len(groups) > 1 else sel
        level += 1
    return words[0]
