"""The one registry of hardware layer kinds: hardware-IR op -> its spec class (:mod:`hwgen.layers.spec`).

Folding, timing, stitching, the manifest and the report look a node's layer up here and read its spec; a
new layer kind is one file in :mod:`hwgen.layers` plus one line below.
"""

from __future__ import annotations

from hwgen.layers.depthwise import DepthwiseSpec
from hwgen.layers.join import AddStreamsSpec, ConcatStreamsSpec
from hwgen.layers.label_select import LabelSelectSpec
from hwgen.layers.maxpool import StreamingMaxPoolSpec
from hwgen.layers.mvtu import MVTUSpec
from hwgen.layers.sliding_window import SlidingWindowSpec
from hwgen.layers.spec import LayerSpec
from hwgen.layers.thresholding import ThresholdingSpec

__all__ = ["SPECS", "spec_of"]

SPECS: dict[str, type[LayerSpec]] = {
    spec.kind: spec
    for spec in (
        MVTUSpec,
        ThresholdingSpec,
        SlidingWindowSpec,
        StreamingMaxPoolSpec,
        DepthwiseSpec,
        LabelSelectSpec,
        AddStreamsSpec,
        ConcatStreamsSpec,
    )
}


def spec_of(node, **lanes) -> LayerSpec:
    """The spec of hardware-IR node ``node`` folded with ``lanes`` (all lanes 1 by default)."""
    try:
        cls = SPECS[node.op]
    except KeyError:
        raise ValueError(f"node {node.name!r}: no hardware layer for op {node.op}") from None
    return cls.from_node(node, **lanes)
