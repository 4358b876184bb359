"""Bulk verification: the compiled C++ harness against the cocotb path on the same builds, in one run.

Usage: ``python benchmarks/verify.py --out DIR [--only TFC SFC CNV] [--jobs N]``

Per model (TFC-W1A1, SFC-W1A1, CNV-W1A1 from examples/models): ``hwgen build`` into ``DIR/<name>``, then
``hwgen verify``'s Python API with a fresh ``sim_build`` (so both Verilator builds are included in the
total) on N random frames over the whole input code range, then the cocotb bench alone on a few frames of
the same build (its Verilator model is the one verify just built). Prints and writes ``DIR/verify.json``:
frames/s and simulated cycles/s of both, the harness's speed-up, and the issue's goals: 10,000 TFC frames
<= 20 s including the build on 2 cores; harness >= 20x cocotb in frames/s; CNV 1,000 frames <= 5 min.
The machine is shared: the load averages at the start and the end are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {  # name: (folder, target fps, harness frames, cocotb frames)
    "TFC": ("tfc_w1a1", 30000, 10000, 40),
    "SFC": ("sfc_w1a1", 30000, 5000, 20),
    "CNV": ("cnv_w1a1", 10000, 1000, 2),
}


def bench(name: str, out: Path, jobs: int) -> dict:
    from hwgen.sim.runner import BenchRun, build_verilator, run_bench

    from hwgen.cli import main
    from hwgen.dataflow.io import pack_frames
    from hwgen.flow.cmd_verify import verify
    from hwgen.ir.datatypes import DataType

    folder, fps, n, n_cocotb = MODELS[name]
    model = ROOT / "examples" / "models" / folder / f"{folder}.qonnx.onnx"
    build = out / folder
    t0 = time.monotonic()
    assert main(["build", str(model), "-o", str(build), "--target-fps", str(fps)]) == 0
    build_s = time.monotonic() - t0
    shutil.rmtree(build / "sim_build", ignore_errors=True)
    t0 = time.monotonic()
    r = verify(build, random=n, jobs=jobs, seed=1)
    verify_s = time.monotonic() - t0
    assert r.passed, (name, r.bulk.problems, r.bulk.first_bad)
    m, b = r.manifest, r.bulk
    # the cocotb path alone, same build, same frames, full speed
    from hwgen.dataflow.io import host_codes
    from hwgen.flow.steps import graph_of_build

    _, hw = graph_of_build(build, m)
    x = r.x[:n_cocotb]
    sin, sout = m["input"], m["output"]
    idt, odt = DataType.from_name(sin["dtype"]), DataType.from_name(sout["dtype"])
    vm = build_verilator([build / f for f in m["rtl"]["files"]], m["rtl"]["top"], build / "sim_build")
    run = BenchRun(
        pack_frames(host_codes(hw, x), idt, sin["elements_per_beat"]),
        pack_frames(r.golden.reshape(len(r.x), -1)[:n_cocotb], odt, sout["elements_per_beat"]),
        beats_per_frame_in=sin["beats_per_frame"],
        beats_per_frame_out=sout["beats_per_frame"],
        idle_timeout=8 * (m["ii_cycles"] + m["latency_cycles"]) + 1000,
    )
    with tempfile.TemporaryDirectory() as work:
        res = run_bench(vm, [run], work)
    assert res.passed, name
    c = res.runs[0]
    h_fps = n / r.harness_seconds
    c_fps = n_cocotb / res.seconds
    row = {
        "model": folder,
        "ii_cycles": m["ii_cycles"],
        "latency_cycles": m["latency_cycles"],
        "hwgen_build_s": round(build_s, 2),
        "frames": n,
        "jobs": r.jobs,
        "shards": r.shards,
        "verify_total_s": round(verify_s, 2),
        "harness_build_s": round(r.build_seconds, 2),
        "harness_run_s": round(r.harness_seconds, 3),
        "harness_frames_per_s": round(h_fps, 1),
        "harness_cycles_per_s": round(b.cycles / r.harness_seconds),
        "measured_cycles_per_frame": b.cycles_per_frame,
        "cocotb_frames": n_cocotb,
        "cocotb_s": round(res.seconds, 2),
        "cocotb_frames_per_s": round(c_fps, 2),
        "cocotb_cycles_per_s": round(c.cycles / res.seconds),
        "speedup_frames_per_s": round(h_fps / c_fps, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--only", nargs="*", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"cpus": os.cpu_count(), "load_start": os.getloadavg(), "models": {}}
    for name in args.only:
        result["models"][name] = bench(name, args.out, args.jobs)
    result["load_end"] = os.getloadavg()
    goals = {}
    if "TFC" in result["models"]:
        t = result["models"]["TFC"]
        goals["tfc_10000_frames_s_incl_build (<= 20)"] = t["verify_total_s"]
    for k, row in result["models"].items():
        goals[f"{k}_speedup (>= 20)"] = row["speedup_frames_per_s"]
    if "CNV" in result["models"]:
        goals["cnv_1000_frames_s_incl_build (<= 300)"] = result["models"]["CNV"]["verify_total_s"]
    result["goals"] = goals
    (args.out / "verify.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(goals, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
