"""MVTU in amaranth.sim against hwgen.golden.ops.mvtu, under random gaps and stalls."""

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT
from hwgen.layers import _thresholds as th
from hwgen.layers.mvtu import MVTU, MVTUSpec
from hwgen.layers.testing import pack, run_stream_test


def _rand(rng, dt, shape):
    return rng.choice(dt.values(), size=shape)


def _thresholds(rng, lo, hi, rows, n):
    return np.sort(rng.integers(lo - 2, hi + 3, size=(rows, n)), axis=1)


def check(w, idt, wdt, pe, simd, thr=None, off=0, frames=2, stall=0.3, gap=0.3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    dut = MVTU(w, idt=idt, wdt=wdt, pe=pe, simd=simd, thresholds=thr, out_offset=off, **kw)
    x = _rand(rng, idt, (frames, w.shape[1]))
    y = ops.mvtu(x, w, thr, off)
    odt = BINARY if dut.odt == BIPOLAR else dut.odt
    ins = [b for f in range(frames) for b in pack(x[f], idt, simd)]
    exp = [b for f in range(frames) for b in pack(y[f], odt, pe)]
    return dut, run_stream_test(dut, ins, exp, stall_prob=stall, gap_prob=gap, seed=seed)


def _acc_range(w, idt):
    lo = np.minimum(w * idt.min, w * idt.max).sum(axis=1)
    hi = np.maximum(w * idt.min, w * idt.max).sum(axis=1)
    return int(lo.min()), int(hi.max())


@pytest.mark.parametrize(
    "mh,mw,pe,simd",
    [
        (4, 8, 1, 2),
        (4, 8, 2, 8),
        (6, 6, 3, 3),
        (1, 8, 1, 4),
        (4, 4, 4, 4),
        (8, 6, 8, 1),
        (4, 4, 1, 4),
        (2, 7, 2, 1),
    ],
)
def test_xnor_threshold(mh, mw, pe, simd):
    rng = np.random.default_rng(mh * 100 + mw * 10 + pe + simd)
    w = _rand(rng, BIPOLAR, (mh, mw))
    thr = _thresholds(rng, -mw, mw, mh, 1)
    check(w, BIPOLAR, BIPOLAR, pe, simd, thr, seed=pe + simd)


@pytest.mark.parametrize("pe,simd", [(2, 3), (4, 6)])
def test_xnor_raw_and_bipolar_out(pe, simd):
    rng = np.random.default_rng(5)
    w = _rand(rng, BIPOLAR, (4, 6))
    dut, _ = check(w, BIPOLAR, BIPOLAR, pe, simd, seed=3)
    assert dut.odt == INT(4)  # [-6, 6] needs 4 bits, no more
    thr = _thresholds(rng, -6, 6, 4, 1)
    dut, _ = check(w, BIPOLAR, BIPOLAR, pe, simd, thr, odt=BIPOLAR, seed=4)


@pytest.mark.parametrize(
    "idt,wdt,nthr,off",
    [
        (INT(2), INT(2), 3, -2),  # W2A2 hidden layer: 2-bit signed output
        (INT(4), INT(4), 0, 0),  # raw accumulators
        (INT(8), INT(8), 0, 0),
        (UINT(8), BIPOLAR, 1, 0),  # 8-bit first layer, binary weights
        (BIPOLAR, INT(2), 3, 0),  # bipolar x int mix
        (INT(4), UINT(2), 15, -8),
        (UINT(2), INT(3), 7, 0),
    ],
)
def test_integer_paths(idt, wdt, nthr, off):
    rng = np.random.default_rng(idt.bits * 7 + wdt.bits)
    w = _rand(rng, wdt, (4, 6))
    lo, hi = _acc_range(w, idt)
    thr = _thresholds(rng, lo, hi, 4, nthr) if nthr else None
    check(w, idt, wdt, 2, 3, thr, off, seed=nthr)


@pytest.mark.parametrize(
    "idt,wdt", [(UINT(8), BIPOLAR), (BIPOLAR, INT(3)), (INT(4), BIPOLAR), (INT(2), INT(2))]
)
def test_integer_paths_wide_simd(idt, wdt):
    # SIMD >= 4: bipolar x integer lanes sum (v XOR s) + s in one compressor tree; table products too.
    rng = np.random.default_rng(idt.bits * 5 + wdt.bits)
    w = _rand(rng, wdt, (4, 12))
    lo, hi = _acc_range(w, idt)
    check(w, idt, wdt, 2, 6, _thresholds(rng, lo, hi, 4, 3), 0, seed=1)
    check(w, idt, wdt, 4, 12, None, 0, seed=2)


def test_threshold_edge_cases():
    rng = np.random.default_rng(11)
    w = _rand(rng, INT(2), (4, 4))
    lo, hi = _acc_range(w, INT(2))
    # all-equal thresholds in a row; thresholds at and beyond the accumulator extremes
    thr = np.array([[0, 0, 0], [lo, lo, hi], [hi, hi + 1, hi + 1], [lo - 9, lo, hi + 50]])
    check(w, INT(2), INT(2), 2, 2, thr, seed=1, frames=4)
    check(w, INT(2), INT(2), 4, 4, np.array([[1, 1, 1]]), seed=2, frames=3)  # shared row, fully parallel


def test_all_ones_weights_reach_extremes():
    w = np.ones((2, 4), dtype=np.int64)
    x = np.array([[1, 1, 1, 1], [-1, -1, -1, -1]])
    dut = MVTU(w, idt=BIPOLAR, wdt=BIPOLAR, pe=1, simd=2, thresholds=np.array([[4], [-4]]))
    y = ops.mvtu(x, w, np.array([[4], [-4]]))
    assert y.tolist() == [[1, 1], [0, 1]]  # hand-computed: acc = +4 and -4
    run_stream_test(dut, pack(x[0], BIPOLAR, 2) + pack(x[1], BIPOLAR, 2), pack(y.reshape(-1), BINARY, 1))


@pytest.mark.parametrize("storage", ["rom", "hardwired"])
def test_storage_modes(storage):
    rng = np.random.default_rng(2)
    w = _rand(rng, INT(2), (4, 4))
    thr = _thresholds(rng, -8, 8, 4, 3)
    dut, _ = check(w, INT(2), INT(2), 2, 2, thr, -2, weights=storage, seed=9)
    assert dut.spec.storage == storage


def test_block_ram_weight_rom():
    # 128 folds: the weight ROM is a synchronous block-RAM read port, the thresholds (16 words) logic.
    rng = np.random.default_rng(4)
    w = _rand(rng, BIPOLAR, (16, 128))
    assert th.rom_in_block_ram(16, 128) and not th.rom_in_block_ram(1 * 7, 16)
    check(w, BIPOLAR, BIPOLAR, 1, 16, _thresholds(rng, -40, 40, 16, 1), seed=5)
    check(w[:, :64], INT(2), BIPOLAR, 1, 8, _thresholds(rng, -40, 40, 16, 3), seed=6)


@pytest.mark.parametrize(
    "mh,mw,pe,simd", [(4, 6, 2, 3), (4, 4, 4, 4), (4, 8, 1, 1), (6, 4, 2, 1), (2, 8, 1, 2)]
)
def test_cycles_per_frame(mh, mw, pe, simd):
    rng = np.random.default_rng(0)
    w = _rand(rng, BIPOLAR, (mh, mw))
    dut, res = check(
        w, BIPOLAR, BIPOLAR, pe, simd, _thresholds(rng, -mw, mw, mh, 1), frames=5, stall=0, gap=0
    )
    assert dut.ii_cycles == (mh // pe) * (mw // simd)
    assert res.frame_intervals(mh // pe) == [dut.ii_cycles] * 4
    assert res.latency == dut.latency_cycles
    assert set(dut.resources()) == {"luts", "ffs", "bram_bits"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_random_sweep(seed):
    rng = np.random.default_rng(100 + seed)
    for idt, wdt in [(BIPOLAR, BIPOLAR), (INT(2), INT(2)), (UINT(8), INT(2)), (INT(4), BIPOLAR)]:
        mh, mw = int(rng.choice([2, 4, 6])), int(rng.choice([4, 6, 8]))
        pe = int(rng.choice([d for d in range(1, mh + 1) if mh % d == 0]))
        simd = int(rng.choice([d for d in range(1, mw + 1) if mw % d == 0]))
        w = _rand(rng, wdt, (mh, mw))
        lo, hi = _acc_range(w, idt)
        nthr = int(rng.choice([0, 1, 3]))
        thr = _thresholds(rng, lo, hi, mh, nthr) if nthr else None
        check(w, idt, wdt, pe, simd, thr, -1 if nthr == 3 else 0, frames=3, seed=seed)


@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        ({"pe": 3}, ValueError, r"'pe'=3 must divide MH=4"),
        ({"simd": 0}, ValueError, r"'simd' must be >= 1, not 0"),
        ({"simd": 2.0}, TypeError, r"'simd' must be an int, not 2.0"),
        ({"idt": "bipolar"}, TypeError, r"'idt' must be a hwgen.ir.datatypes.DataType"),
        ({"weights": "lut"}, ValueError, r"'weights' must be 'auto', 'rom' or 'hardwired', not 'lut'"),
        ({"wdt": INT(2), "w": np.full((4, 4), 5)}, ValueError, r"'w' holds values outside INT2"),
        ({"w": np.ones(4)}, ValueError, r"'w' must have 2 dimensions, not shape \(4,\)"),
        ({"w": [["a"]]}, TypeError, r"'w' must be an array of integers"),
        ({"thresholds": np.array([[2, 1]])}, ValueError, r"'thresholds' rows must be ascending"),
        ({"thresholds": np.zeros((3, 1))}, ValueError, r"'thresholds' must have shape \(4 or 1, T>=1\)"),
        (
            {"thresholds": np.zeros((4, 3)), "odt": BINARY},
            ValueError,
            r"'odt' BINARY cannot hold outputs 0..3",
        ),
        ({"thresholds": np.zeros((4, 3)), "odt": BIPOLAR}, ValueError, r"'odt' BIPOLAR needs one threshold"),
        ({"out_offset": 1}, ValueError, r"'out_offset' needs thresholds"),
    ],
)
def test_constructor_validation(kwargs, exc, msg):
    args = {"w": np.ones((4, 4), dtype=int), "idt": BIPOLAR, "wdt": BIPOLAR, "pe": 2, "simd": 2}
    args.update(kwargs)
    w = args.pop("w")
    with pytest.raises(exc, match=msg):
        MVTU(w, **args)


@pytest.mark.parametrize("weights", ["rom", "hardwired"])
def test_converts_to_verilog(weights):
    rng = np.random.default_rng(0)
    w = _rand(rng, INT(2), (4, 8))
    dut = MVTU(
        w, idt=UINT(8), wdt=INT(2), pe=2, simd=4, thresholds=np.zeros((4, 3), dtype=int), weights=weights
    )
    text = verilog.convert(dut, name="mvtu_top")
    assert "module mvtu_top" in text and "i__ready" in text


@pytest.mark.slow
@pytest.mark.parametrize(
    "mh,mw,pe,simd,idt,wdt,nthr",
    [
        (64, 784, 16, 49, BIPOLAR, BIPOLAR, 1),  # TFC-W1A1 first layer
        (64, 64, 8, 16, INT(2), INT(2), 3),  # TFC-W2A2 hidden layer
        (16, 27, 4, 9, UINT(8), BIPOLAR, 1),  # CNV first layer on 8-bit pixels
    ],
)
def test_model_sized_layers(mh, mw, pe, simd, idt, wdt, nthr):
    rng = np.random.default_rng(mw)
    w = _rand(rng, wdt, (mh, mw))
    lo, hi = _acc_range(w, idt)
    check(
        w, idt, wdt, pe, simd, _thresholds(rng, lo, hi, mh, nthr), -2 if nthr == 3 else 0, stall=0.2, gap=0.2
    )


def test_all_zero_weights_give_a_two_bit_output():
    w = np.zeros((2, 4), dtype=int)  # acc is always 0; INTn needs n >= 2
    dut, _ = check(w, INT(2), INT(2), 1, 2, frames=2)
    assert dut.odt == INT(2)


def test_integer_accumulator_width_is_exact():
    w = np.full((1, 2), 7)  # INT4 weights at their maximum, INT4 inputs: acc in [-112, 98]
    x = np.array([[-8, -8], [7, 7], [-8, 7]])
    dut = MVTU(w, idt=INT(4), wdt=INT(4), pe=1, simd=1)
    assert dut.odt == INT(8)
    exp = [b for f in range(3) for b in pack(ops.mvtu(x[f : f + 1], w)[0], INT(8), 1)]
    assert [v - 256 if v > 127 else v for v in exp] == [-112, 98, -7]
    run_stream_test(dut, pack(x, INT(4), 1), exp, stall_prob=0.5, seed=2)


@pytest.mark.parametrize("nthr", [1, 3])
def test_fused_thresholds_fully_parallel(nthr):
    """Fully parallel hard-wired XNOR: thresholds folded into the popcount trees, same results."""
    rng = np.random.default_rng(nthr)
    w = _rand(rng, BIPOLAR, (4, 9))
    thr = _thresholds(rng, -9, 9, 4, nthr)
    thr[0] = -50  # reached by every input
    thr[1, -1] = 50  # reached by none
    dut, res = check(w, BIPOLAR, BIPOLAR, 4, 9, thr, -1 if nthr == 3 else 0, frames=6)
    assert dut.spec.fused_thresholds
    rom, _ = check(w, BIPOLAR, BIPOLAR, 4, 9, thr, -1 if nthr == 3 else 0, frames=6, weights="rom")
    assert not rom.spec.fused_thresholds


@pytest.mark.slow
@pytest.mark.parametrize("mh", [1, 2, 3, 4, 6])
def test_every_fold_meets_its_cycle_model(mh):
    """All divisor folds of small shapes: exact output, II and latency at full speed."""
    rng = np.random.default_rng(mh)
    for mw in (1, 2, 3, 4, 6):
        for pe in [d for d in range(1, mh + 1) if mh % d == 0]:
            for simd in [d for d in range(1, mw + 1) if mw % d == 0]:
                for idt, wdt, nthr in [(BIPOLAR, BIPOLAR, 1), (INT(2), INT(2), 0), (UINT(2), BIPOLAR, 3)]:
                    w = _rand(rng, wdt, (mh, mw))
                    lo, hi = _acc_range(w, idt)
                    thr = _thresholds(rng, lo, hi, mh, nthr) if nthr else None
                    dut, res = check(w, idt, wdt, pe, simd, thr, frames=4, stall=0, gap=0)
                    assert res.frame_intervals(mh // pe) == [dut.ii_cycles] * 3, (mw, pe, simd, idt)
                    assert res.latency == dut.latency_cycles


PIPELINE_CASES = [  # (idt, wdt, thresholds, mh, mw, pe, simd, weights): every lane-sum kind, fused and raw
    (BIPOLAR, BIPOLAR, 1, 8, 16, 2, 8, "auto"),  # xnor
    (BIPOLAR, BIPOLAR, 1, 4, 8, 4, 8, "auto"),  # fully parallel: thresholds fused into the trees
    (BIPOLAR, BIPOLAR, 3, 4, 8, 4, 8, "auto"),  # fused, several thresholds
    (BIPOLAR, BIPOLAR, 0, 4, 6, 2, 3, "rom"),  # raw accumulators
    (UINT(8), BIPOLAR, 1, 4, 9, 2, 9, "auto"),  # sign_tree
    (BIPOLAR, INT(3), 3, 4, 6, 2, 3, "auto"),  # sign_chain
    (INT(2), INT(2), 3, 4, 8, 2, 4, "auto"),  # table
    (UINT(8), INT(4), 0, 4, 4, 2, 2, "auto"),  # mul
    (BINARY, INT(2), 3, 4, 8, 1, 8, "auto"),  # a 1-bit unsigned input: product tables
]


@pytest.mark.parametrize("pipeline", [1, 2, 3])
@pytest.mark.parametrize("case", PIPELINE_CASES, ids=[f"case{i}" for i in range(len(PIPELINE_CASES))])
def test_pipelined_lanes_exact_under_stalls_and_on_model(case, pipeline):
    """Extra register stages (operands; the compressor trees cut in the middle): outputs exact under
    gaps and stalls; at full speed the measured II equals (MH/PE)·(MW/SIMD) and the first output
    arrives ``pipeline`` cycles later than without (``pipeline + 2`` at 3)."""
    idt, wdt, nthr, mh, mw, pe, simd, weights = case
    rng = np.random.default_rng(mh + mw + nthr)
    w = _rand(rng, wdt, (mh, mw))
    lo, hi = _acc_range(w, idt)
    thr = _thresholds(rng, lo, hi, mh, nthr) if nthr else None
    kw = dict(weights=weights, pipeline=pipeline)
    check(w, idt, wdt, pe, simd, thr, frames=3, stall=0.4, gap=0.4, seed=pipeline, **kw)
    dut, res = check(w, idt, wdt, pe, simd, thr, frames=4, stall=0, gap=0, **kw)
    base, _ = check(w, idt, wdt, pe, simd, thr, frames=1, stall=0, gap=0, weights=weights)
    assert dut.ii_cycles == (mh // pe) * (mw // simd)
    assert res.frame_intervals(mh // pe) == [dut.ii_cycles] * 3
    # pipeline 3 also cuts the comparisons and registers the output beat: two stages more
    assert res.latency == dut.latency_cycles == base.latency_cycles + pipeline + 2 * (pipeline == 3)


def test_pipeline_setting_is_checked():
    with pytest.raises(ValueError, match=r"'pipeline' must be one of \(0, 1, 2, 3\), not 4"):
        MVTU(np.ones((2, 2), int), idt=BIPOLAR, wdt=BIPOLAR, pe=1, simd=1, pipeline=4)


@pytest.mark.parametrize(
    "shift_bits,block", [(0, False), (0, True), (1 << 20, False)], ids=["memory", "block", "shift-register"]
)
@pytest.mark.parametrize("sf_pe_simd", [(1, 2, 4), (2, 2, 2), (3, 1, 2), (6, 1, 1)])
def test_input_vector_buffer_kinds_exact_at_deepest_pipeline(monkeypatch, shift_bits, block, sf_pe_simd):
    """The vector reused by output folds 1.. lives in a rotating shift register or (above
    ``SHIFT_BUFFER_BITS``) a memory written a cycle late; one that may be a block RAM ("block": the
    resource model's rule forced) is from three beats on read a cycle ahead into a register (three is
    the fewest for which that read still follows the write): exact under stalls every way, and at the
    deepest pipelining the measured II and latency equal the model."""
    import hwgen.layers._common as common
    from hwgen.layers import resource_model

    monkeypatch.setattr(common, "SHIFT_BUFFER_BITS", shift_bits)
    monkeypatch.setattr(resource_model, "read_registered", lambda width, depth: block)
    sf, pe, simd = sf_pe_simd
    mh, mw = 4 * pe, sf * simd
    rng = np.random.default_rng(sf + pe + simd)
    w = _rand(rng, BIPOLAR, (mh, mw))
    thr = _thresholds(rng, *_acc_range(w, BIPOLAR), mh, 1)
    deep = max(MVTUSpec.pipeline_options)
    check(w, BIPOLAR, BIPOLAR, pe, simd, thr, frames=3, stall=0.5, gap=0.3, seed=sf, pipeline=deep)
    # raw dot products too: every operand beat shows in them (thresholded bits can hide a wrong one)
    check(w, BIPOLAR, BIPOLAR, pe, simd, None, frames=3, stall=0.5, gap=0.3, seed=sf, pipeline=deep)
    dut, res = check(w, BIPOLAR, BIPOLAR, pe, simd, thr, frames=4, stall=0, gap=0, pipeline=deep)
    assert res.frame_intervals(mh // pe) == [dut.ii_cycles] * 3
    assert res.latency == dut.latency_cycles


@pytest.mark.parametrize("pipeline", [1, 2])
def test_weight_rom_deeper_than_a_block_ram_is_read_in_banks(pipeline):
    """A 576 x 32-bit weight ROM spans two 512-deep block RAMs: read as two banks, each through its output
    register, then a registered multiplexer (one cycle more than one bank): exact under stalls, and at full
    speed the measured II and latency equal the model's."""
    rng = np.random.default_rng(pipeline)
    w = _rand(rng, BIPOLAR, (32, 576))
    thr = _thresholds(rng, -576, 576, 32, 1)
    assert th.bank_depth(4 * 8) == 512 and th.rom_banks(4 * 8, 8 * 72) == 2
    check(w, BIPOLAR, BIPOLAR, 4, 8, thr, frames=2, stall=0.3, gap=0.3, weights="rom", pipeline=pipeline)
    dut, res = check(
        w, BIPOLAR, BIPOLAR, 4, 8, thr, frames=3, stall=0, gap=0, weights="rom", pipeline=pipeline
    )
    assert dut.spec.banked and dut.spec.after_issue == 4 + pipeline + 1
    assert res.frame_intervals(32 // 4) == [dut.ii_cycles] * 2
    assert res.latency == dut.latency_cycles


@pytest.mark.slow
def test_weight_rom_of_many_banks_is_multiplexed_in_registered_stages():
    """A 2304 x 32-bit weight ROM spans five 512-deep block RAMs: two registered multiplexer stages (four
    banks, then the groups), one cycle each: exact under stalls, and at full speed the measured II and
    latency equal the model's."""
    rng = np.random.default_rng(5)
    w = _rand(rng, BIPOLAR, (64, 1152))
    thr = _thresholds(rng, -1152, 1152, 64, 1)
    assert th.rom_banks(4 * 8, 16 * 144) == 5 and th.bank_stages(4 * 8, 16 * 144) == 2
    assert th.bank_stages(4 * 8, 8 * 72) == 1 and th.bank_stages(4 * 8, 16 * 8) == 0
    check(w, BIPOLAR, BIPOLAR, 4, 8, thr, frames=1, stall=0.3, gap=0.3, weights="rom", pipeline=1)
    dut, res = check(w, BIPOLAR, BIPOLAR, 4, 8, thr, frames=3, stall=0, gap=0, weights="rom", pipeline=1)
    assert dut.spec.banked == 2 and dut.spec.after_issue == 4 + 1 + 2
    assert res.frame_intervals(64 // 4) == [dut.ii_cycles] * 2
    assert res.latency == dut.latency_cycles


@pytest.mark.parametrize("wdt,pipeline", [(BIPOLAR, 0), (INT(2), 3)])
def test_wide_weight_rom_in_logic_reads_through_address_copies(wdt, pipeline):
    """A ROM in logic wider than 64 bits is read in groups of lanes, each group from its own copy of the
    address counter: exact under stalls, and at full speed the measured II and latency equal the model's."""
    rng = np.random.default_rng(7)
    mh, mw, pe, simd = 16, 64, 8, 16
    w = _rand(rng, wdt, (mh, mw))
    lo, hi = _acc_range(w, BIPOLAR)
    thr = _thresholds(rng, lo, hi, mh, 1)
    lane_bits = simd * wdt.bits
    groups = th.lane_groups(pe, lane_bits, (mh // pe) * (mw // simd), "rom")
    assert len(groups) == pe * lane_bits // 64 > 1
    assert sorted(p for g in groups for p in g) == list(range(pe))
    kw = dict(weights="rom", pipeline=pipeline)
    check(w, BIPOLAR, wdt, pe, simd, thr, frames=3, stall=0.4, gap=0.3, seed=3, **kw)
    dut, res = check(w, BIPOLAR, wdt, pe, simd, thr, frames=3, stall=0, gap=0, **kw)
    assert res.frame_intervals(mh // pe) == [dut.ii_cycles] * 2
    assert res.latency == dut.latency_cycles


@pytest.mark.parametrize("pipeline", [0, 3])
@pytest.mark.parametrize("thresholded", [True, False], ids=["thresholds", "raw"])
def test_reset_mid_frame_then_exact(pipeline, thresholded):
    """Reset in the middle of a frame, with beats in flight in every stage: afterwards the layer takes
    whole frames again and every output equals the golden model. Only the control registers (counters,
    flags, valid bits, queue occupancy) are reset; the datapath's (operands, lane sums, accumulators,
    comparisons) are plain flip-flops whose contents a valid bit qualifies."""
    from amaranth.hdl import Module, ResetInserter, Signal
    from amaranth.sim import Simulator

    rng = np.random.default_rng(pipeline + thresholded)
    mh, mw, pe, simd = 8, 16, 2, 4
    w = _rand(rng, BIPOLAR, (mh, mw))
    thr = _thresholds(rng, -mw, mw, mh, 1) if thresholded else None
    dut = MVTU(w, idt=BIPOLAR, wdt=BIPOLAR, pe=pe, simd=simd, thresholds=thr, pipeline=pipeline)
    odt = BINARY if dut.odt == BIPOLAR else dut.odt
    junk = pack(_rand(rng, BIPOLAR, (2, mw)).ravel(), BIPOLAR, simd)[: mw // simd + 2]  # 1 frame + 2 beats
    x = _rand(rng, BIPOLAR, (3, mw))
    ins = [b for f in range(3) for b in pack(x[f], BIPOLAR, simd)]
    exp = [b for f in range(3) for b in pack(ops.mvtu(x, w, thr, 0)[f], odt, pe)]
    rst = Signal()
    m = Module()
    m.submodules.dut = ResetInserter({"sync": rst})(dut)
    got = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        for b in junk:  # a frame and a bit of garbage: outputs and beats in flight everywhere
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, b)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(3)
        ctx.set(rst, 1)
        await ctx.tick()
        ctx.set(rst, 0)
        k, cycles = 0, 0
        while len(got) < len(exp) and cycles < 2000:
            stall = rng.random() < 0.3
            ctx.set(dut.o.ready, 0 if stall else 1)
            ctx.set(dut.i.valid, k < len(ins))
            ctx.set(dut.i.payload, ins[k] if k < len(ins) else 0)
            _, _, i_ready, o_valid, o_payload = await ctx.tick().sample(
                dut.i.ready, dut.o.valid, dut.o.payload
            )
            if k < len(ins) and i_ready:
                k += 1
            if o_valid and not stall:
                got.append(o_payload)
            cycles += 1
        for _ in range(20):  # nothing more comes out
            _, _, o_valid = await ctx.tick().sample(dut.o.valid)
            assert not o_valid

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == exp
