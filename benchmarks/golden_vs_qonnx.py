"""Golden model vs qonnx's ``execute_onnx``, side by side in one run; and CNV import + streamline time.

Usage: ``python benchmarks/golden_vs_qonnx.py [--out results.json] [--frames 256] [--qonnx-frames 5]``

Models: examples/models/<name>/ when present, else ../shared/oracle/<name>/ (TFC, SFC, CNV; the QONNX clean
form, which is what the reference executor runs). Per-frame times: qonnx one frame at a time (as it is used),
golden both one frame at a time and on a batch. Goals: golden >= 50x faster, CNV-W1A1 import + streamline
<= 5 s. Outputs are also compared for equality on the frames both ran. The CPU model and the load averages at
the start and the end are recorded: on a shared machine compare CPU-time ratios, wall-clock ones are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {
    "TFC": ["examples/models/tfc_w1a1", "../shared/oracle/tfc_1w1a"],
    "SFC": ["examples/models/sfc_w1a1", "../shared/oracle/sfc_1w1a"],
    "CNV": ["examples/models/cnv_w1a1", "../shared/oracle/cnv_1w1a"],
}


def _find(name: str):
    for rel in CANDIDATES[name]:
        d = (ROOT / rel).resolve()
        files = sorted(d.glob("*.qonnx_clean.onnx")) if (d / "inputs.npy").is_file() else []
        if files:
            return d, files[0]
    return None, None


def _time(fn, repeat: int = 3) -> tuple[float, float]:
    """Best wall-clock and CPU (all threads of this process) seconds of ``fn()``."""
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        best, cpu = min(best, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return best, cpu


def machine() -> dict:
    """CPU model, core count and load averages: timings on a shared machine depend on them."""
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


def bench_model(name: str, frames: int, qonnx_frames: int) -> dict:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from hwgen.frontend import load
    from hwgen.golden import execute
    from hwgen.passes import streamline

    d, path = _find(name)
    if path is None:
        return {"model": name, "available": False}
    x = np.load(d / "inputs.npy")
    batch = np.resize(x, (frames, *x.shape[1:])).astype(np.float32)
    t0 = time.perf_counter()
    hw = streamline(load(path))
    t_import = time.perf_counter() - t0
    t_golden_batch, cpu_golden_batch = (t / frames for t in _time(lambda: execute(hw, batch)))
    t_golden_one, _ = (t / len(x) for t in _time(lambda: [execute(hw, x[i : i + 1]) for i in range(len(x))]))
    wrapper = ModelWrapper(str(path))
    iname, oname = wrapper.graph.input[0].name, wrapper.graph.output[0].name
    n_q = min(qonnx_frames, len(x))
    outs = []
    t, c = time.perf_counter(), time.process_time()
    for i in range(n_q):
        outs.append(execute_onnx(wrapper, {iname: x[i : i + 1]})[oname])
    t_qonnx, cpu_qonnx = (time.perf_counter() - t) / n_q, (time.process_time() - c) / n_q
    equal = bool(np.array_equal(np.concatenate(outs), execute(hw, x[:n_q])[0]))
    return {
        "model": name,
        "available": True,
        "file": str(path.relative_to(path.parents[2])),
        "import_streamline_s": round(t_import, 4),
        "qonnx_s_per_frame": t_qonnx,
        "golden_s_per_frame_batched": t_golden_batch,
        "golden_s_per_frame_single": t_golden_one,
        "speedup_batched": t_qonnx / t_golden_batch,
        "qonnx_cpu_s_per_frame": cpu_qonnx,
        "golden_cpu_s_per_frame_batched": cpu_golden_batch,
        "speedup_batched_cpu": cpu_qonnx / cpu_golden_batch,
        "speedup_single": t_qonnx / t_golden_one,
        "outputs_equal": equal,
        "frames": {"golden_batch": frames, "qonnx": n_q},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--frames", type=int, default=256, help="batch size for the golden model")
    ap.add_argument("--qonnx-frames", type=int, default=5, help="frames run through qonnx")
    args = ap.parse_args(argv)
    results = {"machine_start": machine()}
    results["models"] = [bench_model(n, args.frames, args.qonnx_frames) for n in CANDIDATES]
    cnv = next(r for r in results["models"] if r["model"] == "CNV")
    if cnv.get("available"):
        from hwgen.frontend import load
        from hwgen.passes import streamline

        _, path = _find("CNV")
        t = time.perf_counter()
        streamline(load(path))
        results["cnv_import_streamline_s"] = round(time.perf_counter() - t, 3)
        results["cnv_goal_met"] = results["cnv_import_streamline_s"] <= 5.0
    results["machine_end"] = machine()
    for when in ("start", "end"):
        m = results[f"machine_{when}"]
        print(
            f"{when}: {m['cpu_model']}, {m['cpu_count']} CPUs, "
            f"load average (1/5/15 min) {m['loadavg_1_5_15']}"
        )
    for r in results["models"]:
        if not r.get("available"):
            print(f"{r['model']:4s} not available")
            continue
        print(
            f"{r['model']:4s} qonnx {r['qonnx_s_per_frame'] * 1e3:8.2f} ms/frame | golden "
            f"{r['golden_s_per_frame_batched'] * 1e3:7.3f} ms/frame batched ({r['speedup_batched']:7.0f}x), "
            f"{r['golden_s_per_frame_single'] * 1e3:7.3f} ms single ({r['speedup_single']:5.0f}x) | "
            f"CPU {r['golden_cpu_s_per_frame_batched'] * 1e3:.3f} vs "
            f"{r['qonnx_cpu_s_per_frame'] * 1e3:.1f} ms: "
            f"ratio {r['speedup_batched_cpu']:5.0f}x | "
            f"import+streamline {r['import_streamline_s']:.2f} s | equal {r['outputs_equal']}"
        )
    if "cnv_import_streamline_s" in results:
        print(f"CNV import + streamline: {results['cnv_import_streamline_s']:.2f} s (goal <= 5 s)")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
