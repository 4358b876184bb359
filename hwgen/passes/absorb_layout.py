"""Move Reshape / Flatten / Transpose that follow a ``FromCodes`` into it (layout changes on integer streams
cost nothing: they only say how the float tensor is read)."""

from __future__ import annotations

from ..ir.graph import Graph, Node

__all__ = ["absorb_layout"]

_SCALAR_OPS = ("Mul", "Div", "Add", "Sub")


def _hoist_over_scalar_op(graph: Graph, node: Node) -> bool:
    """``FromCodes -> op(number) -> layout`` becomes ``FromCodes -> layout -> op(number)``: an elementwise
    operation with one number commutes with any layout change (e.g. the raw-input grid ``Div``)."""
    s = graph.producer(node.inputs[0])
    if s is None or s.op not in _SCALAR_OPS or graph.single_consumer(s.outputs[0]) is not node:
        return False
    data = [i for i in s.inputs if i not in graph.consts]
    if len(data) != 1 or any(graph.consts[i].size != 1 for i in s.inputs if i in graph.consts):
        return False
    f = graph.producer(data[0])
    if f is None or f.op != "FromCodes" or graph.single_consumer(data[0]) is not s:
        return False
    moved = graph.fresh(node.outputs[0] + "_unscaled")
    graph.shapes[moved] = graph.shapes[node.outputs[0]]
    layout = Node(node.op, [data[0], *node.inputs[1:]], [moved], node.attrs, node.name)
    scalar = Node(s.op, [moved if i == data[0] else i for i in s.inputs], list(node.outputs), s.attrs, s.name)
    graph.replace([s, node], [layout, scalar])
    return True


def absorb_layout(graph: Graph) -> bool:
    """``FromCodes -> Transpose/Reshape/Flatten/Identity`` becomes one ``FromCodes``."""
    for node in graph.nodes:
        if node.op not in ("Reshape", "Flatten", "Transpose", "Identity"):
            continue
        if _hoist_over_scalar_op(graph, node):
            return True
        f = graph.producer(node.inputs[0])
        if f is None or f.op != "FromCodes" or graph.single_consumer(f.outputs[0]) is not node:
            continue
        a = f.attrs
        if node.op == "Transpose":
            if a.get("shape"):
                continue
            tp = node.attrs.get("perm") or list(range(len(graph.shapes[node.inputs[0]])))[::-1]
            p1 = a.get("perm") or list(range(len(tp)))
            perm = [p1[i] for i in tp]
            a["perm"] = None if perm == sorted(perm) else perm
        elif node.op in ("Reshape", "Flatten"):
            a["shape"] = list(graph.shapes[node.outputs[0]])
        graph.nodes.remove(node)
        f.outputs = [node.outputs[0]]
        graph.prune()
        return True
    return False
