"""Stitching: the stages of an accelerator and the streams between them, for a chain or a DAG of layers.

One stage per hardware layer (its folded spec), in the graph's topological order, plus the buffers the
streams between them need (the module docstring of :mod:`hwgen.dataflow.accelerator` says which). A tensor
read by several layers comes out of a :class:`~hwgen.layers.ForkSpec` stage with a FIFO behind each output;
a layer with several inputs (a :class:`~hwgen.layers.join.JoinSpec`: residual add, concatenation) gets a
FIFO in front of each input. Both are sized from the beat-level timing of the first frame
(:func:`join_fifo_depth`) so that the fork never waits: not for the branch that arrives early at the join
(which would stall, or with a window generator on the other branch deadlock, the accelerator), and not
for a narrowing width converter on one branch (which would hold up the other branch, and with it the
slowest layer upstream: measured II and latency would exceed the model).

Stage ``-1`` stands for the accelerator's own input (port ``i``) and output (port ``o``).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass

from hwgen.errors import HwgenError
from hwgen.layers import FIFOSpec, ForkSpec, MVTUSpec, WidthConverterSpec
from hwgen.layers.join import JoinSpec
from hwgen.layers.spec import LayerSpec

__all__ = ["FIFO_SLACK", "Edge", "dag_times", "in_ports", "join_fifo_depth", "out_ports", "stitch"]

#: Beats a FIFO in front of an MVTU holds beyond one input vector.
FIFO_SLACK = 4
#: Margin of a join FIFO over the first frame's peak: a quarter more, plus this many beats.
JOIN_SLACK = 4
PORT = -1


@dataclass(frozen=True)
class Edge:
    """A stream from port ``src_port`` of stage ``src`` to port ``dst_port`` of stage ``dst``."""

    src: int
    src_port: str
    dst: int
    dst_port: str


def in_ports(spec: LayerSpec) -> list[str]:
    return [f"i{k}" for k in range(spec.in_ports)] if isinstance(spec, JoinSpec) else ["i"]


def out_ports(spec: LayerSpec) -> list[str]:
    return [f"o{k}" for k in range(spec.outputs)] if isinstance(spec, ForkSpec) else ["o"]


def _port_facts(spec: LayerSpec, port: int):
    """(datatype, lanes, elements per frame) that input ``port`` of ``spec`` reads."""
    if isinstance(spec, JoinSpec):
        return spec.port_idt(port), spec.in_lanes, spec.port_elems(port)
    return spec.idt, spec.in_lanes, spec.in_elems


def _buffers(prev: LayerSpec, nxt: LayerSpec, port: int, after_fork: bool) -> list[LayerSpec]:
    """Width converter and FIFO on the stream from ``prev`` into input ``port`` of ``nxt``."""
    dt, lanes, elems = _port_facts(nxt, port)
    where = f"{nxt.name}/in{port}" if isinstance(nxt, JoinSpec) else nxt.name
    if prev.odt != dt:
        raise HwgenError(f"layer {nxt.name!r} reads {dt} but the layer before it gives {prev.odt}")
    if prev.out_elems != elems:
        raise HwgenError(
            f"layer {nxt.name!r} reads {elems} elements per frame, the layer before gives {prev.out_elems}"
        )
    out: list[LayerSpec] = []
    if prev.out_lanes != lanes:
        out.append(
            WidthConverterSpec.create(dt, prev.out_lanes, lanes, frame_elems=elems, name=f"{where}/width")
        )
    if isinstance(nxt, JoinSpec):  # depth set by join_fifo_depth once the timing is known
        out.append(FIFOSpec(dtype=dt, lanes=lanes, depth=2, frame_elems=elems, name=f"{where}/fifo"))
    elif isinstance(nxt, MVTUSpec) and nxt.nf > 1:
        out.append(
            FIFOSpec(
                dtype=dt, lanes=nxt.simd, depth=nxt.sf + FIFO_SLACK, frame_elems=elems, name=f"{where}/fifo"
            )
        )
    if after_fork:  # a FIFO right behind the fork: its ready is a register, and it absorbs the bursts a
        # narrowing width converter takes slower than they come (sized by _size_fork_fifos)
        out.insert(
            0, FIFOSpec(dtype=dt, lanes=prev.out_lanes, depth=2, frame_elems=elems, name=f"{where}/fork_fifo")
        )
    return out


def _slice(spec: LayerSpec, side: str) -> FIFOSpec:
    """A two-beat register slice on the accelerator's input (``side`` "in") or output stream."""
    if side == "in":
        dt, lanes, elems = spec.idt, spec.in_lanes, spec.in_elems
    else:
        dt, lanes, elems = spec.odt, spec.out_lanes, spec.out_elems
    return FIFOSpec(dtype=dt, lanes=lanes, depth=2, frame_elems=elems, name=f"{side}put/slice")


