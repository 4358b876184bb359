"""Layers chained as a small CNV-like network in amaranth.sim, against the golden ops composed.

Checks that the stream conventions of the layers agree with each other (im2col order, PE/SIMD
folding, width conversion, NHWC flattening) and that a chain keeps the handshake rules.
"""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from hwgen.golden import ops
from hwgen.ir.datatypes import BINARY, BIPOLAR, UINT
from hwgen.layers.fifo import FIFO
from hwgen.layers.label_select import LabelSelect
from hwgen.layers.maxpool import StreamingMaxPool
from hwgen.layers.mvtu import MVTU
from hwgen.layers.sliding_window import SlidingWindow
from hwgen.layers.testing import pack, run_stream_test
from hwgen.layers.width_converter import WidthConverter


class Chain(wiring.Component):
    """Stages connected o -> i in order; ports of the first and the last."""

    def __init__(self, stages):
        self._stages = stages
        super().__init__({"i": stages[0].signature.members["i"], "o": stages[-1].signature.members["o"]})

    def elaborate(self, platform):
        m = Module()
        for n, st in enumerate(self._stages):
            m.submodules[f"s{n}"] = st
        wiring.connect(m, wiring.flipped(self.i), self._stages[0].i)
        for a, b in zip(self._stages, self._stages[1:], strict=False):
            wiring.connect(m, a.o, b.i)
        wiring.connect(m, self._stages[-1].o, wiring.flipped(self.o))
        return m


PATTERNS = {
    "random": {"stall_prob": 0.3, "gap_prob": 0.3, "seed": 1},
    "ready 3 of 4": {"stall_pattern": [0, 0, 0, 1], "gap_pattern": [0]},
    "long stalls, bursty input": {"stall_pattern": [0] * 5 + [1] * 23, "gap_pattern": [1] * 7 + [0] * 3},
}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_small_cnv_chain(pattern):
    rng = np.random.default_rng(7)
    img = rng.integers(0, 4, size=(3, 6, 6, 2))  # UINT2 pixels, 3 images
    w1 = rng.choice([-1, 1], size=(4, 3 * 3 * 2))
    t1 = np.sort(rng.integers(-10, 10, size=(4, 1)), axis=1)
    w2 = rng.choice([-1, 1], size=(10, 2 * 2 * 4))

    cols = ops.sliding_window(img, 3)  # (3, 4, 4, 18)
    a1 = ops.mvtu(cols, w1, t1)  # 0/1, the bipolar code
    p1 = ops.maxpool_nhwc(2 * a1 - 1, 2)  # as bipolar values
    acc = ops.mvtu(p1.reshape(3, -1), w2)  # (3, 10)
    top = ops.label_select(acc, 3)

    stages = [
        SlidingWindow(6, 6, 2, k=3, simd=2, dtype=UINT(2)),
        WidthConverter(2, 2, 6),
        MVTU(w1, idt=UINT(2), wdt=BIPOLAR, pe=2, simd=6, thresholds=t1, odt=BIPOLAR),
        WidthConverter(1, 2, 4),
        FIFO(4, 8),
        StreamingMaxPool(4, 4, 4, k=2, simd=4, dtype=BIPOLAR),
        MVTU(w2, idt=BIPOLAR, wdt=BIPOLAR, pe=5, simd=4),
    ]
    stages.append(WidthConverter(stages[-1].odt.bits, 5, 1))
    stages.append(LabelSelect(10, k=3, pe=1, idt=stages[-2].odt))
    dut = Chain(stages)
    ins = pack(img, UINT(2), 2)
    exp = pack(top, stages[-1].odt, 1)
    run_stream_test(dut, ins, exp, **PATTERNS[pattern])


def test_chain_runs_at_the_slowest_layer():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 4, size=(5, 6, 6, 2))
    w1 = rng.choice([-1, 1], size=(4, 18))
    t1 = np.zeros((4, 1), dtype=int)
    cols = ops.sliding_window(img, 3)
    a1 = ops.mvtu(cols, w1, t1)
    p1 = ops.maxpool_nhwc(a1, 2)  # 0/1 codes: OR == max
    stages = [
        SlidingWindow(6, 6, 2, k=3, simd=2, dtype=UINT(2)),
        WidthConverter(2, 2, 6, frame_elems=16 * 18),
        FIFO(12, 4),  # the MVTU takes its input in bursts (output fold 0 only)
        MVTU(w1, idt=UINT(2), wdt=BIPOLAR, pe=2, simd=6, thresholds=t1),
        WidthConverter(1, 2, 4, frame_elems=16 * 4),
        StreamingMaxPool(4, 4, 4, k=2, simd=4, dtype=BIPOLAR),
    ]
    res = run_stream_test(Chain(stages), pack(img, UINT(2), 2), pack(p1, BINARY, 4))
    ii = max(st.ii_cycles for st in stages)
    assert ii == 16 * 9  # the sliding window: 16 windows of 9 beats
    assert res.frame_intervals(4) == [ii] * 4
