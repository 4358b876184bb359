"""Use the ECP5 block RAM's output register: a post-synthesis rewrite of a ``synth_ecp5`` JSON netlist.

Yosys maps a synchronous read port to a DP16KD with ``REGMODE = "NOREG"``: the data then leaves the block
RAM 5.6 ns after the clock edge (nextpnr's default speed grade), which alone caps the clock near 155 MHz.
The DP16KD has an output register (``REGMODE = "OUTREG"``, about 2 ns clock to out) that yosys' memory
mapper does not use. The generator puts a plain register right after every block-RAM read port it wants
fast (no reset, no enable: see :func:`hwgen.layers._thresholds.table`); this pass moves such registers into
the block RAM. A port is rewritten only if every data output bit it drives that is used at all feeds
exactly one flip-flop and nothing else, and every one of those flip-flops is clocked by the port's clock on
the rising edge, always enabled, without set/reset and initialised to zero (what the output register is
after configuration). The behaviour is unchanged: the same register, the same clock, one place further in.
A block RAM in pseudo-dual-port mode (36-bit words, read on port B, the word on both halves ``DOA`` and
``DOB``) is packed whole or not at all, both halves' registers on, as nextpnr configures a ``PDPW16KD``.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["pack_output_registers"]

_CONST = ("0", "1", "x", "z")


def _is_plain_ff(cell: dict, clock) -> bool:
    p, conn = cell["parameters"], cell["connections"]
    always_on = str(p.get("CEMUX", "")).strip() == "1" or conn.get("CE") == ["1"]
    no_reset = conn.get("LSR", ["0"]) == ["0"]
    return (
        always_on
        and no_reset
        and str(p.get("CLKMUX", "CLK")).strip() == "CLK"
        and str(p.get("REGSET", "RESET")).strip() == "RESET"
        and conn.get("CLK") == clock
    )


def pack_output_registers(netlist: dict, top: str) -> int:
    """Move the flip-flops after DP16KD read ports into their output registers, in place; the number of
    ports rewritten."""
    mod = netlist["modules"][top]
    cells = mod["cells"]
    sinks: dict[int, list[tuple[str, str]]] = {}
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) != "input":
                continue
            for b in bits:
                if b not in _CONST:
                    sinks.setdefault(b, []).append((name, port))
    for port in mod.get("ports", {}).values():
        if port["direction"] != "input":
            for b in port["bits"]:
                if b not in _CONST:
                    sinks.setdefault(b, []).append(("", "port"))
    packed = 0
    for cell in [c for c in cells.values() if c["type"] == "DP16KD"]:
        if _width(cell, "A") == 36:  # pseudo dual port: one 36-bit read on port B, out of DOA and DOB
            packed += _pack_port(cells, cell, "B", ("DOA", "DOB"), sinks)
        else:
            for side in "AB":
                packed += _pack_port(cells, cell, side, (f"DO{side}",), sinks)
    return packed


def _width(ram: dict, side: str) -> int:
    value = str(ram["parameters"].get(f"DATA_WIDTH_{side}", "18")).strip()
    return int(value, 2) if len(value) > 8 and set(value) <= {"0", "1"} else int(value)


def _pack_port(cells: dict, ram: dict, side: str, outputs: tuple[str, ...], sinks: dict) -> int:
    """Pack the registers after read port ``side``, whose data leaves on ``outputs`` (``DOA``/``DOB``).

    In pseudo-dual-port mode (36 bits) the one read port is B and its word leaves on both halves; both
    output registers are then switched on together, with ``OCEA`` tied to one: what nextpnr makes of a
    ``PDPW16KD`` with ``REGMODE = "OUTREG"``, the only form in which the vendor configures that mode."""
    p, conn = ram["parameters"], ram["connections"]
    halves = [o[-1] for o in outputs]
    if any(str(p.get(f"REGMODE_{h}", "NOREG")).strip() != "NOREG" for h in halves):
        return 0
    if conn.get(f"CE{side}") == ["0"]:
        return 0
    clock = conn.get(f"CLK{side}")
    if str(p.get(f"CLK{side}MUX", f"CLK{side}")).strip() != f"CLK{side}" or not clock:
        return 0
    if conn.get(f"RST{side}", ["0"]) != ["0"] or conn.get(f"OCE{side}", ["1"]) != ["1"]:
        return 0
    moves = []  # (output port, flip-flop name)
    for port in (f"{o}{k}" for o in outputs for k in range(18)):
        bits = conn.get(port)
        if not bits or bits[0] in _CONST or not sinks.get(bits[0]):
            continue
        users = sinks[bits[0]]
        if len(users) != 1 or users[0][1] != "DI":
            return 0
        ff = cells[users[0][0]]
        if ff["type"] != "TRELLIS_FF" or not _is_plain_ff(ff, clock):
            return 0
        moves.append((port, users[0][0]))
    if not moves:
        return 0
    for port, ff_name in moves:
        ram["connections"][port] = list(cells[ff_name]["connections"]["Q"])
        del cells[ff_name]
    for h in halves:
        p[f"REGMODE_{h}"] = "OUTREG"
    if len(halves) == 2:
        conn["OCEA"] = ["1"]
    return 1


def pack_file(path: str | Path, top: str) -> int:
    """:func:`pack_output_registers` on a JSON netlist file, rewritten in place."""
    path = Path(path)
    netlist = json.loads(path.read_text())
    n = pack_output_registers(netlist, top)
    if n:
        path.write_text(json.dumps(netlist))
    return n
