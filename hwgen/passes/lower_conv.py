"""Convolution on integer values -> sliding window + matrix-vector unit (im2col order (ky, kx, c)).

Zero padding pads the integer values with the value whose float is 0. Bipolar values have none (-1/+1):
the window then pads with +1 and the matrix layer masks the padding lanes (``pad_rows``/``pad_cols``), so
a padded position contributes 0 to the dot product as in the model.
"""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.datatypes import BIPOLAR, smallest_type_for
from ..ir.graph import Graph, Node
from ._codes import dequantize, from_codes_node
from ._weights import acc_range, check_exact_sum, column_scale, weight_codes
from .lower_matmul import _input_codes, dequantize_acc, make_mvtu

__all__ = ["lower_conv"]

_NCHW = [0, 3, 1, 2]


def _pad_value(graph: Graph, f: Node, pad_float: float, node: Node) -> int:
    """The integer value whose float is the padding value."""
    dt = graph.dtypes[f.inputs[0]]
    vals = dt.values()
    hit = vals[dequantize(f.attrs, vals) == np.float32(pad_float)]
    if hit.size != 1:
        raise HwgenError(
            f"node {node.name!r} ({node.op}): padding value {pad_float:g} is not representable in the "
            f"input datatype {dt}"
        )
    return int(hit[0])


def _pad_lanes(size: int, k: int, stride: int, pad: int, pad_end: int | None = None) -> np.ndarray:
    """(O, k) 0/1: tap ``t`` of output index ``o`` reads padding (outside ``0..size-1``); ``pad`` before the
    image, ``pad_end`` (default ``pad``) after it."""
    pad_end = pad if pad_end is None else pad_end
    o = np.arange((size + pad + pad_end - k) // stride + 1)[:, None]
    pos = o * stride - pad + np.arange(k)[None, :]
    return ((pos < 0) | (pos >= size)).astype(np.int64)


def _sliding_window(graph: Graph, node: Node, codes: str, k, stride: int, pad, pad_value: int):
    """A window node; ``k`` an int or a (kh, kw) pair (kept an int when square), ``pad`` an int or (top,
    left, bottom, right) (kept an int when the borders are equal)."""
    kh, kw = (k, k) if isinstance(k, int) else k
    k = kh if kh == kw else (kh, kw)
    t, left, b, r = (pad,) * 4 if isinstance(pad, int) else pad
    pad = t if t == left == b == r else (t, left, b, r)
    win = graph.fresh(node.name + "_win")
    graph.dtypes[win] = graph.dtypes[codes]
    n, h, w, c = graph.shapes[codes]
    oh, ow = (h + t + b - kh) // stride + 1, (w + left + r - kw) // stride + 1
    graph.shapes[win] = (n, oh, ow, kh * kw * c)
    attrs = {"k": k, "stride": stride, "pad": pad, "pad_value": pad_value, "dtype": graph.dtypes[codes]}
    return Node("SlidingWindow", [codes], [win], attrs, node.name + "_swg"), win


def _lower_conv(graph: Graph, node: Node, f: Node) -> list[Node]:
    a = node.attrs
    if f.attrs.get("perm") != _NCHW or f.attrs.get("shape"):
        raise HwgenError(f"node {node.name!r} (Conv): input layout not understood")
    if node.inputs[1] not in graph.consts:
        raise HwgenError(f"node {node.name!r} (Conv): weights must be constant")
    if len(node.inputs) > 2 and node.inputs[2] and node.inputs[2] not in graph.consts:
        raise HwgenError(f"node {node.name!r} (Conv): the bias must be constant")
    vals, scale, w_dt = weight_codes(graph, node.inputs[1], node)
    m, c, kh, kw = vals.shape
    strides, pads = a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0])
    group = a.get("group", 1)
    depthwise = group != 1 and group == m and c == 1 and graph.shapes[node.inputs[0]][1] == m
    pads = [int(v) for v in pads]
    if (
        (kh != kw and depthwise)
        or (len(set(pads)) != 1 and depthwise)
        or max(pads[0], pads[2]) >= kh
        or max(pads[1], pads[3]) >= kw
        or strides[0] != strides[1]
        or (group != 1 and not depthwise)
        or any(d != 1 for d in a.get("dilations", [1, 1]))
        or a.get("auto_pad", "NOTSET") not in ("NOTSET", "")
    ):
        raise HwgenError(
            f"node {node.name!r} (Conv): only equal strides, padding smaller than the kernel, square and "
            "evenly padded depthwise kernels, group 1 or group = channels (depthwise) and dilation 1 are "
            "supported"
        )
    codes, in_mul = _input_codes(graph, f, node)
    if depthwise:
        return _depthwise(graph, node, f, codes, in_mul, vals, scale, w_dt, strides[0], pads[0])
    masked = any(pads) and graph.dtypes[codes] == BIPOLAR
    pad_value = 1 if masked else _pad_value(graph, f, 0.0, node) if any(pads) else 0
    swg, win = _sliding_window(graph, node, codes, (kh, kw), strides[0], tuple(pads), pad_value)
    w_hw = vals.transpose(0, 2, 3, 1).reshape(m, -1)
    out = node.outputs[0]
    bias = len(node.inputs) > 2 and node.inputs[2]
    if bias:
        out = graph.fresh(node.name + "_nobias")
        graph.shapes[out] = graph.shapes[node.outputs[0]]
    new = [
        swg,
        *make_mvtu(graph, node, win, w_hw, w_dt, in_mul, column_scale(scale, 0, node), out, perm=_NCHW),
    ]
    if masked:  # bipolar values cannot hold the model's padding 0: the matrix layer masks those lanes
        n, h, w, _ = graph.shapes[codes]
        new[1].attrs["pad_rows"] = _pad_lanes(h, kh, strides[0], pads[0], pads[2])
        new[1].attrs["pad_cols"] = _pad_lanes(w, kw, strides[0], pads[1], pads[3])
    if bias:
        b = np.asarray(graph.consts[node.inputs[2]], np.float32).reshape(1, -1, 1, 1)
        new.append(
            Node("Add", [out, graph.add_const(node.name + "_b", b)], [node.outputs[0]], {}, node.name + "_b")
        )
    return new


