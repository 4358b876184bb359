"""The whole accelerator: the hardware layers of a streamlined graph, stitched into one stream component.

One layer per hardware node (its spec from :mod:`hwgen.layers.registry`), folded as a
:class:`~hwgen.dataflow.folding.Folding` says, in topological order; the layers form a chain or, with
residual adds and concatenations, a DAG (:mod:`hwgen.dataflow.stitch`: forks, and FIFOs in front of the
joins sized so that the early branch never stalls the fork). Between two layers:

- a :class:`~hwgen.layers.WidthConverter` when the producer's output lanes differ from the consumer's input
  lanes (elements keep their order);
- a :class:`~hwgen.layers.FIFO` in front of every matrix layer with more than one output fold that is not
  the first layer: such an MVTU takes its input vector in a burst during output fold 0 and none during the
  others, so the FIFO holds one whole input vector (``MW/SIMD`` beats) plus :data:`FIFO_SLACK` for the
  handshake latency, and the producer never waits for it. The first layer reads the input stream directly.

With a pipelined folding (``Folding.io_registers``) a two-beat register slice sits on the input and on the
output stream, so no path runs from a port through a layer's logic.

Streams (DESIGN §2): ``i`` carries the first layer's input codes, NHWC with channels fastest, in beats of
that layer's input lanes, element 0 in the least significant bits; ``o`` carries the last layer's integer
outputs (raw signed accumulators of the last matrix layer, or label indices with top-k) in beats of its
output lanes. :mod:`hwgen.dataflow.io` packs and unpacks them.

Cycle model: ``ii_cycles`` = max over all stages of their cycles per frame (= the folding's II, since a
FIFO or converter is never slower than its neighbours); ``latency_cycles`` =
:func:`hwgen.dataflow.stitch.dag_times` (first input beat to first output beat of an empty
accelerator fed at full speed). Everything here is read from the stages' specs; the components are built
only when the accelerator is elaborated.
"""

from __future__ import annotations

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.errors import HwgenError
from hwgen.layers.spec import BufferSpec, LayerSpec

from .folding import Folding, default_folding, folding_from_dict
from .stitch import FIFO_SLACK, PORT, Edge, dag_times, stitch

__all__ = ["Accelerator", "FIFO_SLACK"]


