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

Which options a layer kind has: its spec's ``options`` (:mod:`hwgen.layers.registry`). Candidates are
priced by the layers' specs (cycle and resource models), never by building hardware.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hwgen.errors import HwgenError
from hwgen.layers.registry import spec_of
from hwgen.layers.spec import LayerSpec

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


@dataclass(frozen=True, eq=False)
class LayerFolding:
    """One layer folded: its spec (lanes, cycle and resource model) and the numbers folding compares."""

    spec: LayerSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def pe(self) -> int | None:
        return self.spec.lanes().get("pe")

    @property
    def simd(self) -> int | None:
        return self.spec.lanes().get("simd")

    @property
    def cycles(self) -> int:
        """Cycles per frame."""
        return self.spec.cycles

    @cached_property
    def resources(self) -> dict:
        """The spec's estimate on xc7."""
        return self.spec.resources()

    def options(self) -> dict:
        return self.spec.lanes()


@dataclass(frozen=True)
class Folding:
    """Per-layer folding of a hardware graph, in stream order; ``io_registers``: register slices on the
    accelerator's input and output streams (set with pipelining: no path from a port to the layers)."""

    layers: tuple[LayerFolding, ...]
    io_registers: bool = False

    @property
    def ii_cycles(self) -> int:
        """Initiation interval of the accelerator: cycles per frame of the slowest layer."""
        return max(lf.cycles for lf in self.layers)

    def __getitem__(self, name: str) -> LayerFolding:
        for lf in self.layers:
            if lf.name == name:
                return lf
        raise KeyError(name)

    def with_pipeline(self, stages: int) -> Folding:
        """The same lanes with up to ``stages`` extra register stages in every layer that offers them, and
        register slices on the input and output streams when ``stages`` > 0."""
        layers = tuple(LayerFolding(lf.spec.with_pipeline(stages)) for lf in self.layers)
        return Folding(layers, io_registers=stages > 0)

    @property
    def specs(self) -> list[LayerSpec]:
        """The layers' specs in stream order."""
        return [lf.spec for lf in self.layers]

    def to_dict(self) -> dict:
        """The folding file form: ``{name: {"pe": P, "simd": S}}``."""
        return {lf.name: lf.options() for lf in self.layers}


def _cost(lf: LayerFolding) -> tuple:
    r = lf.resources
    blocks = math.ceil(r.get("bram_bits", 0) / 18432)
    return (r.get("luts", 0) + BRAM18_LUTS * blocks, math.prod(lf.options().values()))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _candidates(base: LayerSpec, fixed: dict | None = None, max_lanes: int | None = None):
    """Every folding of ``base`` (lanes in ``fixed`` kept), within ``max_lanes`` for budgeted kinds."""
    fixed = fixed or {}
    limits = base.lane_limits()
    choices = [[fixed[o]] if o in fixed else _divisors(limits[o][0]) for o in base.options]
    for combo in itertools.product(*choices):
        if max_lanes is not None and base.budgeted and math.prod(combo) > max_lanes:
            continue
        yield base.with_lanes(**dict(zip(base.options, combo, strict=True)))


def _fastest_cycles(base: LayerSpec, max_lanes=None) -> int:
    """Fewest cycles per frame the layer reaches."""
    return min(sp.cycles for sp in _candidates(base, max_lanes=max_lanes))


def _minimal(base: LayerSpec, target: int, fixed: dict | None = None) -> list[LayerSpec]:
    """Foldings meeting ``target`` that cannot lose a lane in any option and still meet it (more lanes
    than needed never make a layer cheaper, so only these are priced)."""
    ok = [sp for sp in _candidates(base, fixed) if sp.cycles <= target]
    keep = {}
    for i, opt in enumerate(base.options):
        for v in sorted({sp.lanes()[opt] for sp in ok}):
            same = [sp for sp in ok if sp.lanes()[opt] == v]
            others = [o for j, o in enumerate(base.options) if j != i]
            best = min(same, key=lambda sp: tuple(sp.lanes()[o] for o in others))
            keep[tuple(best.lanes().values())] = best
    if not base.options and ok:
        keep[()] = ok[0]
    return [keep[k] for k in sorted(keep)]