def _depthwise(
    graph: Graph, node: Node, f: Node, codes, in_mul, vals, scale, w_dt, stride, pad
) -> list[Node]:
    """Conv with group = channels -> DepthwiseConv (window and vector-vector unit in one layer)."""
    m, _, kh, kw = vals.shape
    in_dt = graph.dtypes[codes]
    if pad and in_dt == BIPOLAR:
        raise HwgenError(
            f"node {node.name!r} (Conv): zero padding of a depthwise convolution on bipolar values is not "
            "supported (no bipolar value is 0)"
        )
    pad_value = _pad_value(graph, f, 0.0, node) if pad else 0
    w_hw = np.ascontiguousarray(vals.reshape(m, kh * kw), dtype=np.int64)
    lo, hi = acc_range(w_hw, in_dt)
    check_exact_sum(lo, hi, node)
    acc = graph.fresh(node.name + "_acc")
    acc_dt = smallest_type_for(int(lo.min()), int(hi.max()))
    n, h, w, _ = graph.shapes[codes]
    graph.dtypes[acc] = acc_dt
    graph.shapes[acc] = (n, (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1, m)
    attrs = {
        "weights": w_hw, "thresholds": None, "out_offset": 0, "in_dtype": in_dt, "w_dtype": w_dt,
        "out_dtype": acc_dt, "acc_min": lo, "acc_max": hi, "k": kh, "stride": stride, "pad": pad,
        "pad_value": pad_value,
    }  # fmt: skip
    dw = Node("DepthwiseConv", [codes], [acc], attrs, node.name)
    out = node.outputs[0]
    new = [dw]
    bias = len(node.inputs) > 2 and node.inputs[2]
    if bias:
        out = graph.fresh(node.name + "_nobias")
        graph.shapes[out] = graph.shapes[node.outputs[0]]
    new.append(dequantize_acc(graph, node, acc, out, in_mul, column_scale(scale, 0, node), m, perm=_NCHW))
    if bias:
        b = np.asarray(graph.consts[node.inputs[2]], np.float32).reshape(1, -1, 1, 1)
        new.append(
            Node("Add", [out, graph.add_const(node.name + "_b", b)], [node.outputs[0]], {}, node.name + "_b")
        )
    return new


def _lower_im2col(graph: Graph, node: Node, f: Node) -> list[Node]:
    a = node.attrs
    if f.attrs.get("perm") or f.attrs.get("shape"):
        raise HwgenError(f"node {node.name!r} (Im2Col): input layout not understood")
    kh, kw = a["kernel_size"]
    st = a.get("stride", [1, 1])
    pads = a.get("pad_amount", [0, 0, 0, 0])
    if kh != kw or st[0] != st[1] or len(set(pads)) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise HwgenError(
            f"node {node.name!r} (Im2Col): only square, evenly padded, undilated windows are supported"
        )
    pad_value = _pad_value(graph, f, a.get("pad_value", 0), node) if pads[0] else 0
    swg, win = _sliding_window(graph, node, f.inputs[0], kh, st[0], pads[0], pad_value)
    fc = from_codes_node(
        graph, win, node.outputs[0], f.attrs["mul"], f.attrs.get("add", 0.0), node.name + "_deq"
    )
    return [swg, fc]


def lower_conv(graph: Graph) -> bool:
    """``FromCodes -> Conv`` / ``FromCodes -> Im2Col`` become ``SlidingWindow [-> MVTU] -> FromCodes``."""
    for node in graph.nodes:
        if node.op not in ("Conv", "Im2Col"):
            continue
        f = graph.producer(node.inputs[0])
        if f is None or f.op != "FromCodes":
            continue
        new = (_lower_conv if node.op == "Conv" else _lower_im2col)(graph, node, f)
        remove = [node] if graph.single_consumer(f.outputs[0]) is not node else [node, f]
        graph.replace(remove, new)
        return True
    return False
