"""Time the folding search (``hwgen.dataflow``) on CNV-W1A1: default, auto at several target rates, user dict.

Usage: ``python benchmarks/folding.py [--out results.json] [--repeat 3] [--fps 100 1000 ...] [--clock-mhz 100]
[--compare BEFORE.json] [--label TEXT]``

The model (examples/models/cnv_w1a1/*.qonnx.onnx) is imported and streamlined once (timed, not part of the
total); then each measurement is repeated ``--repeat`` times with ``time.perf_counter`` (CPU time with
``time.process_time`` alongside) and reported as min and median seconds:

- ``default``: ``default_folding(hw)``;
- ``auto@F``: ``auto_folding(hw, target_fps=F, clock_mhz=100)`` for every ``--fps`` F;
- ``dict{}``: ``folding_from_dict(hw, {})`` (a user folding with every layer left to choose).

The total is the sum of the per-measurement minima (and of the medians). Each result's ``ii_cycles`` and
PE/SIMD per layer are recorded, so ``--compare BEFORE.json`` prints the speed-up of every measurement and
whether the chosen foldings are identical. Only the public API above is used, so the script runs on the
code before and after a redesign of the folding internals. The environment (Python, CPU model and count,
load averages at the start and the end), the git commit and where ``hwgen`` was imported from are recorded:
on a shared machine compare CPU times, wall-clock ones are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "examples/models/cnv_w1a1"
#: CNV-W1A1's fastest folding has II 8100 cycles (12345 fps at 100 MHz): every rate here is feasible.
DEFAULT_FPS = (100, 1000, 3000, 10000, 12000)


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {"cpu_model": model, "cpu_count": os.cpu_count(), "loadavg_1_5_15": load}


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def source_info() -> dict:
    """The git commit of this checkout, and whether the ``hwgen`` imported is this checkout's (and dirty)."""
    import hwgen

    pkg = Path(hwgen.__file__).resolve().parent
    ours = pkg == ROOT / "hwgen"
    dirty = _git("status", "--porcelain", "--", "hwgen") if ours else None
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "hwgen_path": str(pkg),
        "hwgen_is_this_checkout": ours,
        # uncommitted changes under hwgen/ (only meaningful when hwgen is imported from this checkout)
        "hwgen_dirty": None if dirty is None else bool(dirty),
    }


def _summary(folding) -> dict:
    layers = []
    for lf in folding.layers:
        res = getattr(lf, "resources", None)
        layers.append(
            {
                "name": lf.name,
                "kind": lf.kind,
                "pe": lf.pe,
                "simd": lf.simd,
                "cycles": lf.cycles,
                "luts": res.get("luts") if isinstance(res, dict) else None,
            }
        )
    luts = [lf["luts"] for lf in layers]
    return {
        "ii_cycles": folding.ii_cycles,
        "layers": layers,
        "luts_estimate": sum(luts) if all(v is not None for v in luts) else None,
    }


def _lanes(summary: dict) -> str:
    """Lanes per layer in stream order: ``PExSIMD`` for two options, ``pP`` / ``sS`` for one."""
    out = []
    for lf in summary["layers"]:
        pe, simd = lf["pe"], lf["simd"]
        if pe is not None and simd is not None:
            out.append(f"{pe}x{simd}")
        elif pe is not None or simd is not None:
            out.append(f"p{pe}" if pe is not None else f"s{simd}")
    return " ".join(out)


def measure(fn, repeat: int) -> dict:
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {
        "min_s": min(wall),
        "median_s": statistics.median(wall),
        "cpu_min_s": min(cpu),
        "cpu_median_s": statistics.median(cpu),
        "runs_s": wall,
        "result": result,
    }