def _choose(base: LayerSpec, target: int) -> LayerFolding:
    specs = _minimal(base, target)
    if not specs:
        raise HwgenError(
            f"target II of {target} cycles cannot be met: layer {base.name!r} ({base.kind}) needs at least "
            f"{_fastest_cycles(base)} cycles per frame"
        )
    return min((LayerFolding(sp) for sp in specs), key=_cost)


def _bases(graph) -> list[LayerSpec]:
    bases, seen = [], set()
    for n in graph.hw_nodes():
        if n.name in seen:
            raise HwgenError(f"two hardware layers are named {n.name!r}; a folding could not tell them apart")
        seen.add(n.name)
        bases.append(spec_of(n))
    return bases


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
    return Folding(tuple(_choose(b, target_ii) for b in _bases(graph)))


def default_folding(graph, max_lanes: int = DEFAULT_LANES) -> Folding:
    """Balanced default: target = the slowest layer with at most ``max_lanes`` PE·SIMD per matrix layer."""
    bases = _bases(graph)
    target = max(_fastest_cycles(b, max_lanes) for b in bases)
    return Folding(tuple(_choose(b, target) for b in bases))


def _check_lanes(src: str, base: LayerSpec, key: str, value) -> int:
    total, total_name = base.lane_limits()[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HwgenError(f"{src}: layer {base.name!r}: {key!r} must be a positive integer, not {value!r}")
    if total % value:
        raise HwgenError(
            f"{src}: layer {base.name!r} ({base.kind}): {key}={value} must divide {total_name}={total}"
        )
    return value


def folding_from_dict(graph, spec, source: str = "folding") -> Folding:
    """Validate a ``{layer_name: {"pe": P, "simd": S}}`` folding for ``graph``; see the module docstring.

    ``source`` names the origin (a file) in error messages.
    """
    if not isinstance(spec, dict):
        raise HwgenError(f'{source}: must be an object {{layer name: {{"pe": P, "simd": S}}}}')
    bases = {b.name: b for b in _bases(graph)}
    for name, opts in spec.items():
        if name not in bases:
            known = ", ".join(repr(k) for k in bases)
            raise HwgenError(f"{source}: no layer named {name!r} (layers: {known})")
        if not isinstance(opts, dict):
            raise HwgenError(f'{source}: layer {name!r}: must be an object like {{"pe": 2}}, not {opts!r}')
        base = bases[name]
        for key in opts:
            if str(key).lower() not in base.options:
                raise HwgenError(
                    f"{source}: layer {name!r} ({base.kind}): unknown option {key!r} "
                    f"(expected {', '.join(base.options)})"
                )
    fixed = {}
    for name, opts in spec.items():
        base = bases[name]
        lanes = {str(k).lower(): _check_lanes(source, base, str(k).lower(), v) for k, v in opts.items()}
        if len(lanes) != len(opts):
            raise HwgenError(f"{source}: layer {name!r}: an option is given twice")
        fixed[name] = lanes
    full = {
        n: LayerFolding(bases[n].with_lanes(**lanes))
        for n, lanes in fixed.items()
        if len(lanes) == len(bases[n].options)
    }
    # layers given only in part, or not at all, are chosen for the II of the fully given ones
    target = max((lf.cycles for lf in full.values()), default=None)
    if target is None:
        target = max(_fastest_cycles(b, DEFAULT_LANES) for b in bases.values())
    out = []
    for name, base in bases.items():
        if name in full:
            out.append(full[name])
        else:
            out.append(_choose_partial(base, target, fixed.get(name, {})))
    return Folding(tuple(out))


def _choose_partial(base: LayerSpec, target: int, lanes: dict) -> LayerFolding:
    specs = _minimal(base, target, lanes)
    if specs:
        return min((LayerFolding(sp) for sp in specs), key=_cost)
    # the given option alone is too slow for the target: complete it with the fastest choice
    cands = [LayerFolding(sp) for sp in _candidates(base, lanes)]
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
