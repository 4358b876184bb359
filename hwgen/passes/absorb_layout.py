"""Move Reshape / Flatten / Transpose that follow a ``FromCodes`` into it (layout changes on integer streams
cost nothing: they only say how the float tensor is read)."""

from __future__ import annotations

from ..ir.graph import Graph

__all__ = ["absorb_layout"]


def absorb_layout(graph: Graph) -> bool:
    """``FromCodes -> Transpose/Reshape/Flatten/Identity`` becomes one ``FromCodes``."""
    for node in graph.nodes:
        if node.op not in ("Reshape", "Flatten", "Transpose", "Identity"):
            continue
        f = graph.producer(node.inputs[0])
        if f is None or f.op != "FromCodes" or graph.single_consumer(f.outputs[0]) is not node:
            continue
        a = f.attrs
        if node.op == "Transpose":
            if a.get("shape"):
                continue
            p1 = a.get("perm") or list(range(len(node.attrs["perm"])))
            perm = [p1[i] for i in node.attrs["perm"]]
            a["perm"] = None if perm == sorted(perm) else perm
        elif node.op in ("Reshape", "Flatten"):
            a["shape"] = list(graph.shapes[node.outputs[0]])
        graph.nodes.remove(node)
        f.outputs = [node.outputs[0]]
        graph.prune()
        return True
    return False
