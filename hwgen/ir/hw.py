"""The hardware IR: the attribute schema of every hardware op, and its one serialisation.

Hardware nodes work on integer *values* in NHWC order (channels fastest). Their ``attrs`` are typed:
datatypes are :class:`~hwgen.ir.datatypes.DataType` objects, tables are int64 arrays, shapes are tuples
without the batch axis. The passes (:mod:`hwgen.passes`) write them, :func:`check` (run at the end of
streamlining) verifies every node against :data:`SCHEMA` and fills optional attributes with their
defaults, and :func:`describe` is the only place that turns them into JSON-ready values. Semantics of
each op: :mod:`hwgen.golden.ops`; the hardware layer of each op: :mod:`hwgen.layers.registry`.

Ops and attributes (``*`` = optional, with its default):

``MVTU`` — matrix-vector(-threshold) unit, ``y = threshold(W x)`` or the raw dot products
    ``weights`` (MH, MW) int64 values of ``w_dtype``; ``thresholds`` (MH or 1, T) int64 ascending, or None
    for raw accumulators out; ``out_offset`` (a threshold layer outputs ``out_offset + count``, or
    ``2*count - 1`` when ``out_dtype`` is BIPOLAR); ``in_dtype``, ``w_dtype``, ``out_dtype``;
    ``acc_min``/``acc_max`` per row (reachable dot products); ``mh``, ``mw``; ``in_shape``, ``out_shape``;
    ``negated*`` rows whose sign was flipped for a negative batch-norm gamma; ``thresholds_repaired*``
    thresholds where float32 rounding overrode the analytic value. XNOR-popcount when ``in_dtype`` and
    ``w_dtype`` are both BIPOLAR. Thresholds are clipped to ``[acc_min, acc_max + 1]`` per channel.
    ``pad_rows*``/``pad_cols*`` (OH, KH) / (OW, KW) 0/1: after a padded ``SlidingWindow`` on bipolar values
    (which cannot hold the model's padding 0), window lane (ky, kx, c) of output position (oy, ox) is
    padding when ``pad_rows[oy, ky]`` or ``pad_cols[ox, kx]``, and contributes 0 to the dot product
    (a masked lane; equivalently the popcount minus the pad lanes' known contribution at that position).
``Thresholding`` — standalone multi-threshold per channel
    ``thresholds``, ``out_offset``, ``in_dtype``, ``out_dtype``, ``in_shape``, ``out_shape``,
    ``thresholds_repaired*``.
``SlidingWindow`` — im2col: output vector order (ky, kx, c)
    ``k`` (an int, or (kh, kw) for a non-square window), ``stride*`` (1), ``pad*`` (0; or (top, left, bottom,
    right) when the borders differ), ``pad_value*`` (0),
    ``ifm_dim`` (H, W), ``ofm_dim``, ``channels``, ``dtype``, shapes.
``DepthwiseConv`` — per channel ``c``, ``threshold(Σ_t weights[c, t] · window[t, c])`` over its own k×k window
    (ONNX ``Conv`` with ``group`` = channels; average pooling with every weight 1): ``weights`` (C, kh·kw)
    int64 values of ``w_dtype``, tap order (ky, kx); ``thresholds``, ``out_offset``, ``acc_min``/``acc_max``,
    ``negated*``, ``thresholds_repaired*`` as for ``MVTU``; ``k``, ``stride*``, ``pad*``, ``pad_value*``,
    ``ifm_dim``, ``ofm_dim``, ``channels``; ``in_dtype``, ``w_dtype``, ``out_dtype``; shapes (the image in,
    the output image out).
``StreamingMaxPool`` — k×k max-pool, floor mode, no padding (1-bit: an OR)
    ``k``, ``stride``, ``ifm_dim``, ``ofm_dim``, ``channels``, ``dtype``, shapes.
``LabelSelect`` — indices of the ``k`` largest values, ties to the lower index (only with top-k)
    ``k``, ``in_dtype``, ``out_dtype``, shapes.
``AddStreams`` — element-wise ``Σ_i muls[i] · x_i`` of two or more streams of one shape (a residual add)
    ``in_dtypes`` (one per input), ``muls`` (positive integers: the inputs' scales over the output's),
    ``out_dtype``, ``channels``, shapes (``in_shape`` of every input).
``ConcatStreams`` — the channels of two or more images side by side, input ``i`` scaled by ``muls[i]``
    ``in_dtypes``, ``muls``, ``in_channels`` (channels of each input), ``out_dtype``, shapes (``in_shape``
    of input 0; the other inputs differ in the channel count only).

A tensor read by several hardware nodes is one stream sent to each of them (the stitcher forks it), so the
hardware nodes form a DAG with one input and one output.

``Flatten`` between layers is a no-op on the stream (NHWC order kept; the next layer's weights are
permuted to match), kept in the graph so that shapes chain.

Pure Python + NumPy: no onnx, no amaranth here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datatypes import DataType

__all__ = ["HW_OPS", "SCHEMA", "Attr", "check", "describe", "plain"]

_REQUIRED = object()


@dataclass(frozen=True)
class Attr:
    """One attribute: accepted Python types and the default (required if none)."""

    types: tuple
    default: object = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


_INT = Attr((int, np.integer))
_ARR = Attr((np.ndarray,))
_DT = Attr((DataType,))
_SHAPE = Attr((tuple,))
_SHAPES = {"in_shape": _SHAPE, "out_shape": _SHAPE}

#: Attributes of the layers with weights and (optional) thresholds.
_WEIGHTED = {
    "weights": _ARR,
    "thresholds": Attr((np.ndarray, type(None))),
    "out_offset": Attr((int, np.integer), 0),
    "in_dtype": _DT,
    "w_dtype": _DT,
    "out_dtype": _DT,
    "acc_min": _ARR,
    "acc_max": _ARR,
    "negated": Attr((np.ndarray,), None),
    "thresholds_repaired": Attr((int, np.integer), 0),
}
#: Attributes of a k x k window over an image (``k`` an int, or (kh, kw) for a SlidingWindow).
_WINDOW = {
    "k": _INT,
    "stride": Attr((int, np.integer), 1),
    "pad": Attr((int, np.integer), 0),
    "pad_value": Attr((int, np.integer), 0),
    "ifm_dim": _SHAPE,
    "ofm_dim": _SHAPE,
    "channels": _INT,
}

#: op -> {attribute: Attr}
SCHEMA: dict[str, dict[str, Attr]] = {
    "MVTU": {
        **_WEIGHTED,
        "mh": _INT,
        "mw": _INT,
        "pad_rows": Attr((np.ndarray,), None),
        "pad_cols": Attr((np.ndarray,), None),
        **_SHAPES,
    },
    "Thresholding": {
        "thresholds": _ARR,
        "out_offset": Attr((int, np.integer), 0),
        "in_dtype": _DT,
        "out_dtype": _DT,
        "thresholds_repaired": Attr((int, np.integer), 0),
        **_SHAPES,
    },
    "SlidingWindow": {
        **_WINDOW,
        "k": Attr((int, np.integer, tuple)),
        "pad": Attr((int, np.integer, tuple), 0),
        "dtype": _DT,
        **_SHAPES,
    },
    "DepthwiseConv": {**_WEIGHTED, **_WINDOW, **_SHAPES},
    "StreamingMaxPool": {
        "k": _INT,
        "stride": _INT,
        "ifm_dim": _SHAPE,
        "ofm_dim": _SHAPE,
        "channels": _INT,
        "dtype": _DT,
        **_SHAPES,
    },
    "LabelSelect": {"k": _INT, "in_dtype": _DT, "out_dtype": _DT, **_SHAPES},
    "AddStreams": {"in_dtypes": _SHAPE, "muls": _SHAPE, "out_dtype": _DT, "channels": _INT, **_SHAPES},
    "ConcatStreams": {
        "in_dtypes": _SHAPE,
        "muls": _SHAPE,
        "in_channels": _SHAPE,
        "out_dtype": _DT,
        **_SHAPES,
    },
}

#: Ops of the hardware IR.
HW_OPS = tuple(SCHEMA)


def check(node) -> None:
    """Verify a hardware node's attributes against :data:`SCHEMA`, filling in optional ones.

    A violation is a bug in the pass that wrote the node: TypeError naming the node and attribute.
    """
    schema = SCHEMA[node.op]
    a = node.attrs
    for key in a:
        if key not in schema:
            raise TypeError(f"node {node.name!r} ({node.op}): unknown attribute {key!r}")
    for key, attr in schema.items():
        if key not in a:
            if attr.required:
                raise TypeError(f"node {node.name!r} ({node.op}): attribute {key!r} missing")
            a[key] = attr.default
        elif not isinstance(a[key], attr.types) and not (a[key] is None and not attr.required):
            raise TypeError(
                f"node {node.name!r} ({node.op}): attribute {key!r} must be "
                f"{' or '.join(t.__name__ for t in attr.types)}, not {type(a[key]).__name__}"
            )


def plain(v):
    """An attribute value as JSON-ready data: arrays as nested lists, datatypes by name."""
    if isinstance(v, DataType):
        return v.name
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple | list):
        return [plain(x) for x in v]
    return v


def describe(graph) -> dict:
    """Input stream, layers (kind, name, attributes) and output stream of a streamlined graph."""
    to_codes = next(n for n in graph.nodes if n.op == "ToCodes")
    layers = [
        {"kind": n.op, "name": n.name, **{k: plain(v) for k, v in n.attrs.items()}} for n in graph.hw_nodes()
    ]
    last = graph.hw_nodes()[-1]
    out = last.outputs[0]
    return {
        "input": {
            "dtype": plain(to_codes.attrs["dtype"]),
            "shape": list(graph.shapes[to_codes.outputs[0]][1:]),
        },
        "layers": layers,
        "output": {
            "dtype": plain(graph.dtypes.get(out, last.attrs.get("out_dtype"))),
            "shape": list(graph.shapes[out][1:]),
        },
    }
