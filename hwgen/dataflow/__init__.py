"""Whole accelerators: folding (PE/SIMD per layer), the stitched stream component, host-side packing.

- :mod:`hwgen.dataflow.folding` — :func:`folding_from_dict`, :func:`load_folding`, :func:`auto_folding`,
  :func:`default_folding`; a :class:`Folding` holds lanes and cycles per layer.
- :mod:`hwgen.dataflow.accelerator` — :class:`Accelerator`, one Amaranth component for a streamlined graph.
- :mod:`hwgen.dataflow.io` — float input frames to input beats, output beats to integer outputs.
"""

from .accelerator import Accelerator
from .folding import Folding, LayerFolding, auto_folding, default_folding, folding_from_dict, load_folding

__all__ = [
    "Accelerator",
    "Folding",
    "LayerFolding",
    "auto_folding",
    "default_folding",
    "folding_from_dict",
    "load_folding",
]
