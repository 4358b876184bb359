"""Make ``FromCodes`` a pure scale: move integer offsets into the values themselves.

``FromCodes(v) = v*m + k*m`` becomes ``(v+k)*m`` (the producer adds ``k``: a threshold layer's ``out_offset``
or the host's ``ToCodes``), and a 0/1 tensor read as ``2v-1`` (times a scale) becomes a bipolar tensor, so
the matrix layer after it sees the values the ONNX model multiplies with.
"""

from __future__ import annotations

import numpy as np

from ..ir.datatypes import BIPOLAR, smallest_type_for
from ..ir.graph import Graph
from ._codes import dequantize, dtype_values

__all__ = ["normalize_codes"]

F32 = np.float32
_THRESHOLDED = ("MVTU", "DepthwiseConv", "Thresholding")  # layers whose output is a threshold count


def _shift(p, k: int, bipolar: bool) -> bool:
    """Make the producer ``p`` emit ``value + k`` (or ``2*value - 1`` if ``bipolar``)."""
    a = p.attrs
    if p.op == "ToCodes":
        if bipolar:
            a["a_mul"], a["a_add"] = 2 * a.get("a_mul", 1), 2 * a.get("a_add", 0) - 1
        else:
            a["a_add"] = a.get("a_add", 0) + k
        return True
    if p.op in _THRESHOLDED and a.get("thresholds") is not None and a["out_dtype"] != BIPOLAR:
        if bipolar:
            if a.get("out_offset", 0) != 0 or a["thresholds"].shape[1] != 1:
                return False
        else:
            a["out_offset"] = a.get("out_offset", 0) + k
        return True
    return False


_PASS_THROUGH = ("SlidingWindow", "StreamingMaxPool", "Flatten")


def _through(graph: Graph, codes: str):
    """Pass-through layers (window, pool, flatten) above ``codes`` and the node that computes the values."""
    path, t = [], codes
    while True:
        if len(graph.consumers(t)) != 1 or t in graph.outputs:
            return path, None
        p = graph.producer(t)
        if p is None or p.op not in _PASS_THROUGH:
            return path, p
        path.append(p)
        t = p.inputs[0]


def normalize_codes(graph: Graph) -> bool:
    for f in graph.nodes:
        if f.op != "FromCodes":
            continue
        mul, add = np.asarray(f.attrs["mul"], F32), np.asarray(f.attrs.get("add", 0.0), F32)
        if mul.size != 1 or add.size != 1 or add == 0:
            continue
        codes = f.inputs[0]
        dt = graph.dtypes.get(codes)
        vals = dtype_values(dt)
        path, p = _through(graph, codes)
        if vals is None or p is None:
            continue
        before = dequantize(f.attrs, vals)
        if dt.kind in ("binary", "uint") and dt.bits == 1 and add == -mul / F32(2):
            new_vals, new_dt, new_mul, k = 2 * vals - 1, BIPOLAR, mul / F32(2), None
        elif float(add / mul) == int(add / mul) and dt.kind != "bipolar":
            k = int(add / mul)
            new_vals, new_mul = vals + k, mul
            new_dt = smallest_type_for(int(new_vals.min()), int(new_vals.max()))
        else:
            continue
        after = dequantize({"mul": new_mul, "add": F32(0)}, new_vals)
        if not np.array_equal(before, after):
            continue
        snapshot = dict(p.attrs)
        if not _shift(p, k or 0, new_dt == BIPOLAR):
            p.attrs = snapshot
            continue
        if p.op in _THRESHOLDED:
            p.attrs["out_dtype"] = new_dt
        else:
            p.attrs["dtype"] = new_dt
        for n in path:  # pass-through layers between the producer and the FromCodes
            n.attrs["dtype"] = new_dt
            if "pad_value" in n.attrs:
                pv = n.attrs["pad_value"]
                n.attrs["pad_value"] = 2 * pv - 1 if new_dt == BIPOLAR else pv + (k or 0)
            graph.dtypes[n.inputs[0]] = new_dt
        f.attrs["mul"], f.attrs["add"] = F32(new_mul), F32(0)
        graph.dtypes[codes] = new_dt
        return True
    return False
