"""Streaming dataflow layers: one Amaranth ``wiring.Component`` per module, ports ``i`` and ``o``.

Every layer takes and gives AXI4-Stream-style ``amaranth.lib.stream`` beats (payload = the folded
slice, element 0 in the least significant bits, each element encoded as
:mod:`hwgen.ir.datatypes` encodes it), keeps ``i.ready`` free of combinational paths from
``o.ready``, and declares its cycle model (``ii_cycles``, ``latency_cycles``) and a resource
estimate (``resources()``).
"""

from hwgen.layers.fifo import FIFO
from hwgen.layers.label_select import LabelSelect
from hwgen.layers.maxpool import MaxPool
from hwgen.layers.mvtu import MVTU
from hwgen.layers.sliding_window import SlidingWindow
from hwgen.layers.thresholding import Thresholding
from hwgen.layers.width_converter import WidthConverter

__all__ = ["FIFO", "LabelSelect", "MVTU", "MaxPool", "SlidingWindow", "Thresholding", "WidthConverter"]
