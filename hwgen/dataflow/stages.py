"""One hardware layer per hardware-IR node: which lane options a node kind has, and the layer it becomes.

The hardware IR is documented in :mod:`hwgen.passes`; the layers in :mod:`hwgen.layers`. A node kind has
these lane options (what a folding file may set for it):

- ``Mvtu``: ``pe`` (divides MH) and ``simd`` (divides MW);
- ``SlidingWindow``, ``MaxPoolHw``: ``simd`` (divides the channels);
- ``Thresholding``, ``LabelSelect``: ``pe`` (divides the channels / labels).

Per-frame cycles: a layer's ``ii_cycles`` is per input vector for a matrix layer (``MH/PE · MW/SIMD``)
and per pixel for a thresholding unit, so they are multiplied by the vectors (pixels) of one frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from hwgen.ir.datatypes import DataType
from hwgen.layers import MVTU, LabelSelect, MaxPool, SlidingWindow, Thresholding

__all__ = ["OPTIONS", "Stage", "lane_limits", "make_stage"]

#: Lane options per hardware node kind.
OPTIONS = {
    "Mvtu": ("pe", "simd"),
    "SlidingWindow": ("simd",),
    "MaxPoolHw": ("simd",),
    "Thresholding": ("pe",),
    "LabelSelect": ("pe",),
}


def _dt(v) -> DataType:
    return v if isinstance(v, DataType) else DataType.from_name(str(v))


def lane_limits(node) -> dict[str, tuple[int, str]]:
    """For each lane option of ``node``: the number it must divide and that number's name."""
    a = node.attrs
    if node.op == "Mvtu":
        mh, mw = a["weights"].shape
        return {"pe": (mh, "MH"), "simd": (mw, "MW")}
    channels = a["in_shape"][-1]
    name = "labels" if node.op == "LabelSelect" else "channels"
    return {opt: (channels, name) for opt in OPTIONS[node.op]}


@dataclass
class Stage:
    """A hardware layer built for one IR node (or a FIFO / width converter between layers)."""

    name: str
    kind: str
    component: object
    pe: int | None = None
    simd: int | None = None
    vectors: int = 1  # ii_cycles repetitions per frame
    in_elems: int = 0  # elements per frame on the input and output streams
    out_elems: int = 0
    in_lanes: int = 1
    out_lanes: int = 1
    shape: tuple | None = None  # (MH, MW) of a matrix layer

    @property
    def cycles(self) -> int:
        """Cycles per frame (the layer's initiation interval for one whole frame)."""
        return self.component.ii_cycles * self.vectors


def make_stage(node, pe: int = 1, simd: int = 1, idt: DataType | None = None) -> Stage:
    """The layer for hardware node ``node`` with the given lanes.

    ``idt`` is the datatype of the stream the layer reads (the previous layer's ``odt``); it defaults to
    the node's own ``in_dtype``/``dtype`` attribute (a ``LabelSelect`` after raw accumulators needs it).
    """
    a = node.attrs
    in_shape, out_shape = tuple(a["in_shape"]), tuple(a["out_shape"])
    in_elems, out_elems = prod(in_shape), prod(out_shape)
    kw = {"name": node.name, "kind": node.op, "in_elems": in_elems, "out_elems": out_elems}
    if node.op == "Mvtu":
        w = a["weights"]
        thr = a.get("thresholds")
        odt = None if thr is None else _dt(a["out_dtype"])
        comp = MVTU(
            w,
            idt=_dt(a["in_dtype"]),
            wdt=_dt(a["w_dtype"]),
            pe=pe,
            simd=simd,
            thresholds=thr,
            out_offset=int(a.get("out_offset", 0)) if thr is not None else 0,
            odt=odt,
        )
        mh, mw = w.shape
        return Stage(
            component=comp,
            pe=pe,
            simd=simd,
            vectors=in_elems // mw,
            in_lanes=simd,
            out_lanes=pe,
            shape=(mh, mw),
            **kw,
        )
    if node.op == "Thresholding":
        channels = in_shape[-1]
        comp = Thresholding(
            channels,
            pe=pe,
            idt=_dt(a["in_dtype"]),
            thresholds=a["thresholds"],
            out_offset=int(a.get("out_offset", 0)),
            odt=_dt(a["out_dtype"]),
        )
        return Stage(component=comp, pe=pe, vectors=in_elems // channels, in_lanes=pe, out_lanes=pe, **kw)
    if node.op == "SlidingWindow":
        (h, w_), c = a["ifm_dim"], a["channels"]
        comp = SlidingWindow(
            h,
            w_,
            c,
            k=a["k"],
            stride=a.get("stride", 1),
            pad=a.get("pad", 0),
            pad_value=a.get("pad_value", 0),
            simd=simd,
            dtype=_dt(a["dtype"]),
        )
        return Stage(component=comp, simd=simd, in_lanes=simd, out_lanes=simd, **kw)
    if node.op == "MaxPoolHw":
        (h, w_), c = a["ifm_dim"], a["channels"]
        comp = MaxPool(h, w_, c, k=a["k"], stride=a.get("stride"), simd=simd, dtype=_dt(a["dtype"]))
        return Stage(component=comp, simd=simd, in_lanes=simd, out_lanes=simd, **kw)
    if node.op == "LabelSelect":
        if idt is None:
            raise ValueError(f"layer {node.name!r}: LabelSelect needs the datatype of its input")
        comp = LabelSelect(in_shape[-1], k=a["k"], pe=pe, idt=idt)
        return Stage(component=comp, pe=pe, in_lanes=pe, out_lanes=1, **kw)
    raise ValueError(f"node {node.name!r}: no hardware layer for op {node.op}")


def in_dtype(node) -> DataType | None:
    """Datatype of the stream a node reads, from its attributes (None for LabelSelect)."""
    a = node.attrs
    v = a.get("in_dtype", a.get("dtype"))
    return None if v is None else _dt(v)
