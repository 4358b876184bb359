"""What every layer kind declares, once: its frozen parameter object (a *spec*).

A spec is built from a hardware-IR node (:meth:`LayerSpec.from_node`) or from plain parameters, and owns
everything the rest of the flow needs to know about one layer without building hardware:

- its stream formats: input and output datatypes, lanes per beat, elements per frame;
- its lane options (``options``, what a folding file may set) and what each must divide (:meth:`lane_limits`);
  :meth:`with_lanes` returns the same layer folded differently;
- its cycle model: ``cycles`` per frame in steady state, ``latency`` (first input beat to first output
  beat, fed one beat per cycle) and :meth:`output_times`, the beat-level timing of one frame through an
  empty layer that :func:`hwgen.dataflow.stitch.dag_times` chains over the stages;
- its resource model per FPGA family (:meth:`resources`, priced by :mod:`hwgen.layers.resource_model`);
- the construction of its Amaranth ``wiring.Component`` (:meth:`component`).

The kind name (``kind``) is the hardware-IR op, the manifest's ``kind`` and the resource model's key: one
spelling. :mod:`hwgen.layers.registry` maps each hardware op to its spec class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from hwgen.errors import HwgenError

__all__ = ["BufferSpec", "ImageSpec", "LayerSpec", "LaneBufferSpec", "steady_times"]


def steady_times(arrivals: list[int], delay: int) -> list[int]:
    """Output cycles of a one-beat-per-cycle pipeline of ``delay`` stages for inputs valid at ``arrivals``."""
    out, t = [], -1
    for x in arrivals:
        t = max(t + 1, x + delay)
        out.append(t)
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class LayerSpec:
    """Base of the layer specs; subclasses are frozen dataclasses with their own fields."""

    #: Hardware-IR op / manifest kind / resource-model key.
    kind: ClassVar[str] = ""
    #: Lane options a folding may set, in order (``pe``, ``simd``).
    options: ClassVar[tuple[str, ...]] = ()
    #: Whether the default folding's lane budget (PE·SIMD) applies to this kind.
    budgeted: ClassVar[bool] = False
    #: Extra register stages the kind can add to shorten its longest path (``pipeline`` field if > 0).
    pipeline_options: ClassVar[tuple[int, ...]] = (0,)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_node(cls, node, **lanes) -> LayerSpec:  # pragma: no cover - every kind overrides it
        """The spec of hardware node ``node`` (typed attributes, :mod:`hwgen.ir.hw`) with ``lanes``."""
        raise NotImplementedError

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        """For each lane option: the number it must divide and that number's name."""
        return {}

    def lanes(self) -> dict[str, int]:
        """The lane options and their values (the folding file form of this layer)."""
        return {opt: getattr(self, opt) for opt in self.options}

    def with_lanes(self, **lanes) -> LayerSpec:
        """This layer with other lane counts; HwgenError naming the layer if one does not divide."""
        limits = self.lane_limits()
        for key, value in lanes.items():
            if key not in self.options:
                raise HwgenError(f"layer {self.name!r} ({self.kind}): unknown option {key!r}")
            total, total_name = limits[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1 or total % value:
                raise HwgenError(
                    f"layer {self.name!r} ({self.kind}): {key}={value!r} must divide {total_name}={total}"
                )
        return dataclasses.replace(self, **lanes)

    def with_pipeline(self, stages: int) -> LayerSpec:
        """This layer with ``stages`` extra register stages, or with its deepest setting if it offers fewer
        (a kind without options keeps its fixed pipeline)."""
        best = max(p for p in self.pipeline_options if p <= stages)
        return dataclasses.replace(self, pipeline=best) if best else self

    # -- streams (every kind also has ``idt`` and ``odt``: the DataTypes it reads and writes) -------
    name: str = ""

    @property
    def in_lanes(self) -> int:
        return 1

    @property
    def out_lanes(self) -> int:
        return 1

    @property
    def in_elems(self) -> int:
        """Elements of one frame on the input stream."""
        raise NotImplementedError  # pragma: no cover

    @property
    def out_elems(self) -> int:
        """Elements of one frame on the output stream."""
        raise NotImplementedError  # pragma: no cover

    @property
    def in_beats(self) -> int:
        return self.in_elems // self.in_lanes

    @property
    def out_beats(self) -> int:
        return self.out_elems // self.out_lanes

    # -- cycle and resource model ---------------------------------------------------------------
    @property
    def cycles(self) -> int:
        """Cycles per frame in steady state (the layer's initiation interval for one frame)."""
        raise NotImplementedError  # pragma: no cover

    @property
    def latency(self) -> int:
        """Cycles from the first input beat to the first output beat, fed one beat per cycle."""
        return self.output_times(list(range(self.in_beats)))[0]

    @property
    def drain(self) -> int:
        """A bound on the cycles the layer needs to empty once its input has ended, its output never
        stalled: its latency, one frame of its steady-state cycles, one frame of output beats and two
        cycles of handshake (what the formal checks of :mod:`hwgen.flow.formal` unroll)."""
        return self.latency + self.cycles + self.out_beats + 2

    def output_times(self, arrivals: list[int]) -> list[int]:
        """Valid cycles of the output beats of one frame whose input beats are valid at ``arrivals``
        (the layer empty before, its output never stalled)."""
        raise NotImplementedError  # pragma: no cover

    def resources(self, family: str = "xc7") -> dict:
        """Estimated ``{"luts", "ffs", "bram_bits"}`` on ``family`` ("xc7" or "ecp5")."""
        raise NotImplementedError  # pragma: no cover

    @property
    def storage(self) -> str | None:
        """Where weights/thresholds live (``"rom"``/``"hardwired"``), None for kinds without tables."""
        return None

    def component(self):
        """A new Amaranth ``wiring.Component`` implementing this layer."""
        raise NotImplementedError  # pragma: no cover

    # -- description ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int] | None:
        """(MH, MW) of a matrix layer, else None."""
        return None

    def describe(self, family: str = "xc7") -> dict:
        """JSON-serialisable facts for a manifest: name, kind, shapes, lanes, storage, cycles, resources."""
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape) if self.shape else None,
            "in_elems": self.in_elems,
            "out_elems": self.out_elems,
            "pe": getattr(self, "pe", None) if "pe" in self.options else None,
            "simd": getattr(self, "simd", None) if "simd" in self.options else None,
            "weight_storage": self.storage,
            "pipeline": getattr(self, "pipeline", 0),
            "cycles": self.cycles,
            "latency": self.latency,
            "resources": self.resources(family),
        }


