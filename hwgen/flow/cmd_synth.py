"""``hwgen synth OUT`` (bitstream or Vivado project for the build's board) and ``hwgen program OUT``.

``synth``: iCE40/ECP5 boards go through :func:`hwgen.flow.synth.run_open_flow` (exit 1, with one line saying
achieved against requested, when timing fails; the bitstream is still written); Zynq boards get their
Vivado project script and a ``synth_xilinx`` utilisation estimate (:mod:`hwgen.flow.vivado`).
``program``: openFPGALoader or iceprog when one is on PATH, else one line saying how.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from hwgen.errors import HwgenError

__all__ = ["register"]


def _progress(msg: str) -> None:
    print(f"hwgen synth: {msg}", file=sys.stderr, flush=True)


def _cmd_synth(args) -> int:
    from .manifest import read_manifest
    from .synth import board_of_build, run_open_flow

    out = Path(args.build)
    m = read_manifest(out)
    board = board_of_build(m, out)
    if board.flow == "vivado":
        from .vivado import run_vivado_flow

        r = run_vivado_flow(out, progress=_progress)
        print(
            f"{out}: Vivado project script {r['script']} for {board.title} ({board.part}); synth_xilinx "
            f"estimate {r['luts']} LUTs, {r['ffs']} FFs, {r['bram36']} RAMB36 of {board.luts}/{board.ffs}/"
            f"{board.bram_blocks}; run it with: vivado -mode batch -source {r['script']}"
        )
        return 0
    r = run_open_flow(out, progress=_progress, seed=args.seed)
    u = r["utilisation"]
    lut_cell = "ICESTORM_LC" if board.flow == "ice40" else "TRELLIS_COMB"
    ram_cell = "ICESTORM_RAM" if board.flow == "ice40" else "DP16KD"
    print(
        f"{out}/{r['bitstream']}: {board.title}, {r['luts']}/{u[lut_cell]['available']} LUTs, "
        f"{r['ffs']} FFs, {r['brams']}/{u[ram_cell]['available']} block RAMs, Fmax {r['fmax_mhz']:g} MHz "
        f"(clock {r['freq_mhz']:g} MHz), UART {r['shell']['baud']} baud, {r['seconds']:g} s"
    )
    if not r["meets_timing"]:
        from hwgen.layers.mvtu import MVTUSpec

        deepest = max(MVTUSpec.pipeline_options)
        shallow = any(ly.get("pipeline", 0) < deepest for ly in m["layers"] if ly["kind"] == "MVTU")
        print(
            f"hwgen synth: timing FAILED: achieved {r['fmax_mhz']:g} MHz < requested {r['freq_mhz']:g} MHz; "
            f"rebuild with a lower --clock-mhz{f' or --pipeline {deepest}' if shallow else ''}",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_program(args) -> int:
    from .manifest import read_manifest
    from .synth import board_of_build

    out = Path(args.build)
    m = read_manifest(out, check_model=False)
    board = board_of_build(m, out)
    bit = (m.get("synth") or {}).get("bitstream")
    if board.flow == "vivado":
        raise HwgenError(
            f"{out}: {board.title} is programmed by the PYNQ overlay (copy the .bit and .hwh from the Vivado "
            "project and load it with hwgen.driver.pynq), not by hwgen program"
        )
    if bit is not None and (not isinstance(bit, str) or Path(bit).name != bit or bit.startswith(".")):
        raise HwgenError(f"{out}: the manifest's synth.bitstream {bit!r:.60} is not a file name in the build")
    if not bit or not (out / bit).is_file():
        raise HwgenError(f"{out}: no bitstream; run hwgen synth {out} first")
    path = str((out / bit).resolve())
    if shutil.which(board.programmer[0]):
        cmd = [*board.programmer, path]
    elif board.flow == "ice40" and shutil.which("iceprog"):
        cmd = ["iceprog", path]
    else:
        raise HwgenError(
            f"{board.programmer[0]} is not installed (apt install openfpgaloader); then run: "
            f"{' '.join(board.programmer)} {path}"
        )
    print(" ".join(cmd))
    return subprocess.run(cmd, check=False).returncode


def register(sub) -> None:
    p = sub.add_parser("synth", help="bitstream (iCE40/ECP5) or Vivado project (Zynq) for a --board build")
    p.add_argument("build", help="build folder written by hwgen build --board B")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
    p.set_defaults(func=_cmd_synth)
    q = sub.add_parser("program", help="load the bitstream of hwgen synth onto the board")
    q.add_argument("build", help="build folder with a bitstream")
    q.set_defaults(func=_cmd_program)
