"""Example networks on real boards: build (fit first), synthesize, place and route, and the UART shell.

Usage: ``python benchmarks/boards.py --out DIR [--only NAME ...] [--list]``

Each configuration is built with ``hwgen build --board`` (default folding: the fastest that fits, or
``--target-fps``), then ``hwgen synth``: iCE40/ECP5 boards to a bitstream (utilisation, achieved Fmax,
place-and-route wall time), Zynq boards to the Vivado project and a yosys ``synth_xilinx`` utilisation
estimate. For UART boards the frame rate through the serial line is measured on the Verilator model of the
board's shell (``hwgen.driver.Accelerator(OUT, port="sim")``: simulated clock cycles from the first byte in
to the last byte out, at the board's clock and baud rate) and the outputs are compared with the golden model.
Saved as ``DIR/boards.json`` (with the environment) and ``DIR/boards.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from hwgen.cli import main as hwgen

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples/models"

#: name -> (model, board, extra build options, frames through the UART model or 0)
CONFIGS = {
    "tfc_w1a1-icebreaker": ("tfc_w1a1", "icebreaker", [], 200),
    "sfc_w1a1-ulx3s_85f": ("sfc_w1a1", "ulx3s_85f", ["--target-fps", "100000"], 0),
    "cnv_w1a1-ulx3s_85f": ("cnv_w1a1", "ulx3s_85f", ["--target-fps", "9150"], 0),
    # the same rate from a faster folding (II 9,600) at a 90 MHz PLL clock
    "cnv_w1a1-ulx3s_85f-90mhz": ("cnv_w1a1", "ulx3s_85f", ["--target-fps", "9150", "--clock-mhz", "90"], 0),
    "cnv_w1a1-pynq_z2": ("cnv_w1a1", "pynq_z2", ["--target-fps", "9150"], 0),
}


def _uart(out: Path, model: str, frames: int) -> dict:
    from hwgen.driver import Accelerator
    from hwgen.golden import execute

    x = np.load(MODELS / model / "inputs.npy")
    x = np.concatenate([x] * (frames // len(x) + 1))[:frames]
    acc = Accelerator(out, port="sim", timeout=120)
    try:
        t0 = time.monotonic()
        y = acc.infer(x)
        wall = time.monotonic() - t0
    finally:
        acc.close()
    ref = np.asarray(execute(acc.hw_graph, x)[1]).reshape(len(x), -1)
    first, last = acc.transport.cycles
    clock = acc.manifest["clock_mhz"] * 1e6
    return {
        "frames": frames,
        "equal_golden": bool(np.array_equal(y, ref)),
        "bytes_in_per_frame": acc.frame_bytes_in,
        "bytes_out_per_frame": acc.frame_bytes_out,
        "divisor": acc.divisor,
        "baud": round(clock / acc.divisor),
        "simulated_cycles": last - first,
        "uart_fps": round(frames * clock / (last - first), 1),
        "sim_wall_s": round(wall, 2),
    }


def run(name: str, out_dir: Path) -> dict:
    model, board, extra, frames = CONFIGS[name]
    out = out_dir / name
    onnx = MODELS / model / f"{model}.qonnx.onnx"
    t0 = time.monotonic()
    if hwgen(["build", str(onnx), "-o", str(out), "--board", board, *extra]) != 0:
        return {"name": name, "error": "build failed"}
    build_s = time.monotonic() - t0
    rc = hwgen(["synth", str(out)])
    m = json.loads((out / "manifest.json").read_text())
    rec = {
        "name": name,
        "model": model,
        "board": board,
        "options": extra,
        "clock_mhz": m["clock_mhz"],
        "ii_cycles": m["ii_cycles"],
        "accelerator_fps": round(m["fps"], 1),
        "fit": m.get("fit"),
        "build_s": round(build_s, 1),
        "synth_rc": rc,
        "synth": m.get("synth"),
    }
    if frames:
        rec["uart"] = _uart(out, model, frames)
    return rec


HEADER = (
    "| config | clock MHz | II | accel. frames/s | LUTs | FFs | BRAM | Fmax MHz | timing | P&R s | UART fps |"
)


def markdown(records: list[dict]) -> str:
    lines = [
        HEADER,
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s = r.get("synth") or {}
        if "fmax_mhz" in s:
            u = s["utilisation"]
            lut_cell = "ICESTORM_LC" if "ICESTORM_LC" in u else "TRELLIS_COMB"
            ram_cell = "ICESTORM_RAM" if "ICESTORM_RAM" in u else "DP16KD"
            luts = f"{s['luts']}/{u[lut_cell]['available']}"
            bram = f"{s['brams']}/{u[ram_cell]['available']}"
            fmax, timing = f"{s['fmax_mhz']:g}", "met" if s["meets_timing"] else "FAILED"
        else:
            a = s.get("available", {})
            luts = f"{s.get('luts', '-')}/{a.get('luts', '-')} (synth_xilinx)"
            bram = f"{s.get('bram36', '-')}/{a.get('bram36', '-')} RAMB36"
            fmax, timing = "-", "Vivado not run"
        uart = r.get("uart")
        uart_s = (
            f"{uart['uart_fps']:g} ({uart['baud'] / 1e6:g} Mbaud, == golden: {uart['equal_golden']})"
            if uart
            else "-"
        )
        lines.append(
            f"| {r['name']} | {r['clock_mhz']:g} | {r['ii_cycles']} | {r['accelerator_fps']:g} | {luts} | "
            f"{s.get('ffs', '-')} | {bram} | {fmax} | {timing} | {s.get('seconds', '-')} | {uart_s} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="configurations to run (default all)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for name in args.only or list(CONFIGS):
        print(f"== {name}", flush=True)
        records.append(run(name, out))
        (out / "boards.json").write_text(
            json.dumps(
                {
                    "environment": {
                        "python": sys.version.split()[0],
                        "machine": platform.machine(),
                        "cpus": os.cpu_count(),
                        "load_average": os.getloadavg(),
                    },
                    "records": records,
                },
                indent=1,
            )
        )
    md = markdown(records)
    (out / "boards.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