class Accelerator(wiring.Component):
    """All hardware layers of ``graph`` (a streamlined graph) as one stream component.

    Parameters
    ----------
    graph : hwgen.ir.graph.Graph
        Output of :func:`hwgen.passes.streamline`.
    folding : Folding, dict or None
        A :class:`~hwgen.dataflow.folding.Folding`, a folding dict (validated by
        :func:`~hwgen.dataflow.folding.folding_from_dict`) or None for
        :func:`~hwgen.dataflow.folding.default_folding`.

    Members
    -------
    i : In(stream.Signature(unsigned(in_lanes * in_dtype.bits)))
    o : Out(stream.Signature(unsigned(out_lanes * out_dtype.bits)))
    """

    def __init__(self, graph, folding=None):
        nodes = graph.hw_nodes()
        if not nodes:
            raise HwgenError("the graph has no hardware layers (was it streamlined?)")
        if folding is None:
            folding = default_folding(graph)
        elif isinstance(folding, dict):
            folding = folding_from_dict(graph, folding)
        elif not isinstance(folding, Folding):
            raise TypeError(f"'folding' must be a Folding, a dict or None, not {folding!r}")
        names = {lf.name for lf in folding.layers}
        missing = [n.name for n in nodes if n.name not in names]
        if missing:
            raise HwgenError(f"folding has no layer {missing[0]!r} of this graph")
        self._folding = folding
        self._latency = None
        self._layers = [folding[n.name].spec for n in nodes]
        views = {n.outputs[0]: n.inputs[0] for n in graph.nodes if n.op == "Flatten"}
        self._stages, self._edges = stitch(nodes, self._layers, folding.io_registers, views)
        first, last = self._stages[0], self._stages[-1]
        self.in_dtype, self.out_dtype = first.idt, last.odt
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(first.in_lanes * first.idt.bits))),
                "o": Out(stream.Signature(unsigned(last.out_lanes * last.odt.bits))),
            }
        )

    # -- description ------------------------------------------------------------------------
    @property
    def folding(self) -> Folding:
        return self._folding

    @property
    def stages(self) -> list[LayerSpec]:
        """Every stage's spec in stream order: the layers and the FIFOs and width converters between them."""
        return list(self._stages)

    @property
    def edges(self) -> list[Edge]:
        """The streams between the stages (stage ``-1``: the accelerator's own ports)."""
        return list(self._edges)

    @property
    def in_lanes(self) -> int:
        return self._stages[0].in_lanes

    @property
    def out_lanes(self) -> int:
        return self._stages[-1].out_lanes

    @property
    def beats_per_frame_in(self) -> int:
        return self._stages[0].in_beats

    @property
    def beats_per_frame_out(self) -> int:
        return self._stages[-1].out_beats

    @property
    def ii_cycles(self) -> int:
        """Cycles per frame in steady state: the slowest stage."""
        return max(st.cycles for st in self._stages)

    @property
    def latency_cycles(self) -> int:
        """Cycles from the first input beat to the first output beat of an empty accelerator at full speed."""
        if self._latency is None:
            out, _ = dag_times(self._stages, self._edges)
            last = next(e for e in self._edges if e.dst == PORT)
            self._latency = out[(last.src, last.src_port)][0]
        return self._latency

    @property
    def layers(self) -> list[dict]:
        """One dict per hardware layer (for a manifest): name, kind, shapes, lanes, storage, cycles."""
        return [spec.describe() | self._place(spec) for spec in self._layers]

    @property
    def buffers(self) -> list[dict]:
        """The FIFOs and width converters between the layers: name, kind, lanes, depth, resources."""
        return [st.describe() | self._place(st) for st in self._stages if isinstance(st, BufferSpec)]

    def _place(self, stage) -> dict:
        """The stage's instance name and the instances (or ``"input"``) its input streams come from."""
        k = next(k for k, st in enumerate(self._stages) if st is stage)
        feeds = sorted((e.dst_port, e.src) for e in self._edges if e.dst == k)
        srcs = ["input" if src == PORT else self.instance(self._stages[src]) for _, src in feeds]
        return {"instance": self.instance(stage), "inputs": srcs}

    def instance(self, stage) -> str:
        """The stage's submodule name in the Verilog (``s<k>_<kind>``, ``k`` its place in the chain)."""
        k = next(k for k, st in enumerate(self._stages) if st is stage)
        return f"s{k}_{stage.kind.lower()}"

    @staticmethod
    def _stream(dt, lanes: int, beats: int) -> dict:
        return {"dtype": dt.name, "lanes": lanes, "beats_per_frame": beats, "payload_bits": lanes * dt.bits}

    def describe(self) -> dict:
        """Streams and cycle model, JSON-serialisable (the accelerator part of a manifest)."""
        return {
            "ii_cycles": self.ii_cycles,
            "latency_cycles": self.latency_cycles,
            "input": self._stream(self.in_dtype, self.in_lanes, self.beats_per_frame_in),
            "output": self._stream(self.out_dtype, self.out_lanes, self.beats_per_frame_out),
            "layers": self.layers,
            "buffers": self.buffers,
        }

    # -- hardware ---------------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        comps = [st.component() for st in self._stages]
        for st, comp in zip(self._stages, comps, strict=True):
            m.submodules[self.instance(st)] = comp
        for e in self._edges:
            src = wiring.flipped(self.i) if e.src == PORT else getattr(comps[e.src], e.src_port)
            dst = wiring.flipped(self.o) if e.dst == PORT else getattr(comps[e.dst], e.dst_port)
            wiring.connect(m, src, dst)
        return m
