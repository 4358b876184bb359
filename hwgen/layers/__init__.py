"""Streaming dataflow layers: one layer kind per module, ports ``i`` and ``o``
(``i0``, ``i1``, ... for joins; ``o0``, ``o1``, ... for the fork).

Each module defines the kind's spec (:class:`~hwgen.layers.spec.LayerSpec`: parameters, output datatype,
cycle model, resource model, component construction) and its Amaranth ``wiring.Component``. Every layer
takes and gives AXI4-Stream-style ``amaranth.lib.stream`` beats (payload = the folded slice, element 0 in
the least significant bits, each element encoded as :mod:`hwgen.ir.datatypes` encodes it) and keeps
``i.ready`` free of combinational paths from ``o.ready``. :mod:`hwgen.layers.registry` maps hardware-IR
ops to specs.
"""

from hwgen.layers.depthwise import Depthwise, DepthwiseSpec
from hwgen.layers.fifo import FIFO, FIFOSpec
from hwgen.layers.fork import Fork, ForkSpec
from hwgen.layers.join import AddStreams, AddStreamsSpec, ConcatStreams, ConcatStreamsSpec
from hwgen.layers.label_select import LabelSelect, LabelSelectSpec
from hwgen.layers.maxpool import StreamingMaxPool, StreamingMaxPoolSpec
from hwgen.layers.mvtu import MVTU, MVTUSpec
from hwgen.layers.sliding_window import SlidingWindow, SlidingWindowSpec
from hwgen.layers.spec import LayerSpec
from hwgen.layers.thresholding import Thresholding, ThresholdingSpec
from hwgen.layers.width_converter import WidthConverter, WidthConverterSpec

__all__ = [
    "AddStreams",
    "AddStreamsSpec",
    "ConcatStreams",
    "ConcatStreamsSpec",
    "Fork",
    "ForkSpec",
    "Depthwise",
    "DepthwiseSpec",
    "FIFO",
    "FIFOSpec",
    "LabelSelect",
    "LabelSelectSpec",
    "LayerSpec",
    "MVTU",
    "MVTUSpec",
    "SlidingWindow",
    "SlidingWindowSpec",
    "StreamingMaxPool",
    "StreamingMaxPoolSpec",
    "Thresholding",
    "ThresholdingSpec",
    "WidthConverter",
    "WidthConverterSpec",
]
