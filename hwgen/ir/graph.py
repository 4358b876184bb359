"""The dataflow graph: nodes in topological order, named tensors, constants.

One graph type serves both levels of the flow. Right after the frontend it holds ONNX-like float ops
(``MatMul``, ``BatchNormalization``, ``Quant`` ...; NCHW, float32 semantics). The passes replace them,
piece by piece, with hardware ops that work on integer *values* in NHWC order (:mod:`hwgen.ir.hw`),
bridged by ``ToCodes`` (float -> integer values, done by the host) and ``FromCodes`` (integer values ->
float, exact). :mod:`hwgen.golden` executes any mix of the two, so every pass
can be checked by "execute before == execute after".

Pure Python + NumPy: no onnx, no amaranth here.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field

import numpy as np

from .hw import HW_OPS

__all__ = ["Graph", "HW_OPS", "Node"]


@dataclass
class Node:
    """One operation: ``op`` reads the tensors named in ``inputs`` and writes those in ``outputs``."""

    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    name: str = ""

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(self.inputs)}) -> {', '.join(self.outputs)} [{self.name}]"


@dataclass
class Graph:
    """A graph with one float input and one output.

    Attributes
    ----------
    nodes : list of Node, topologically ordered.
    consts : dict name -> ndarray, constant tensors (weights, parameters). Never modified in place.
    inputs, outputs : names of the graph's input and output tensors.
    shapes : dict name -> tuple, shapes with batch size 1 (filled by shape inference).
    dtypes : dict name -> DataType of the integer tensors between ``ToCodes`` and ``FromCodes``.
    quant : dict name -> dict, what is known about constant tensors that come out of a quantizer
        (``dtype``, ``scale``, ``zero_point``), kept when the frontend folds weight quantizers.
    meta : free-form information (source file, form, input scale ...).
    """

    nodes: list[Node] = field(default_factory=list)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    shapes: dict[str, tuple] = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)
    quant: dict[str, dict] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    # -- queries --------------------------------------------------------------------------------
    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def is_const(self, tensor: str) -> bool:
        return tensor in self.consts

    def const(self, tensor: str) -> np.ndarray:
        return self.consts[tensor]

    def single_consumer(self, tensor: str) -> Node | None:
        """The only consumer of ``tensor``, or None if there are several (or it is a graph output)."""
        users = self.consumers(tensor)
        if len(users) != 1 or tensor in self.outputs:
            return None
        return users[0]

    def hw_nodes(self) -> list[Node]:
        """The hardware nodes, in stream order."""
        return [n for n in self.nodes if n.op in HW_OPS]

    # -- edits ----------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A tensor name not used yet."""
        used = set(self.consts) | set(self.inputs) | {t for n in self.nodes for t in (*n.inputs, *n.outputs)}
        for i in itertools.count():
            name = f"{base}_{i}"
            if name not in used:
                return name
        raise AssertionError("unreachable")

    def add_const(self, base: str, value) -> str:
        name = self.fresh(base)
        self.consts[name] = np.asarray(value)
        return name

    def replace(self, old: list[Node], new: list[Node]) -> None:
        """Replace the nodes ``old`` by ``new`` (placed where the first of ``old`` was), then re-sort."""
        pos = min(self.nodes.index(n) for n in old)
        keep = [n for n in self.nodes if not any(n is o for o in old)]
        pos = min(pos, len(keep))
        self.nodes = keep[:pos] + list(new) + keep[pos:]
        self.sort()
        self.prune()

    def rename_tensor(self, old: str, new: str) -> None:
        """Make every reader of ``old`` read ``new`` instead (graph outputs included)."""
        for n in self.nodes:
            n.inputs = [new if t == old else t for t in n.inputs]
        self.outputs = [new if t == old else t for t in self.outputs]

    def sort(self) -> None:
        """Topological sort, stable with respect to the current order."""
        ready = set(self.inputs) | set(self.consts)
        todo, done = list(self.nodes), []
        while todo:
            for i, n in enumerate(todo):
                if all(t in ready or t == "" for t in n.inputs):
                    done.append(todo.pop(i))
                    ready.update(n.outputs)
                    break
            else:
                raise ValueError(f"graph has a cycle or a dangling input at {todo[0]!r}")
        self.nodes = done

    def prune(self) -> None:
        """Drop nodes whose outputs nobody reads, and unused constants."""
        changed = True
        while changed:
            used = set(self.outputs) | {t for n in self.nodes for t in n.inputs}
            alive = [n for n in self.nodes if any(t in used for t in n.outputs)]
            changed = len(alive) != len(self.nodes)
            self.nodes = alive
        used = {t for n in self.nodes for t in n.inputs} | set(self.outputs)
        self.consts = {k: v for k, v in self.consts.items() if k in used}
        self.quant = {k: v for k, v in self.quant.items() if k in self.consts}

    def copy(self) -> Graph:
        """A copy that can be edited without touching this graph (constant arrays are shared, read-only)."""
        g = copy.copy(self)
        g.nodes = [Node(n.op, list(n.inputs), list(n.outputs), dict(n.attrs), n.name) for n in self.nodes]
        g.consts, g.shapes = dict(self.consts), dict(self.shapes)
        g.quant, g.meta, g.dtypes = dict(self.quant), dict(self.meta), dict(self.dtypes)
        g.inputs, g.outputs = list(self.inputs), list(self.outputs)
        return g

    def summary(self) -> str:
        """One line per node."""
        lines = []
        for n in self.nodes:
            shp = [self.shapes.get(t) for t in n.outputs]
            lines.append(f"{n.op:18s} {n.name:28s} {shp}")
        return "\n".join(lines)
