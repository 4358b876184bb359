"""Fit first (``hwgen build --board``): the fastest folding that fits, --target-fps that does not fit, a net
that fits at no folding, and a folding file checked against the board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import MODEL, folding_file, hwgen
from hwgen.boards import get_board

from hwgen.dataflow import auto_folding
from hwgen.flow import steps
from hwgen.flow.fit import (
    BRAM_MARGIN,
    LUT_MARGIN,
    FitCheck,
    _interval_candidates,
    check_fit,
    fold_for_board,
)
from hwgen.flow.options import BuildOptions

CNV = Path(__file__).resolve().parents[2] / "examples" / "models" / "cnv_w1a1" / "cnv_w1a1.qonnx.onnx"


@pytest.fixture(scope="module")
def tfc_hw():
    opts = BuildOptions(model=MODEL)
    return steps.streamline(steps.load(MODEL), opts)


def test_default_is_the_fastest_folding_that_fits(tfc_hw):
    ice = get_board("icebreaker")
    opts = BuildOptions(model=MODEL, board="icebreaker", clock_mhz=ice.clock_mhz)
    folding, fit = fold_for_board(tfc_hw, opts, ice)
    assert fit["fits"] and fit["how"] == "fastest folding that fits"
    assert fit["estimated_luts"] <= fit["lut_limit"] == int(ice.luts * LUT_MARGIN)
    assert fit["estimated_bram_bits"] <= fit["bram_bits_limit"] == int(ice.bram_bits * BRAM_MARGIN)
    _no_faster_fits(tfc_hw, folding, ice)
    ulx = get_board("ulx3s_85f")  # the 85F fits a faster one
    big, fit85 = fold_for_board(tfc_hw, BuildOptions(model=MODEL, board="ulx3s_85f"), ulx)
    assert fit85["fits"] and big.ii_cycles < folding.ii_cycles
    _no_faster_fits(tfc_hw, big, ulx)


def _no_faster_fits(hw, folding, board):
    faster = [ii for ii in _interval_candidates(hw) if ii < folding.ii_cycles]
    assert faster, "TFC's fastest folding fits neither board: there must be a faster candidate"
    for ii in faster:
        assert not check_fit(hw, auto_folding(hw, target_ii=ii), board, board.clock_mhz).fits


def test_build_with_board_records_board_pll_and_fit(tmp_path, capsys):
    out = tmp_path / "out"
    rc, so, se = hwgen(capsys, "build", MODEL, "-o", out, "--board", "icebreaker")
    assert rc == 0, se
    m = json.loads((out / "manifest.json").read_text())
    assert m["board"] == "icebreaker" and m["clock_mhz"] == 24.0  # the board's clock by default
    assert m["board_info"]["pll"] == {
        "primitive": "SB_PLL40_PAD",
        "achieved_mhz": 24.0,
        "DIVR": 0,
        "DIVF": 63,
        "DIVQ": 5,
        "FILTER_RANGE": 1,
    }
    assert m["fit"]["fits"] and "icebreaker: fastest folding that fits" in so
    assert "iCEBreaker" in (out / "report.md").read_text()


def test_target_fps_that_does_not_fit_says_the_best_rate(capsys, tmp_path):
    rc, so, err = hwgen(
        capsys, "build", MODEL, "-o", tmp_path / "o", "--board", "icebreaker", "--target-fps", 5e5
    )
    assert rc == 2 and err.count("\n") == 1, err
    assert "does not fit iCEBreaker at 24 MHz: it overflows LUTs by" in err
    assert "the fastest folding that fits gives 93750 fps" in err
    assert not (tmp_path / "o").exists()
    rc, so, err = hwgen(
        capsys, "build", MODEL, "-o", tmp_path / "p", "--board", "icebreaker", "--target-fps", 2e4
    )
    assert rc == 0, err
    m = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert m["fps"] >= 2e4 and m["fit"]["how"] == "cheapest folding for 20000 fps"


def test_net_that_fits_nowhere_is_one_line(capsys, tmp_path):
    rc, _, err = hwgen(capsys, "build", CNV, "-o", tmp_path / "o", "--board", "icebreaker")
    assert rc == 2 and err.count("\n") == 1
    assert "does not fit iCEBreaker at any folding: the smallest overflows LUTs by" in err
    assert "and BRAM bits by" in err


def test_folding_file_is_checked_not_changed(tmp_path):
    ice = get_board("icebreaker")
    opts = BuildOptions(model=MODEL, board="icebreaker", folding_file=folding_file(tmp_path))
    hw = steps.streamline(steps.load(MODEL), opts)
    folding, fit = fold_for_board(hw, opts, ice)
    assert folding.ii_cycles == 3136 and fit["how"] == "folding file" and fit["fits"]


def test_fit_check_says_what_overflows():
    f = FitCheck(luts=120, bram_bits=30, lut_limit=100, bram_limit=20, fps=1.0)
    assert not f.fits and f.overflow() == "LUTs by 20 (120 > 100) and BRAM bits by 10 (30 > 20)"
    assert FitCheck(luts=100, bram_bits=20, lut_limit=100, bram_limit=20, fps=1.0).fits
