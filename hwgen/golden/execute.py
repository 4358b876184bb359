"""Execute a graph (float ops, hardware ops, or any mix) on a batch of inputs."""

from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from ..ir.graph import Graph
from .fast import HW_EXEC, mvtu_after_window
from .float_ops import FLOAT_OPS

__all__ = ["execute", "execute_all", "integer_output_tensor", "run_node"]


def run_node(node, ins: list) -> np.ndarray:
    """Run one node on its input arrays.

    A float op is the model's own float32 arithmetic: overflow to infinity, division by zero and NaN are
    what the executor computes too, so NumPy's floating-point errors (raised inside the ``hwgen`` command)
    are off for it.
    """
    fn = HW_EXEC.get(node.op)
    if fn is not None:
        return fn(ins, node.attrs)
    fn = FLOAT_OPS.get(node.op)
    if fn is None:
        raise HwgenError(f"node {node.name or node.op!r}: no golden semantics for op {node.op}")
    with np.errstate(all="ignore"):
        return fn(ins, node.attrs)


def execute_all(graph: Graph, x, keep: bool = True, protect=()) -> dict[str, np.ndarray]:
    """All tensors of ``graph`` for input ``x`` (float32 with a leading batch axis).

    With ``keep=False`` intermediate tensors are dropped once read, except those named in ``protect``.
    """
    env: dict[str, np.ndarray] = dict(graph.consts)
    env[graph.inputs[0]] = np.asarray(x, dtype=np.float32)
    last_use = {}
    if not keep:
        for i, n in enumerate(graph.nodes):
            for t in n.inputs:
                last_use[t] = i
    skip = None
    for i, n in enumerate(graph.nodes):
        if n is skip:
            continue
        nxt = graph.nodes[i + 1] if i + 1 < len(graph.nodes) else None
        if (
            not keep
            and n.op == "SlidingWindow"
            and nxt is not None
            and nxt.op == "MVTU"
            and nxt.inputs[0] == n.outputs[0]
            and len(graph.consumers(n.outputs[0])) == 1
            and n.outputs[0] not in protect
            and n.outputs[0] not in graph.outputs
        ):
            env[nxt.outputs[0]] = mvtu_after_window(env[n.inputs[0]], n.attrs, nxt.attrs)
            skip = nxt
            continue
        env[n.outputs[0]] = run_node(n, [env[t] if t else None for t in n.inputs])
        if not keep:
            for t in n.inputs:
                if (
                    last_use.get(t) == i
                    and t not in graph.consts
                    and t not in graph.outputs
                    and t not in protect
                ):
                    env.pop(t, None)
    return env


def integer_output_tensor(graph: Graph) -> str | None:
    """Name of the tensor the accelerator outputs: the integer input of the ``FromCodes`` before the tail."""
    hw = graph.hw_nodes()
    return hw[-1].outputs[0] if hw else None


def execute(graph: Graph, x) -> tuple[np.ndarray, np.ndarray | None]:
    """Run ``graph`` on ``x``; returns ``(float_out, int_out)``.

    ``float_out`` is the graph output (float32, as the ONNX model computes it); ``int_out`` the last hardware
    layer's integer output (int64, e.g. the last matrix layer's dot products), or None before streamlining.
    """
    t = integer_output_tensor(graph)
    env = execute_all(graph, x, keep=False, protect=(t,))
    out = env[graph.outputs[0]]
    return out, (np.asarray(env[t], dtype=np.int64) if t else None)
