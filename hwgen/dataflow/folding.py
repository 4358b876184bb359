"""Folding: the PE/SIMD lanes of every hardware layer, and the cycle model that follows from them.

Three ways to get one, all returning a :class:`Folding` (layers in stream order with their lanes,
cycles per frame and resource estimate; ``ii_cycles`` = max over the layers):

- :func:`folding_from_dict` / :func:`load_folding`: a user's ``{layer_name: {"pe": P, "simd": S}}``
  (JSON), validated with one-line :class:`~hwgen.errors.HwgenError` messages naming the layer and
  option. Option names are case-insensitive (``PE``/``SIMD`` as FINN writes them). Layers left out
  are chosen as :func:`auto_folding` would for the II of the layers that were given.
- :func:`auto_folding`: for a target II in cycles (or frames per second at a clock), per layer the
  cheapest lanes whose cycles per frame are <= the target (cost: estimated LUTs plus
  ``BRAM18_LUTS`` per 18 Kbit block RAM, ties to fewer lanes).
- :func:`default_folding`: the target is the slowest layer when no matrix layer may use more than
  ``max_lanes`` PE·SIMD lanes; every other layer is then folded down to that target, so the layers are
  balanced (each as slow as it may be without slowing the accelerator).

Which options a layer kind has: :data:`hwgen.dataflow.stages.OPTIONS`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from hwgen.errors import HwgenError

from .stages import OPTIONS, lane_limits, make_stage

__all__ = [
    "BRAM18_LUTS",
    "Folding",
    "LayerFolding",
    "auto_folding",
    "default_folding",
    "folding_from_dict",
    "load_folding",
]

#: LUTs one 18 Kbit block RAM is worth when comparing foldings.
BRAM18_LUTS = 200
#: Default lane budget of a matrix layer (PE·SIMD) for :func:`default_folding`.
DEFAULT_LANES = 64


@dataclass(frozen=True)
class LayerFolding:
    """Lanes and cycle model of one layer: ``cycles`` per frame; ``resources`` from the layer's estimate."""

    name: str
    kind: str
    pe: int | None
    simd: int | None
    cycles: int
    resources: dict = field(default_factory=dict)

    def options(self) -> dict:
        return {k: v for k, v in (("pe", self.pe), ("simd", self.simd)) if v is not None}


@dataclass(frozen=True)
class Folding:
    """Per-layer folding of a hardware graph, in stream order."""

    layers: tuple[LayerFolding, ...]

    @property
    def ii_cycles(self) -> int:
        """Initiation interval of the accelerator: cycles per frame of the slowest layer."""
        return max(lf.cycles for lf in self.layers)

    def __getitem__(self, name: str) -> LayerFolding:
        for lf in self.layers:
            if lf.name == name:
                return lf
        raise KeyError(name)

    def to_dict(self) -> dict:
        """The folding file form: ``{name: {"pe": P, "simd": S}}``."""
        return {lf.name: lf.options() for lf in self.layers}


def _candidate(node, pe: int, simd: int, idt) -> LayerFolding:
    st = make_stage(node, pe=pe, simd=simd, idt=idt)
    comp = st.component
    res = comp.resources()
    comp._MustUse__silence = True  # built only for its cycle and resource model
    opts = OPTIONS[node.op]
    return LayerFolding(
        node.name, node.op, pe if "pe" in opts else None, simd if "simd" in opts else None, st.cycles, res
    )


def _cost(lf: LayerFolding) -> tuple:
    r = lf.resources
    blocks = math.ceil(r.get("bram_bits", 0) / 18432)
    return (r.get("luts", 0) + BRAM18_LUTS * blocks, (lf.pe or 1) * (lf.simd or 1))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _candidates(node, idt, max_lanes: int | None = None):
    lim = lane_limits(node)
    pes = _divisors(lim["pe"][0]) if "pe" in lim else [1]
    simds = _divisors(lim["simd"][0]) if "simd" in lim else [1]
    for pe in pes:
        for simd in simds:
            if max_lanes is None or node.op != "Mvtu" or pe * simd <= max_lanes:
                yield pe, simd


