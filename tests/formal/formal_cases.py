"""Small instances of every stream layer kind and of a stitched accelerator, for the formal proofs.

Each case builds a fresh component and says how to count its frames: ``(component, in_beats, out_beats,
drain)``. Parameters are kept small so that each proof takes seconds.
"""

from __future__ import annotations

import numpy as np

from hwgen.flow.formal import drain_cycles
from hwgen.ir.datatypes import BIPOLAR, INT, UINT
from hwgen.layers.fifo import FIFOSpec
from hwgen.layers.join import AddStreamsSpec, ConcatStreamsSpec, JoinSpec
from hwgen.layers.label_select import LabelSelectSpec
from hwgen.layers.maxpool import StreamingMaxPoolSpec
from hwgen.layers.mvtu import MVTUSpec
from hwgen.layers.sliding_window import SlidingWindowSpec
from hwgen.layers.testing import JoinBehindFork
from hwgen.layers.thresholding import ThresholdingSpec
from hwgen.layers.width_converter import WidthConverterSpec

_RNG = np.random.default_rng(8)
_W_BIP = _RNG.choice([-1, 1], size=(4, 4))
_W_INT = _RNG.integers(-1, 2, size=(4, 2))

#: name -> spec of one small layer
LAYER_SPECS = {
    # XNOR-popcount, 2 output x 2 input folds, weights and thresholds in ROMs
    "mvtu_xnor_rom": lambda: MVTUSpec.create(
        _W_BIP, idt=BIPOLAR, wdt=BIPOLAR, pe=2, simd=2, thresholds=np.array([[-2, 0, 2]] * 4)
    ),
    # fully parallel XNOR with the thresholds folded into the popcount trees
    "mvtu_xnor_fused": lambda: MVTUSpec.create(
        _W_BIP, idt=BIPOLAR, wdt=BIPOLAR, pe=4, simd=4, thresholds=np.array([[0]] * 4)
    ),
    # multiply-accumulate (2-bit unsigned x ternary), raw accumulators, two vectors per frame
    "mvtu_mac": lambda: MVTUSpec.create(_W_INT, idt=UINT(2), wdt=INT(2), pe=2, simd=1, vectors=2),
    "thresholding": lambda: ThresholdingSpec.create(
        4, pe=2, idt=INT(3), thresholds=np.array([[-1, 1]] * 4), pixels=2
    ),
    "sliding_window": lambda: SlidingWindowSpec.create(2, 3, 2, k=2, simd=2, dtype=UINT(2)),
    "sliding_window_pad": lambda: SlidingWindowSpec.create(1, 1, 1, k=2, pad=1, pad_value=1, dtype=UINT(2)),
    "maxpool_rows": lambda: StreamingMaxPoolSpec.create(2, 4, 1, k=2, dtype=INT(2)),
    "maxpool_windows": lambda: StreamingMaxPoolSpec.create(2, 3, 1, k=2, stride=1, dtype=UINT(2)),
    "label_select": lambda: LabelSelectSpec.create(4, k=2, pe=2, idt=INT(3)),
    "fifo_registers": lambda: FIFOSpec(dtype=UINT(3), lanes=1, depth=2, frame_elems=2),
    "fifo_memory": lambda: FIFOSpec(dtype=UINT(3), lanes=1, depth=5, frame_elems=2),
    "width_up": lambda: WidthConverterSpec.create(UINT(2), 1, 4, frame_elems=4),
    "width_odd": lambda: WidthConverterSpec.create(UINT(2), 3, 2, frame_elems=6),
    "width_chunks": lambda: WidthConverterSpec.create(UINT(1), 4, 6, frame_elems=12),
    # the joins behind a fork (hwgen.layers.testing.JoinBehindFork: fork, a FIFO per input, the join)
    "add_streams": lambda: AddStreamsSpec.create(
        2, in_dtypes=(UINT(2), BIPOLAR), muls=(1, 2), out_dtype=INT(4), pixels=1, simd=2
    ),
    "concat_streams": lambda: ConcatStreamsSpec.create(
        (2, 2), in_dtypes=(UINT(2), UINT(1)), muls=(1, 2), out_dtype=UINT(2), pixels=1, simd=2
    ),
}


def layer_case(name: str):
    """(component, in_beats, out_beats, drain) of layer case ``name``."""
    spec = LAYER_SPECS[name]()
    if isinstance(spec, JoinSpec):
        comp = JoinBehindFork(spec.component())
        return comp, comp.spec.in_beats, comp.spec.out_beats, drain_cycles(comp.stages)
    return spec.component(), spec.in_beats, spec.out_beats, drain_cycles([spec])


def bmc_depth(in_beats: int, drain: int) -> int:
    """Cycles a bounded check unrolls: one input frame, then the drain time, plus the handshake."""
    return in_beats + drain + 2


def accelerator_case():
    """The stitched accelerator of ``tiny_mlp`` behind :class:`AxisTop` (tlast on every 3rd beat):
    MVTU 16->8 (PE 4, SIMD 4), FIFO, MVTU 8->6 (PE 2, SIMD 4), width converter 2->3 lanes, FIFO,
    MVTU 6->3 (PE 1, SIMD 3). Returns (top, in_beats, out_beats, drain)."""
    from helpers.models import tiny_mlp

    from hwgen.dataflow import Accelerator
    from hwgen.flow.verilog import AxisTop
    from hwgen.passes import streamline

    graph = streamline(tiny_mlp())
    names = [n.name for n in graph.hw_nodes()]
    folding = {
        names[0]: {"pe": 4, "simd": 4},
        names[1]: {"pe": 2, "simd": 4},
        names[2]: {"pe": 1, "simd": 3},
    }
    acc = Accelerator(graph, folding)
    n_in, n_out = acc.beats_per_frame_in, acc.beats_per_frame_out
    return AxisTop(acc, n_out), n_in, n_out, drain_cycles(acc.stages)
