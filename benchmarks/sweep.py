"""Wall time of a 6-point ``hwgen sweep`` of TFC-W1A1 on 1 worker and on 2, in one run.

Usage: ``python benchmarks/sweep.py [--out results.json] [--points 6] [--random 200] [--pnr ecp5-85k]
[--workdir DIR]``

Each run is a fresh sweep folder (nothing skipped; the Verilator runtime is compiled once per folder, so
both runs pay it), through the local process pool (``--jobs 1``, then ``--jobs 2``) with
:func:`hwgen.flow.sweep_run.run_sweep`: the same 6 Pareto points (build + verify of ``--random`` frames,
and with ``--pnr`` out-of-context place and route on that device, one nextpnr per worker). Reported: wall
and CPU seconds of each run (CPU time of the worker processes included), the speed-up, the per-point
seconds, and the machine's load averages at the start and the end (on a shared machine wall time is noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples/models/tfc_w1a1/tfc_w1a1.qonnx.onnx"


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run(jobs: int, args, work: Path) -> dict:
    from hwgen.flow.sweep import SweepSpec
    from hwgen.flow.sweep_run import run_sweep

    out = work / f"jobs{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    spec = SweepSpec(MODEL, out, points=args.points, random=args.random, pnr=args.pnr)
    t0, c0 = time.perf_counter(), _cpu()
    r = run_sweep(spec, jobs=jobs)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    pts = r["points"]
    return {
        "jobs": jobs,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "points": len(pts),
        "passed": sum(bool(p.get("passed")) for p in pts),
        "per_point": [
            {k: p.get(k) for k in ("ii_cycles", "cycles_per_frame", "est_luts", "fmax_mhz", "seconds")}
            for p in pts
        ],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="write the results here (JSON)")
    ap.add_argument("--points", type=int, default=6)
    ap.add_argument("--random", type=int, default=200, help="random frames verified per point")
    ap.add_argument("--pnr", default=None, help="also place and route each point on this device")
    ap.add_argument("--workdir", default=None, help="sweep folders here (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hwgen-bench-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()
    runs = [run(1, args, work), run(2, args, work)]
    res = {
        "model": str(MODEL.relative_to(ROOT)),
        "python": sys.version.split()[0],
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_start": [round(x, 2) for x in load0],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "settings": {"points": args.points, "random": args.random, "pnr": args.pnr},
        "runs": runs,
        "speedup": round(runs[0]["wall_seconds"] / runs[1]["wall_seconds"], 2),
    }
    for r in runs:
        print(
            f"{r['jobs']} worker(s): {r['points']} points ({r['passed']} verified) in "
            f"{r['wall_seconds']} s wall, {r['cpu_seconds']} s CPU"
        )
    print(
        f"speed-up with 2 workers: {res['speedup']}x (load average {res['load_start']} -> {res['load_end']})"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["passed"] == r["points"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
