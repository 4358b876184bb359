"""The whole accelerator: the hardware layers of a streamlined graph, stitched into one stream component.

One layer per hardware node (:mod:`hwgen.dataflow.stages`), folded as a
:class:`~hwgen.dataflow.folding.Folding` says, in stream order. Between two layers:

- a :class:`~hwgen.layers.WidthConverter` when the producer's output lanes differ from the consumer's input
  lanes (elements keep their order);
- a :class:`~hwgen.layers.FIFO` in front of every matrix layer with more than one output fold that is not
  the first layer: such an MVTU takes its input vector in a burst during output fold 0 and none during the
  others, so the FIFO holds one whole input vector (``MW/SIMD`` beats) plus :data:`FIFO_SLACK` for the
  handshake latency, and the producer never waits for it. The first layer reads the input stream directly.

Streams (DESIGN §2): ``i`` carries the first layer's input codes, NHWC with channels fastest, in beats of
that layer's input lanes, element 0 in the least significant bits; ``o`` carries the last layer's integer
outputs (raw signed accumulators of the last matrix layer, or label indices with top-k) in beats of its
output lanes. :mod:`hwgen.dataflow.io` packs and unpacks them.

Cycle model: ``ii_cycles`` = max over all stages of their cycles per frame (= the folding's II, since a
FIFO or converter is never slower than its neighbours); ``latency_cycles`` =
:func:`hwgen.dataflow.timing.first_output_cycle` (first input beat to first output beat of an empty
accelerator fed at full speed).
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring

from hwgen.errors import HwgenError
from hwgen.layers import FIFO, WidthConverter

from .folding import Folding, default_folding, folding_from_dict
from .stages import Stage, in_dtype, make_stage

__all__ = ["Accelerator", "FIFO_SLACK"]

#: Beats a FIFO in front of an MVTU holds beyond one input vector.
FIFO_SLACK = 4


def _stage_odt(st: Stage, idt):
    return getattr(st.component, "odt", idt)


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
        missing = [n.name for n in nodes if n.name not in {lf.name for lf in folding.layers}]
        if missing:
            raise HwgenError(f"folding has no layer {missing[0]!r} of this graph")
        self._folding = folding
        self._latency = None
        self._stages: list[Stage] = []
        self._layers: list[Stage] = []
        self.in_dtype = dt = in_dtype(nodes[0])
        for k, node in enumerate(nodes):
            lf = folding[node.name]
            st = make_stage(node, pe=lf.pe or 1, simd=lf.simd or 1, idt=dt)
            want = in_dtype(node) or dt
            if want != dt:
                raise HwgenError(f"layer {node.name!r} reads {want} but the previous layer gives {dt}")
            if k:
                self._link(self._stages[-1], st, dt)
            self._stages.append(st)
            self._layers.append(st)
            dt = _stage_odt(st, dt)
        self.out_dtype = dt
        first, last = self._stages[0].component, self._stages[-1].component
        super().__init__({"i": first.signature.members["i"], "o": last.signature.members["o"]})

    def _link(self, prev: Stage, nxt: Stage, dt) -> None:
        """Width converter and FIFO between two layers, as the module docstring says."""
        elems = prev.out_elems
        if prev.out_lanes != nxt.in_lanes:
            wc = WidthConverter(dt.bits, prev.out_lanes, nxt.in_lanes, frame_elems=elems)
            self._stages.append(
                Stage(
                    f"{nxt.name}/width",
                    "WidthConverter",
                    wc,
                    in_elems=elems,
                    out_elems=elems,
                    in_lanes=prev.out_lanes,
                    out_lanes=nxt.in_lanes,
                )
            )
        if nxt.kind == "Mvtu" and nxt.shape[0] // nxt.pe > 1:
            sf = nxt.shape[1] // nxt.simd
            fifo = FIFO(nxt.simd * dt.bits, sf + FIFO_SLACK, beats_per_frame=elems // nxt.simd)
            self._stages.append(
                Stage(
                    f"{nxt.name}/fifo",
                    "FIFO",
                    fifo,
                    in_elems=elems,
                    out_elems=elems,
                    in_lanes=nxt.in_lanes,
                    out_lanes=nxt.in_lanes,
                )
            )

    # -- description ------------------------------------------------------------------------
    @property
    def folding(self) -> Folding:
        return self._folding

    @property
    def stages(self) -> list[Stage]:
        """Every stage in stream order: the layers and the FIFOs and width converters between them."""
        return list(self._stages)

    @property
    def in_lanes(self) -> int:
        return self._stages[0].in_lanes

    @property
    def out_lanes(self) -> int:
        return self._stages[-1].out_lanes

    @property
    def beats_per_frame_in(self) -> int:
        return self._stages[0].in_elems // self.in_lanes

    @property
    def beats_per_frame_out(self) -> int:
        return self._stages[-1].out_elems // self.out_lanes

    @property
    def ii_cycles(self) -> int:
        """Cycles per frame in steady state: the slowest stage."""
        return max(st.cycles for st in self._stages)

    @property
    def latency_cycles(self) -> int:
        """Cycles from the first input beat to the first output beat of an empty accelerator at full speed."""
        from .timing import first_output_cycle

        if self._latency is None:
            self._latency = first_output_cycle(self._stages)
        return self._latency

    @property
    def layers(self) -> list[dict]:
        """One dict per hardware layer (for a manifest): name, kind, shapes, lanes, storage, cycles."""
        out = []
        for st in self._layers:
            comp = st.component
            out.append(
                {
                    "name": st.name,
                    "kind": st.kind,
                    "shape": list(st.shape) if st.shape else None,
                    "in_elems": st.in_elems,
                    "out_elems": st.out_elems,
                    "pe": st.pe,
                    "simd": st.simd,
                    "weight_storage": getattr(comp, "weight_storage", getattr(comp, "_storage", None)),
                    "cycles": st.cycles,
                    "resources": comp.resources(),
                }
            )
        return out

    @property
    def buffers(self) -> list[dict]:
        """The FIFOs and width converters between the layers: name, kind, element bits, lanes, depth."""
        out = []
        for st in self._stages:
            if st.kind not in ("FIFO", "WidthConverter"):
                continue
            comp = st.component
            d = {
                "name": st.name,
                "kind": st.kind,
                "in_lanes": st.in_lanes,
                "out_lanes": st.out_lanes,
                "cycles": st.cycles,
                "resources": comp.resources(),
            }
            if st.kind == "FIFO":
                d.update(depth=comp.depth, ram_style=comp.ram_style)
            out.append(d)
        return out

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
        comps = [st.component for st in self._stages]
        for k, comp in enumerate(comps):
            m.submodules[f"s{k}_{self._stages[k].kind.lower()}"] = comp
        wiring.connect(m, wiring.flipped(self.i), comps[0].i)
        for a, b in zip(comps, comps[1:], strict=False):
            wiring.connect(m, a.o, b.i)
        wiring.connect(m, comps[-1].o, wiring.flipped(self.o))
        return m
