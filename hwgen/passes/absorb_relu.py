"""``Relu -> quantizer`` becomes the quantizer alone when the quantizer already maps every ``y <= 0`` to the
same output as ``0`` (``QuantReLU`` exports a ``Relu`` in front of its unsigned ``Quant``).

That holds, for every float32 ``y`` (``-0.0``, ``-inf`` and NaN included), for an unsigned ``Quant`` with
zero point 0 and positive scale (``y / s <= 0`` is clipped to 0, as ``Relu``'s 0 is) and for a
``MultiThreshold`` whose thresholds are all positive (no threshold is reached by any ``y <= 0``). Other
``Relu``\\ s stay: in front of a quantizer they join its threshold chain (:mod:`.lower_activation` evaluates
them exactly), elsewhere they are float ops.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node

__all__ = ["absorb_relu", "relu_is_redundant"]


def relu_is_redundant(graph: Graph, q: Node) -> bool:
    """True if ``q(relu(y)) == q(y)`` for every float32 ``y``."""
    c = [graph.consts.get(t) for t in q.inputs[1:]]
    if any(v is None for v in c):
        return False
    if q.op == "Quant":
        scale, zp, _ = c[:3]
        return not q.attrs.get("signed", 1) and np.all(np.asarray(zp) == 0) and np.all(np.asarray(scale) > 0)
    if q.op == "MultiThreshold":
        return bool(np.all(np.asarray(c[0]) > 0))
    return False


def absorb_relu(graph: Graph) -> bool:
    for relu in graph.nodes:
        if relu.op != "Relu":
            continue
        q = graph.single_consumer(relu.outputs[0])
        if q is None or q.inputs[0] != relu.outputs[0] or not relu_is_redundant(graph, q):
            continue
        q.inputs = [relu.inputs[0], *q.inputs[1:]]
        graph.nodes.remove(relu)
        graph.prune()
        return True
    return False