def _inputs(node, alias: dict) -> list[str]:
    out = []
    for t in node.inputs:
        while t in alias:
            t = alias[t]
        out.append(t)
    return out


def stitch(
    nodes, specs: list[LayerSpec], io_registers: bool, alias=None
) -> tuple[list[LayerSpec], list[Edge]]:
    """Stages and edges for hardware nodes ``nodes`` (topological order) folded as ``specs``; ``alias`` maps
    a tensor to the one it is a view of (a ``Flatten`` between layers: the same stream)."""
    alias = alias or {}
    nodes = [type(n)(n.op, _inputs(n, alias), n.outputs, n.attrs, n.name) for n in nodes]
    produced = {t for n in nodes for t in n.outputs}
    sources = {t for n in nodes for t in n.inputs if t not in produced}
    if len(sources) != 1:
        raise HwgenError(f"the accelerator must read one input stream, not {sorted(sources)}")
    read = {t for n in nodes for t in n.inputs}
    sinks = [t for n in nodes for t in n.outputs if t not in read]
    if len(sinks) != 1:
        raise HwgenError(f"the accelerator must write one output stream, not {sinks}")
    readers: dict[str, int] = {}
    for n in nodes:
        for t in n.inputs:
            readers[t] = readers.get(t, 0) + 1
    stages: list[LayerSpec] = []
    edges: list[Edge] = []
    ends: dict[str, list[tuple[int, str]]] = {}  # tensor -> free output ports carrying it
    forked: set[tuple[int, str]] = set()

    def add(spec: LayerSpec, src: tuple[int, str], port: str) -> int:
        stages.append(spec)
        edges.append(Edge(src[0], src[1], len(stages) - 1, port))
        return len(stages) - 1

    def produce(t: str, src: tuple[int, str], spec: LayerSpec) -> None:
        n = readers.get(t, 1)
        if n == 1:
            ends[t] = [src]
            return
        fork = ForkSpec(dtype=spec.odt, lanes=spec.out_lanes, outputs=n, frame_elems=spec.out_elems,
                        name=f"{spec.name}/fork")  # fmt: skip
        k = add(fork, src, "i")
        ends[t] = [(k, p) for p in out_ports(fork)]
        forked.update(ends[t])

    head = (PORT, "i")
    in_spec = _slice(specs[0], "in")
    if io_registers:
        head = (add(in_spec, head, "i"), "o")
    produce(next(iter(sources)), head, in_spec)
    for node, spec in zip(nodes, specs, strict=True):
        feeds = []
        for port, t in enumerate(node.inputs):
            src = ends[t].pop(0)
            prev = stages[src[0]] if src[0] != PORT else in_spec
            if t in sources and src not in forked:  # the first layer reads the input stream directly
                feeds.append((src, in_ports(spec)[port]))
                continue
            for buf in _buffers(prev, spec, port, src in forked):
                src = (add(buf, src, "i"), "o")
            feeds.append((src, in_ports(spec)[port]))
        stages.append(spec)
        k = len(stages) - 1
        edges.extend(Edge(s[0], s[1], k, p) for s, p in feeds)
        produce(node.outputs[0], (k, "o"), spec)
    src = ends[sinks[0]][0]
    if io_registers:
        src = (add(_slice(specs[-1], "out"), src, "i"), "o")
    edges.append(Edge(src[0], src[1], PORT, "o"))
    _size_fifos(stages, edges)
    return stages, edges