class ImageSpec:
    """Mixin for kinds that move elements of one ``dtype`` through an image of ``height`` x ``width`` x
    ``channels`` (NHWC), ``simd`` channels per beat on both sides (sliding window, max-pool)."""

    def lane_limits(self) -> dict[str, tuple[int, str]]:
        return {"simd": (self.channels, "channels")}

    @property
    def idt(self):
        return self.dtype

    @property
    def odt(self):
        return self.dtype

    @property
    def cf(self) -> int:
        """Channel folds C/SIMD."""
        return self.channels // self.simd

    @property
    def in_lanes(self) -> int:
        return self.simd

    @property
    def out_lanes(self) -> int:
        return self.simd

    @property
    def in_elems(self) -> int:
        return self.height * self.width * self.channels


class BufferSpec:
    """Mixin for the stream buffers the stitcher puts between layers (FIFO, width converter): elements of
    one ``dtype``, ``frame_elems`` per frame, no lane options; described in a manifest's ``buffers``."""

    @property
    def idt(self):
        return self.dtype

    @property
    def odt(self):
        return self.dtype

    @property
    def in_elems(self) -> int:
        return self.frame_elems

    @property
    def out_elems(self) -> int:
        return self.frame_elems

    def describe(self, family: str = "xc7") -> dict:
        d = {
            "name": self.name,
            "kind": self.kind,
            "in_lanes": self.in_lanes,
            "out_lanes": self.out_lanes,
            "cycles": self.cycles,
            "resources": self.resources(family),
        }
        return d | self.buffer_facts()

    def buffer_facts(self) -> dict:
        """Kind-specific facts for the manifest (a FIFO's depth and RAM style)."""
        return {}


class LaneBufferSpec(BufferSpec):
    """A buffer with ``lanes`` elements of ``dtype`` per beat on every port (FIFO, fork)."""

    @property
    def width(self) -> int:
        return self.lanes * self.dtype.bits

    @property
    def in_lanes(self) -> int:
        return self.lanes

    @property
    def out_lanes(self) -> int:
        return self.lanes
