"""Tier 3 for the layer library: each layer as Verilog under Verilator, driven by the cocotb AXI-Stream bench.

Per configuration: random data, the expected output from :mod:`hwgen.golden.ops` (or the identity for
FIFO and width converter), one build, three runs in one simulator process — random pauses on both
ends, heavy back-pressure only, and full speed — every beat compared exactly, the sink empty at the
end, and at full speed the cycles between frames equal to the layer's cycles per frame and the cycles from the
first input beat to the first output beat equal to its ``latency_cycles``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from hwgen.sim.runner import BenchRun, build_verilator, run_bench, session_cache_dir

from hwgen.flow.verilog import export_stream_verilog
from hwgen.golden import ops
from hwgen.ir.datatypes import BIPOLAR, INT, UINT
from hwgen.layers import (
    FIFO,
    MVTU,
    AddStreams,
    ConcatStreams,
    Depthwise,
    LabelSelect,
    SlidingWindow,
    StreamingMaxPool,
    Thresholding,
    WidthConverter,
)
from hwgen.layers.testing import JoinBehindFork, pack, unpack

pytestmark = pytest.mark.verilator

FRAMES = 6


@dataclass
class Case:
    """A layer, its input frames and the reference output frames (values, one row per frame)."""

    comp: object
    x: np.ndarray  # (frames, elements in stream order)
    y: np.ndarray  # (frames, elements in stream order)
    idt: object
    in_lanes: int
    odt: object
    out_lanes: int


def _rand(rng, dt, shape):
    return rng.choice(dt.values(), size=shape) if dt.bits <= 16 else rng.integers(dt.min, dt.max + 1, shape)


def _thresholds(rng, rows, t, lo, hi):
    return np.sort(rng.integers(lo, hi + 1, size=(rows, t)), axis=1)


def _mvtu(rng, mh, mw, pe, simd, idt, wdt, t=None, out_offset=0, odt=None, **kw):
    w = _rand(rng, wdt, (mh, mw))
    x = _rand(rng, idt, (FRAMES, mw))
    acc = ops.matvec(x, w)
    thr = None
    if t is not None:
        lo, hi = int(acc.min()), int(acc.max())
        thr = _thresholds(rng, mh, t, lo - 1, hi + 1)
    comp = MVTU(w, idt=idt, wdt=wdt, pe=pe, simd=simd, thresholds=thr, out_offset=out_offset, odt=odt, **kw)
    y = ops.mvtu(x, w, thr, out_offset)
    if odt == BIPOLAR:
        y = 2 * y - 1  # count 0/1 -> value -1/+1
    return Case(comp, x, y, idt, simd, comp.odt, pe)


def _mvtu_padded(rng, h, w, c, k, mh, pe, simd):
    """A 3x3 pad-1 convolution on bipolar values: the window pads with +1, the MVTU masks those lanes."""
    img = _rand(rng, BIPOLAR, (FRAMES, h, w, c))
    taps = [[not 0 <= o - 1 + t < n for t in range(k)] for n in (h, w) for o in range(n)]
    rows, cols = np.array(taps[:h], int), np.array(taps[h:], int)
    wt = _rand(rng, BIPOLAR, (mh, k * k * c))
    comp = MVTU(wt, idt=BIPOLAR, wdt=BIPOLAR, pe=pe, simd=simd, vectors=h * w, pad_rows=rows, pad_cols=cols)
    x = ops.sliding_window(img, k, 1, 1, 1).reshape(FRAMES, -1)
    y = ops.matvec(ops.sliding_window(img, k, 1, 1, 0), wt).reshape(FRAMES, -1)
    return Case(comp, x, y, BIPOLAR, simd, comp.odt, pe)


def _depthwise(rng, h, w, c, k, stride, pad, pe, idt, wdt, t=None):
    img = _rand(rng, idt, (FRAMES, h, w, c))
    wt = _rand(rng, wdt, (c, k * k))
    acc = ops.depthwise(img, wt, k, stride, pad)
    thr = None if t is None else _thresholds(rng, c, t, int(acc.min()) - 1, int(acc.max()) + 1)
    comp = Depthwise(h, w, c, k=k, w=wt, idt=idt, wdt=wdt, stride=stride, pad=pad, pe=pe, thresholds=thr)
    y = ops.depthwise(img, wt, k, stride, pad, thresholds=thr)
    return Case(comp, img.reshape(FRAMES, -1), y.reshape(FRAMES, -1), idt, pe, comp.odt, pe)


def _thresholding(rng):
    c, pe, idt = 8, 2, INT(6)
    x = _rand(rng, idt, (FRAMES, c))
    thr = _thresholds(rng, c, 3, idt.min, idt.max)
    comp = Thresholding(c, pe=pe, idt=idt, thresholds=thr)
    return Case(comp, x, ops.multithreshold(x, thr), idt, pe, comp.odt, pe)


def _swg(rng, h, w, c, k, stride, pad, simd, dt, pad_value=0):
    img = _rand(rng, dt, (FRAMES, h, w, c))
    comp = SlidingWindow(h, w, c, k=k, stride=stride, pad=pad, pad_value=pad_value, simd=simd, dtype=dt)
    y = ops.sliding_window(img, k, stride, pad, pad_value)
    return Case(comp, img.reshape(FRAMES, -1), y.reshape(FRAMES, -1), dt, simd, dt, simd)


def _maxpool(rng, h, w, c, k, simd, dt, stride=None):
    img = _rand(rng, dt, (FRAMES, h, w, c))
    comp = StreamingMaxPool(h, w, c, k=k, stride=stride, simd=simd, dtype=dt)
    y = ops.maxpool_nhwc(img, k, stride)
    return Case(comp, img.reshape(FRAMES, -1), y.reshape(FRAMES, -1), dt, simd, dt, simd)


def _label_select(rng):
    c, k, pe, idt = 10, 3, 2, INT(8)
    x = rng.integers(-3, 4, size=(FRAMES, c))  # a narrow range: many ties
    comp = LabelSelect(c, k=k, pe=pe, idt=idt)
    return Case(comp, x, ops.label_select(x, k), idt, pe, UINT(4), 1)


def _fifo(rng, width, depth, bpf):
    x = rng.integers(0, 1 << width, size=(FRAMES, bpf))
    return Case(FIFO(width, depth, beats_per_frame=bpf), x, x, UINT(width), 1, UINT(width), 1)


def _width_converter(rng, bits, n_in, n_out):
    frame = np.lcm(n_in, n_out)
    x = rng.integers(0, 1 << bits, size=(FRAMES, frame))
    comp = WidthConverter(bits, n_in, n_out)
    return Case(comp, x, x, UINT(bits), n_in, UINT(bits), n_out)


def _join(rng, kind, dts, muls, odt, ch, simd, pixels=3):
    """AddStreams, or ConcatStreams of inputs with equal channels (one fork beat feeds every input)."""
    xs = [_rand(rng, dt, (FRAMES, pixels, ch)) for dt in dts]
    scaled = [k * x for k, x in zip(muls, xs, strict=True)]
    if kind == "add":
        comp = AddStreams(ch, in_dtypes=dts, muls=muls, out_dtype=odt, pixels=pixels, simd=simd)
        y = sum(scaled)
    else:
        comp = ConcatStreams(
            (ch,) * len(dts), in_dtypes=dts, muls=muls, out_dtype=odt, pixels=pixels, simd=simd
        )
        y = np.concatenate(scaled, axis=-1)
    beats = [np.array(pack(x.reshape(-1), dt, simd), dtype=np.int64) for x, dt in zip(xs, dts, strict=True)]
    word, lo = np.zeros(len(beats[0]), dtype=np.int64), 0
    for b, dt in zip(beats, dts, strict=True):
        word, lo = word | (b << lo), lo + simd * dt.bits
    wide = UINT(lo)
    return Case(
        JoinBehindFork(comp),
        word.reshape(FRAMES, -1),
        y.reshape(FRAMES, -1),
        wide,
        1,
        odt,
        simd,
    )


CASES = {
    # a 4-bit residual add (operand scales 1:2), behind a fork; a binary one
    "add_uint4": lambda r: _join(r, "add", (UINT(4), UINT(3)), (1, 2), UINT(5), 4, 2),
    "add_bipolar": lambda r: _join(r, "add", (BIPOLAR, BIPOLAR), (1, 1), INT(3), 8, 8),
    # channel concatenation: 3-bit and binary inputs side by side, a binary one
    "concat_mixed": lambda r: _join(r, "concat", (UINT(3), BIPOLAR), (1, 2), INT(4), 4, 2),
    "concat_bipolar": lambda r: _join(r, "concat", (BIPOLAR, BIPOLAR), (1, 1), BIPOLAR, 4, 4),
    # bipolar x bipolar (XNOR-popcount) with one threshold -> bipolar, folded (ROM weights)
    "mvtu_xnor_folded": lambda r: _mvtu(r, 16, 32, 2, 8, BIPOLAR, BIPOLAR, t=1, odt=BIPOLAR),
    # fully parallel: one beat in, one out, hard-wired weights, thresholds fused into the popcounts
    "mvtu_xnor_parallel": lambda r: _mvtu(r, 16, 32, 16, 32, BIPOLAR, BIPOLAR, t=1, odt=BIPOLAR),
    # last layer: raw signed accumulators out
    "mvtu_xnor_acc": lambda r: _mvtu(r, 10, 64, 5, 16, BIPOLAR, BIPOLAR),
    # W2A2: INT2 x INT2, three thresholds -> a 2-bit signed activation
    "mvtu_int2": lambda r: _mvtu(r, 8, 16, 4, 4, INT(2), INT(2), t=3, out_offset=-2, odt=INT(2)),
    # INT4 x INT4, raw accumulators
    "mvtu_int4": lambda r: _mvtu(r, 4, 8, 2, 4, INT(4), INT(4)),
    # first layer: UINT8 pixels x bipolar weights -> bipolar
    "mvtu_uint8_first": lambda r: _mvtu(r, 8, 16, 4, 8, UINT(8), BIPOLAR, t=1, odt=BIPOLAR),
    # TFC-sized: 784 bipolar inputs 49 per beat (56-bit tdata), 64 outputs 16 per beat
    "mvtu_tfc_first": lambda r: _mvtu(r, 64, 784, 16, 49, BIPOLAR, BIPOLAR, t=1, odt=BIPOLAR),
    # after a padded window on bipolar values: padding lanes masked, raw dot products out
    "mvtu_xnor_padded": lambda r: _mvtu_padded(r, 4, 3, 2, 3, 4, 2, 6),
    # depthwise 3x3, stride 2, pad 1, 4-bit, two channels per beat, 2-bit activations
    "depthwise_w4a4": lambda r: _depthwise(r, 6, 6, 4, 3, 2, 1, 2, UINT(4), INT(4), t=3),
    # global 4x4 sum of 4 channels (average pooling: weights 1), raw sums out
    "depthwise_global_sum": lambda r: _depthwise(r, 4, 4, 4, 4, 1, 0, 4, UINT(4), UINT(1)),
    "thresholding": _thresholding,
    "swg_pad": lambda r: _swg(r, 5, 5, 4, 3, 1, 1, 2, UINT(2)),
    "swg_stride2_bipolar": lambda r: _swg(r, 7, 7, 2, 3, 2, 0, 1, BIPOLAR),
    "swg_2x3_pad": lambda r: _swg(r, 5, 6, 2, (2, 3), 1, 1, 2, UINT(2)),  # a non-square window
    "swg_uneven_pad": lambda r: _swg(
        r, 5, 4, 2, 3, 2, (2, 0, 1, 2), 1, UINT(2), 3
    ),  # top 2, bottom 1, right 2
    "swg_cnv": lambda r: _swg(r, 8, 8, 16, 3, 1, 0, 8, BIPOLAR),  # a CNV conv input, 2 beats per pixel
    "maxpool_int4": lambda r: _maxpool(r, 4, 4, 4, 2, 2, INT(4)),
    "maxpool_bipolar": lambda r: _maxpool(r, 6, 6, 2, 2, 1, BIPOLAR),
    "maxpool_stride2_k3": lambda r: _maxpool(r, 5, 5, 2, 3, 2, UINT(3), stride=2),
    "label_select": _label_select,
    "fifo_ram": lambda r: _fifo(r, 16, 8, 4),
    "fifo_regs": lambda r: _fifo(r, 5, 2, 3),
    "fifo_depth1": lambda r: _fifo(r, 5, 1, 3),  # half rate: one beat every other cycle
    "width_up_2to3": lambda r: _width_converter(r, 4, 2, 3),
    "width_down_8to2": lambda r: _width_converter(r, 2, 8, 2),
}


MARKS = {
    "mvtu_xnor_parallel": pytest.mark.slow,  # the largest C++ model: ~10 s of compiling
    "mvtu_tfc_first": pytest.mark.slow,  # 50 kbit weight ROM: ~15 s of building
}


@pytest.fixture(scope="session")
def vl_cache(tmp_path_factory):
    return session_cache_dir(tmp_path_factory)


@pytest.mark.parametrize("name", [pytest.param(n, marks=MARKS.get(n, ())) for n in sorted(CASES)])
def test_layer_under_verilator(name, tmp_path, vl_cache):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    case = CASES[name](rng)
    ii = case.comp.spec.cycles  # per frame; read before export, which elaborates the component
    in_beats = pack(case.x.reshape(-1), case.idt, case.in_lanes)
    want = pack(case.y.reshape(-1), case.odt, case.out_lanes)
    bpf_in, bpf_out = len(in_beats) // FRAMES, len(want) // FRAMES

    v = export_stream_verilog(case.comp, tmp_path / "rtl" / f"{name}.v", name, bpf_out)
    model = build_verilator(v["path"], name, vl_cache)
    common = {"beats_per_frame_in": bpf_in, "beats_per_frame_out": bpf_out}
    runs = [
        BenchRun(in_beats, want, in_pause=0.3, out_pause=0.3, seed=1, name="pauses", **common),
        BenchRun(in_beats, want, out_pause=0.8, seed=2, name="backpressure", **common),
        BenchRun(in_beats, want, name="full_speed", **common),
    ]
    res = run_bench(model, runs, tmp_path / "run")

    for run in res.runs:
        assert run.passed, (run.name, run.first_mismatches, run.timeout, res.log_tail())
        assert run.sink_empty and run.framing_ok
        got = unpack(run.received, case.odt, case.out_lanes).reshape(case.y.shape)
        np.testing.assert_array_equal(got, case.y)
    full = res["full_speed"]
    # one layer alone is in steady state from its first frame on
    assert set(full.intervals) == {ii}, f"cycles between frames {full.intervals}, ii_cycles {ii}"
    assert full.cycles_per_frame == ii
    assert full.first_out_latency == case.comp.latency_cycles  # first beat in -> first beat out