def _fastest_cycles(node, idt, max_lanes=None) -> int:
    """Fewest cycles per frame the node reaches (the cycle model is monotone in each lane count)."""
    best = None
    for pe, simd in _candidates(node, idt, max_lanes):
        cyc = _cycles_only(node, pe, simd, idt)
        best = cyc if best is None else min(best, cyc)
    return best


def _cycles_only(node, pe, simd, idt) -> int:
    if node.op == "Mvtu":  # the MVTU's model without building it: (MH/PE)·(MW/SIMD) per vector
        mh, mw = node.attrs["weights"].shape
        return (mh // pe) * (mw // simd) * (math.prod(node.attrs["in_shape"]) // mw)
    st = make_stage(node, pe=pe, simd=simd, idt=idt)
    st.component._MustUse__silence = True
    return st.cycles


def _input_dtypes(graph) -> dict:
    """Datatype each hardware node reads (the producing node's output datatype for a LabelSelect)."""
    from .stages import in_dtype

    out, prev = {}, None
    for n in graph.hw_nodes():
        out[n.name] = in_dtype(n) or prev
        prev = _out_dtype(n, out[n.name])
    return out


def _out_dtype(node, idt):
    st = make_stage(node, pe=1, simd=1, idt=idt)
    st.component._MustUse__silence = True
    return st.component.odt if hasattr(st.component, "odt") else idt


def _minimal_pairs(node, idt, target: int, lanes: dict | None = None) -> list[tuple[int, int]]:
    """Lane pairs meeting ``target`` that cannot lose a lane in either option and still meet it
    (more lanes than needed never make a layer cheaper, so only these are priced)."""
    lanes = lanes or {}
    ok = {
        (pe, simd)
        for pe, simd in _candidates(node, idt)
        if lanes.get("pe", pe) == pe
        and lanes.get("simd", simd) == simd
        and _cycles_only(node, pe, simd, idt) <= target
    }
    pes = sorted({pe for pe, _ in ok})
    simds = sorted({simd for _, simd in ok})
    keep = set()
    for pe in pes:
        keep.add((pe, min(s for p, s in ok if p == pe)))
    for simd in simds:
        keep.add((min(p for p, s in ok if s == simd), simd))
    return sorted(keep)


def _choose(node, idt, target: int) -> LayerFolding:
    pairs = _minimal_pairs(node, idt, target)
    if not pairs:
        fastest = _fastest_cycles(node, idt)
        raise HwgenError(
            f"target II of {target} cycles cannot be met: layer {node.name!r} ({node.op}) needs at least "
            f"{fastest} cycles per frame"
        )
    return min((_candidate(node, pe, simd, idt) for pe, simd in pairs), key=_cost)


def auto_folding(
    graph, target_ii: int | None = None, *, target_fps: float | None = None, clock_mhz: float | None = None
) -> Folding:
    """The cheapest folding of every layer of ``graph`` (a streamlined graph) whose cycles per frame are
    at most ``target_ii`` (or ``clock_mhz·1e6 / target_fps``); HwgenError if a layer cannot meet it."""
    if (target_ii is None) == (target_fps is None):
        raise ValueError("give exactly one of target_ii and target_fps")
    if target_fps is not None:
        if not target_fps > 0:
            raise HwgenError(f"--target-fps must be positive, not {target_fps}")
        if clock_mhz is None or not clock_mhz > 0:
            raise HwgenError(f"--clock-mhz must be positive with --target-fps, not {clock_mhz}")
        target_ii = math.floor(clock_mhz * 1e6 / target_fps)
    if target_ii < 1:
        raise HwgenError(f"target II must be at least 1 cycle, not {target_ii}")
    idts = _input_dtypes(graph)
    return Folding(tuple(_choose(n, idts[n.name], target_ii) for n in graph.hw_nodes()))


def default_folding(graph, max_lanes: int = DEFAULT_LANES) -> Folding:
    """Balanced default: target = the slowest layer with at most ``max_lanes`` PE·SIMD per matrix layer."""
    return auto_folding(graph, _default_target(graph, _input_dtypes(graph), max_lanes))


def _default_target(graph, idts, max_lanes: int) -> int:
    return max(_fastest_cycles(n, idts[n.name], max_lanes) for n in graph.hw_nodes())


def _check_lanes(src: str, node, key: str, value) -> int:
    total, total_name = lane_limits(node)[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HwgenError(f"{src}: layer {node.name!r}: {key!r} must be a positive integer, not {value!r}")
    if total % value:
        raise HwgenError(
            f"{src}: layer {node.name!r} ({node.op}): {key}={value} must divide {total_name}={total}"
        )
    return value


def folding_from_dict(graph, spec, source: str = "folding") -> Folding:
    """Validate a ``{layer_name: {"pe": P, "simd": S}}`` folding for ``graph``; see the module docstring.

    ``source`` names the origin (a file) in error messages.
    """
    if not isinstance(spec, dict):
        raise HwgenError(f'{source}: must be an object {{layer name: {{"pe": P, "simd": S}}}}')
    nodes = {n.name: n for n in graph.hw_nodes()}
    for name, opts in spec.items():
        if name not in nodes:
            known = ", ".join(repr(k) for k in nodes)
            raise HwgenError(f"{source}: no layer named {name!r} (layers: {known})")
        if not isinstance(opts, dict):
            raise HwgenError(f'{source}: layer {name!r}: must be an object like {{"pe": 2}}, not {opts!r}')
        node = nodes[name]
        allowed = OPTIONS[node.op]
        for key in opts:
            if str(key).lower() not in allowed:
                raise HwgenError(
                    f"{source}: layer {name!r} ({node.op}): unknown option {key!r} "
                    f"(expected {', '.join(allowed)})"
                )
    idts = _input_dtypes(graph)
    fixed = {}
    for name, opts in spec.items():
        node = nodes[name]
        lanes = {str(k).lower(): _check_lanes(source, node, str(k).lower(), v) for k, v in opts.items()}
        if len(lanes) != len(opts):
            raise HwgenError(f"{source}: layer {name!r}: an option is given twice")
        fixed[name] = lanes
    full = {
        n: _candidate(nodes[n], lanes.get("pe", 1), lanes.get("simd", 1), idts[n])
        for n, lanes in fixed.items()
        if len(lanes) == len(OPTIONS[nodes[n].op])
    }
    # layers given only in part, or not at all, are chosen for the II of the fully given ones
    target = max((lf.cycles for lf in full.values()), default=None)
    if target is None:
        target = _default_target(graph, idts, DEFAULT_LANES)
    out = []
    for node in graph.hw_nodes():
        if node.name in full:
            out.append(full[node.name])
        else:
            out.append(_choose_partial(node, idts[node.name], target, fixed.get(node.name, {})))
    return Folding(tuple(out))


def _choose_partial(node, idt, target: int, lanes: dict) -> LayerFolding:
    pairs = _minimal_pairs(node, idt, target, lanes)
    if pairs:
        return min((_candidate(node, pe, simd, idt) for pe, simd in pairs), key=_cost)
    # the given option alone is too slow for the target: complete it with the fastest choice
    cands = [
        _candidate(node, pe, simd, idt)
        for pe, simd in _candidates(node, idt)
        if lanes.get("pe", pe) == pe and lanes.get("simd", simd) == simd
    ]
    return min(cands, key=lambda lf: (lf.cycles, _cost(lf)))


def load_folding(graph, path) -> Folding:
    """Read and validate a JSON folding file (see :func:`folding_from_dict`)."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except OSError as e:
        raise HwgenError(f"{path}: cannot read the folding file ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise HwgenError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    return folding_from_dict(graph, spec, source=str(path))