def dag_times(stages: list[LayerSpec], edges: list[Edge]):
    """Beat-level timing of the first frame through an empty accelerator: ``(out, taken)`` with
    ``out[(stage, port)]`` the valid cycles of the beats leaving that port and ``taken[stage]`` a join's
    per-input cycles at which it takes each beat; the accelerator's input offers beat ``j`` at cycle ``j``."""
    feeds = {(e.dst, e.dst_port): e for e in edges}
    out: dict[tuple[int, str], list[int]] = {}
    taken: dict[int, list[list[int]]] = {}
    for k, st in enumerate(stages):
        arrivals = []
        for p in in_ports(st):
            e = feeds[(k, p)]
            arrivals.append(list(range(st.in_beats)) if e.src == PORT else out[(e.src, e.src_port)])
        if isinstance(st, JoinSpec):
            times, taken[k] = st.join_times(arrivals)
        else:
            times = st.output_times(arrivals[0])
        for p in out_ports(st):
            out[(k, p)] = times
    return out, taken


def join_fifo_depth(arrived: list[int], taken: list[int]) -> int:
    """Depth of a FIFO whose input beats come at ``arrived`` and that a join takes at ``taken``: the most
    beats it holds at once in the first frame, a quarter more and :data:`JOIN_SLACK` beats."""
    peak = max(bisect.bisect_right(arrived, t) - i for i, t in enumerate(taken))
    return max(2, math.ceil(1.25 * peak) + JOIN_SLACK)


def _drain_times(arrived: list[int], step: int) -> list[int]:
    """When a consumer taking at most one beat every ``step`` cycles takes beats valid at ``arrived``."""
    out, t = [], -step
    for a in arrived:
        t = max(a, t + step)
        out.append(t)
    return out


def _size_fifos(stages: list[LayerSpec], edges: list[Edge]) -> None:
    """Depths of the FIFOs in front of the joins and behind the forks, from the first frame's timing."""
    feeds = {(e.dst, e.dst_port): e for e in edges}
    reads = {(e.src, e.src_port): e for e in edges}
    for _ in range(2):  # a deeper FIFO may move to memory and add two cycles of latency: settle once more
        out, taken = dag_times(stages, edges)

        def arrivals(f: int, out=out) -> list[int]:
            e = feeds[(f, "i")]
            return list(range(stages[f].in_beats)) if e.src == PORT else out[(e.src, e.src_port)]

        for k, st in enumerate(stages):
            if isinstance(st, JoinSpec):
                for j, p in enumerate(in_ports(st)):
                    f = feeds[(k, p)].src
                    depth = max(stages[f].depth, join_fifo_depth(arrivals(f), taken[k][j]))
                    stages[f] = dataclasses.replace(stages[f], depth=depth)
            if isinstance(st, ForkSpec):
                for p in out_ports(st):
                    f = reads[(k, p)].dst
                    nxt = reads[(f, "o")].dst
                    wc = stages[nxt] if nxt != PORT and isinstance(stages[nxt], WidthConverterSpec) else None
                    step = -(-wc.out_beats // wc.in_beats) if wc else 1  # a narrowing converter's pace
                    if step > 1:
                        got = arrivals(f)
                        depth = max(stages[f].depth, join_fifo_depth(got, _drain_times(got, step)))
                        stages[f] = dataclasses.replace(stages[f], depth=depth)
