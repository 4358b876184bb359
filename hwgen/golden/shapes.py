"""Shape inference by execution: run the graph once on a zero input of batch size 1."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.graph import Graph
from .execute import run_node

__all__ = ["infer_shapes"]


def infer_shapes(graph: Graph) -> None:
    """Fill ``graph.shapes`` for every tensor (batch size 1); a node that cannot run raises HwgenError."""
    shape = graph.meta.get("input_shape") or graph.shapes.get(graph.inputs[0])
    env = dict(graph.consts)
    env[graph.inputs[0]] = np.zeros(shape, dtype=np.float32)
    graph.shapes = {graph.inputs[0]: tuple(shape)}
    for n in graph.nodes:
        try:
            out = run_node(n, [env[t] if t else None for t in n.inputs])
        except HwgenError:
            raise
        except Exception as e:  # noqa: BLE001 - report which node failed and why
            raise HwgenError(
                f"node {n.name!r} ({n.op}) cannot be evaluated: {type(e).__name__}: {e}"
            ) from None
        env[n.outputs[0]] = out
        graph.shapes[n.outputs[0]] = tuple(np.shape(out))