def run(args) -> dict:
    from hwgen.dataflow import auto_folding, default_folding, folding_from_dict
    from hwgen.errors import HwgenError
    from hwgen.frontend import load
    from hwgen.passes import streamline

    path = Path(args.model) if args.model else sorted(MODEL_DIR.glob("*.qonnx.onnx"))[0]
    results = {
        "label": args.label,
        "python": sys.version.split()[0],
        "machine_start": machine(),
        "source": source_info(),
        "model": str(path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path),
        "repeat": args.repeat,
        "clock_mhz": args.clock_mhz,
    }
    t = time.perf_counter()
    hw = streamline(load(path))
    results["import_streamline_s"] = time.perf_counter() - t

    cases = [("default", "default_folding(hw)", None, lambda: default_folding(hw))]
    for fps in args.fps:
        cases.append(
            (
                f"auto@{fps:g}",
                f"auto_folding(hw, target_fps={fps:g}, clock_mhz={args.clock_mhz:g})",
                fps,
                lambda fps=fps: auto_folding(hw, target_fps=fps, clock_mhz=args.clock_mhz),
            )
        )
    cases.append(("dict{}", "folding_from_dict(hw, {})", None, lambda: folding_from_dict(hw, {})))

    rows = []
    for name, call, fps, fn in cases:
        row = {"name": name, "call": call, "target_fps": fps}
        if fps is not None:
            row["target_ii"] = int(args.clock_mhz * 1e6 // fps)
        try:
            m = measure(fn, args.repeat)
        except HwgenError as e:  # an infeasible target: recorded, not timed
            row.update(feasible=False, error=str(e))
            rows.append(row)
            print(f"{name}: infeasible: {e}", flush=True)
            continue
        folding = m.pop("result")
        row.update(feasible=True, **m, **_summary(folding))
        rows.append(row)
        print(f"{name}: min {row['min_s']:.3f} s, II {row['ii_cycles']}", flush=True)
    results["measurements"] = rows
    ok = [r for r in rows if r.get("feasible")]
    results["total_min_s"] = sum(r["min_s"] for r in ok)
    results["total_median_s"] = sum(r["median_s"] for r in ok)
    results["total_cpu_min_s"] = sum(r["cpu_min_s"] for r in ok)
    results["machine_end"] = machine()
    return results


def report(results: dict, before: dict | None = None) -> None:
    src = results["source"]
    print(
        f"commit {src['git_commit']}, hwgen from {src['hwgen_path']}"
        + (f" (uncommitted changes: {src['hwgen_dirty']})" if src["hwgen_is_this_checkout"] else "")
        + (f" — {results['label']}" if results.get("label") else "")
    )
    print(f"Python {results['python']}, {results['model']}, repeat {results['repeat']}")
    for when in ("start", "end"):
        m = results[f"machine_{when}"]
        load = m["loadavg_1_5_15"]
        print(f"{when}: {m['cpu_model']}, {m['cpu_count']} CPUs, load average (1/5/15 min) {load}")
    print(f"import + streamline: {results['import_streamline_s']:.2f} s (not in the total)")
    prev = {r["name"]: r for r in before["measurements"]} if before else {}
    head = f"{'measurement':12s} {'min s':>8s} {'median s':>9s} {'cpu s':>8s} {'II cycles':>10s} {'fps':>7s}"
    if before:
        head += f" {'speed-up':>9s} {'same':>5s}"
    print(head + "  lanes per layer (PExSIMD, sSIMD, pPE)")
    for r in results["measurements"]:
        if not r.get("feasible"):
            print(f"{r['name']:12s} infeasible: {r['error']}")
            continue
        fps = results["clock_mhz"] * 1e6 / r["ii_cycles"]
        line = (
            f"{r['name']:12s} {r['min_s']:8.3f} {r['median_s']:9.3f} {r['cpu_min_s']:8.3f} "
            f"{r['ii_cycles']:10d} {fps:7.0f}"
        )
        if before:
            p = prev.get(r["name"])
            if p and p.get("feasible"):
                same = [(a["pe"], a["simd"]) for a in p["layers"]] == [
                    (a["pe"], a["simd"]) for a in r["layers"]
                ]
                line += f" {p['min_s'] / r['min_s']:8.1f}x {'yes' if same else 'NO':>5s}"
            else:
                line += f" {'–':>9s} {'–':>5s}"
        print(line + "  " + _lanes(r))
    total = f"total (sum of minima) {results['total_min_s']:.3f} s"
    total += f", of medians {results['total_median_s']:.3f} s"
    total += f", CPU {results['total_cpu_min_s']:.3f} s"
    print(total)
    if before:
        both = [
            (prev[r["name"]]["min_s"], r["min_s"])
            for r in results["measurements"]
            if r.get("feasible") and prev.get(r["name"], {}).get("feasible")
        ]
        b, a = sum(x for x, _ in both), sum(y for _, y in both)
        if both:
            print(f"the {len(both)} measurements in both runs: before {b:.3f} s, now {a:.3f} s: {b / a:.1f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (min and median reported)")
    ap.add_argument("--fps", type=float, nargs="+", default=list(DEFAULT_FPS), help="target frame rates")
    ap.add_argument("--clock-mhz", type=float, default=100.0)
    ap.add_argument("--model", help="a QONNX file (default: examples/models/cnv_w1a1/*.qonnx.onnx)")
    ap.add_argument("--compare", help="a JSON written earlier by --out: print speed-ups and folding changes")
    ap.add_argument("--label", help="free text stored with the results (e.g. 'before')")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    results = run(args)
    report(results, before)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
