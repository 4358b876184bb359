"""Average pooling on integer values -> a depthwise layer of unit weights (the window sums), then the mean.

``FromCodes -> AveragePool | GlobalAveragePool | ReduceMean`` (over H and W, as ``AdaptiveAvgPool2d(1)``
exports) becomes ``DepthwiseConv(weights 1) -> FromCodes -> Div``:
the hardware sums each channel's window exactly; the sum times the input scale is the model's float32 sum
(exact: a power-of-two input scale is required, and :func:`~._weights.check_exact_sum`), and dividing by the
window size in float32 is what the model's ``AveragePool`` computes. The quantizer after it (``Trunc`` as
Brevitas' ``TruncAvgPool2d`` exports it, or a ``Quant``) then folds into thresholds on the sum
(:mod:`.lower_activation`), checked on every reachable sum.
"""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..golden.exact import is_pow2
from ..golden.float_ops import reduce_axes
from ..ir.datatypes import smallest_type_for
from ..ir.graph import Graph, Node
from ._codes import from_codes_node
from ._weights import acc_range, check_exact_sum
from .lower_matmul import _input_codes

__all__ = ["lower_avgpool"]

_NCHW = [0, 3, 1, 2]


def _global(graph: Graph, node: Node) -> bool:
    """A ``ReduceMean`` over the two spatial axes of NCHW that keeps them (``AdaptiveAvgPool2d(1)``)."""
    ins = [graph.consts.get(t) for t in node.inputs]
    return reduce_axes(ins, node.attrs, 4) == (2, 3) and node.attrs.get("keepdims", 1) == 1


def _window(node: Node, h: int, w: int) -> tuple[int, int]:
    """(k, stride) of a square, unpadded, floor-mode pooling; HwgenError otherwise."""
    if node.op in ("GlobalAveragePool", "ReduceMean"):
        if h != w:
            raise HwgenError(f"node {node.name!r} ({node.op}): only square images are supported")
        return h, 1
    a = node.attrs
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    auto_pad = a.get("auto_pad", "NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if (
        kh != kw
        or sh != sw
        or any(a.get("pads", [0]))
        or a.get("ceil_mode", 0)
        or any(d != 1 for d in a.get("dilations", [1, 1]))
        or auto_pad not in ("NOTSET", "VALID")
    ):
        raise HwgenError(
            f"node {node.name!r} (AveragePool): only square, unpadded, floor-mode pooling with equal strides "
            "is supported"
        )
    return kh, sh


def lower_avgpool(graph: Graph) -> bool:
    for node in graph.nodes:
        if node.op not in ("AveragePool", "GlobalAveragePool", "ReduceMean"):
            continue
        if node.op == "ReduceMean" and not _global(graph, node):
            raise HwgenError(
                f"node {node.name!r} (ReduceMean): only the mean over both spatial axes of an image, "
                "keeping them (global average pooling), is supported"
            )
        f = graph.producer(node.inputs[0])
        if f is None or f.op != "FromCodes" or f.attrs.get("shape") or (f.attrs.get("perm") or None) != _NCHW:
            continue
        codes, in_mul = _input_codes(graph, f, node)
        if not is_pow2(in_mul):  # then the model's float32 sum of rounded values depends on its order
            raise HwgenError(
                f"node {node.name!r} ({node.op}): average pooling needs a power-of-two input scale, not "
                f"{float(in_mul):g} (the float32 sum of the scaled values is not exact otherwise)"
            )
        n, h, w, c = graph.shapes[codes]
        k, stride = _window(node, h, w)
        in_dt = graph.dtypes[codes]
        ones = np.ones((c, k * k), np.int64)
        lo, hi = acc_range(ones, in_dt)
        check_exact_sum(lo, hi, node)
        acc = graph.fresh(node.name + "_sum")
        acc_dt = smallest_type_for(int(lo.min()), int(hi.max()))
        graph.dtypes[acc] = acc_dt
        graph.shapes[acc] = (n, (h - k) // stride + 1, (w - k) // stride + 1, c)
        attrs = {
            "weights": ones, "thresholds": None, "out_offset": 0, "in_dtype": in_dt,
            "w_dtype": smallest_type_for(1, 1), "out_dtype": acc_dt, "acc_min": lo, "acc_max": hi, "k": k,
            "stride": stride, "pad": 0, "pad_value": 0,
        }  # fmt: skip
        pool = Node("DepthwiseConv", [codes], [acc], attrs, node.name)
        total = graph.fresh(node.name + "_total")
        graph.shapes[total] = graph.shapes[node.outputs[0]]
        fc = from_codes_node(graph, acc, total, in_mul, 0.0, node.name + "_dequant", perm=_NCHW)
        size = graph.add_const(node.name + "_count", np.float32(k * k))
        mean = Node("Div", [total, size], [node.outputs[0]], {}, node.name + "_mean")
        remove = [node] if graph.single_consumer(f.outputs[0]) is not node else [node, f]
        graph.replace(remove, [pool, fc, mean])
        return True
    return False
