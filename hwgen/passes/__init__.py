"""Streamlining: from the frontend's float graph to the hardware IR.

Public API
----------
``streamline(graph, input_dtype=None, input_scale=None) -> Graph``
    Returns a new graph (the input is not modified) made of three parts, in order:

    1. host pre-processing: the float ops from the model input up to ``ToCodes`` (the host quantizes);
    2. the accelerator: a chain of hardware nodes (``graph.hw_nodes()``) on integer values, NHWC;
    3. the float tail after the last ``FromCodes`` (e.g. TensorNorm), applied by ``hwgen run`` in float32.

    The hardware ops and their typed attributes (the schema) are documented in :mod:`hwgen.ir.hw`; every
    hardware node is checked against it at the end.

``run_to_fixed_point(graph, passes, max_rounds)`` — the driver; each pass is ``pass(graph) -> bool``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import DataType, smallest_type_for
from ..ir.graph import HW_OPS, Graph, Node
from ..ir.hw import check as check_hw_node
from .absorb_layout import absorb_layout
from .absorb_relu import absorb_relu
from .absorb_scalar_affine import absorb_scalar_affine
from .convert_gemm import convert_gemm
from .convert_qcdq import convert_qcdq
from .convert_xnor_popcount import convert_xnor_popcount
from .driver import run_to_fixed_point
from .fold_constants import fold_constants
from .lower_activation import lower_activation
from .lower_avgpool import lower_avgpool
from .lower_conv import lower_conv
from .lower_join import lower_join
from .lower_matmul import lower_matmul
from .lower_maxpool import lower_maxpool
from .normalize_codes import normalize_codes
from .quantize_input import quantize_input
from .swap_maxpool_quantizer import swap_maxpool_quantizer

#: Widest raw input type ``--input-dtype`` may declare (its values are enumerated to derive thresholds).
MAX_INPUT_BITS = 16

__all__ = ["CLEANUP", "LOWERING", "run_to_fixed_point", "streamline"]

CLEANUP = (
    convert_qcdq,
    fold_constants,
    convert_gemm,
    convert_xnor_popcount,
    swap_maxpool_quantizer,
    absorb_relu,
)
LOWERING = (
    absorb_layout,
    absorb_scalar_affine,
    normalize_codes,
    lower_matmul,
    lower_conv,
    lower_maxpool,
    lower_avgpool,
    lower_join,
    lower_activation,
)
_LAYOUT_ON_CODES = ("Flatten",)


def _check_structure(graph: Graph) -> None:
    """host ops -> ToCodes -> hardware chain -> FromCodes -> tail; anything else was not lowered."""
    stage = 0
    for n in graph.nodes:
        if n.op == "ToCodes":
            stage = 1
        elif stage == 1 and n.op not in HW_OPS and n.op not in _LAYOUT_ON_CODES:
            if n.op != "FromCodes":
                raise HwgenError(f"node {n.name!r} ({n.op}) could not be mapped to hardware")
            users = graph.consumers(n.outputs[0])
            if any(u.op in HW_OPS for u in users):
                raise HwgenError(f"node {n.name!r} could not be mapped to hardware")
            stage = 2
        elif stage == 2 and (n.op in HW_OPS or n.op in ("ToCodes", "FromCodes")):
            raise HwgenError(
                f"node {n.name!r} ({n.op}): part of the float tail after the accelerator could not "
                "be mapped to hardware"
            )
        elif stage == 2 and n.op in ("Quant", "BipolarQuant", "MultiThreshold", "MatMul", "Conv"):
            raise HwgenError(f"node {n.name!r} ({n.op}) could not be mapped to hardware")


def _annotate(graph: Graph) -> None:
    from ..golden.shapes import infer_shapes

    infer_shapes(graph)
    for n in graph.hw_nodes():
        a = n.attrs
        a["in_shape"], a["out_shape"] = graph.shapes[n.inputs[0]][1:], graph.shapes[n.outputs[0]][1:]
        if n.op == "AddStreams":
            a["channels"] = a["in_shape"][-1]
        if n.op == "MVTU":
            a["mh"], a["mw"] = a["weights"].shape
        if n.op in ("SlidingWindow", "StreamingMaxPool", "DepthwiseConv"):
            a["ifm_dim"], a["ofm_dim"] = a["in_shape"][:2], a["out_shape"][:2]
            a["channels"] = a["in_shape"][2]
        check_hw_node(n)


def _add_label_select(graph: Graph, k: int) -> None:
    """Append a top-k layer after the last matrix layer: the accelerator then outputs class indices."""
    last = (graph.hw_nodes() or [None])[-1]
    if last is None or last.op != "MVTU" or last.attrs.get("thresholds") is not None:
        raise HwgenError("--topk needs the model to end with a matrix layer without output quantizer")
    mh = last.attrs["weights"].shape[0]
    if not 1 <= k <= mh:
        raise HwgenError(f"--topk {k}: must be between 1 and the {mh} outputs of the last layer")
    out = graph.fresh("topk")
    odt = smallest_type_for(0, mh - 1)
    attrs = {"k": k, "in_dtype": last.attrs["out_dtype"], "out_dtype": odt}
    graph.nodes.insert(
        graph.nodes.index(last) + 1, Node("LabelSelect", [last.outputs[0]], [out], attrs, "topk")
    )
    graph.dtypes[out] = odt
    graph.shapes[out] = (*graph.shapes[last.outputs[0]][:-1], k)


def streamline(
    graph: Graph,
    input_dtype: DataType | str | None = None,
    input_scale: float | None = None,
    topk: int | None = None,
) -> Graph:
    """Map a frontend graph to the hardware IR (see the module docstring).

    ``topk`` appends a ``LabelSelect`` layer (indices of the k largest accumulators, ties to the lower
    index); the float tail still reads the accumulators.
    """
    g = graph.copy()
    if isinstance(input_dtype, str):
        try:
            input_dtype = DataType.from_name(input_dtype)
        except ValueError as e:
            raise HwgenError(f"--input-dtype: {e}") from None
    if input_dtype is not None and input_dtype.bits > MAX_INPUT_BITS:
        raise HwgenError(f"--input-dtype {input_dtype}: at most {MAX_INPUT_BITS} bits per input element")
    if input_scale is not None:
        s = float(input_scale)
        f32 = np.finfo(np.float32)
        if not (math.isfinite(s) and float(f32.tiny) <= s <= float(f32.max)):
            raise HwgenError(
                f"--input-scale {s:g}: must be a positive normal float32 number ({f32.tiny:g} .. {f32.max:g})"
            )
    run_to_fixed_point(g, CLEANUP)
    quantize_input(g, input_dtype, input_scale)
    run_to_fixed_point(g, LOWERING)
    _check_structure(g)
    if topk is not None:
        _add_label_select(g, int(topk))
    _annotate(g)
    return g
