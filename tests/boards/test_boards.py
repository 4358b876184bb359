"""Board definitions: every board module, its PLL settings recomputed from the data-sheet formulas, the UART
rate, and ``hwgen boards`` / ``--board`` on the command line."""

from __future__ import annotations

import pytest
from helpers.cli import hwgen
from hwgen.boards import all_boards, board_names, get_board
from hwgen.boards._board import ecp5_pll, ice40_pll, zynq_fclk

from hwgen.errors import HwgenError

EXPECTED = {
    "icebreaker": ("ice40", "iCE40UP5K"),
    "ulx3s_85f": ("ecp5", "LFE5U-85F"),
    "orangecrab_25f": ("ecp5", "LFE5U-25F"),
    "pynq_z1": ("vivado", "xc7z020clg400-1"),
    "pynq_z2": ("vivado", "xc7z020clg400-1"),
    "ultra96_v2": ("vivado", "xczu3eg-sbva484-1-i"),
    "zcu104": ("vivado", "xczu7ev-ffvc1156-2-e"),
    "kv260": ("vivado", "xck26-sfvc784-2LV-c"),
}


def test_every_issue_board_is_defined():
    assert set(board_names()) == set(EXPECTED)
    for b in all_boards():
        assert (b.flow, b.part) == EXPECTED[b.name]
        assert b.luts > 0 and b.ffs > 0 and b.bram_bits > 0 and b.bram_blocks > 0 and b.clock_mhz > 0
        assert b.family in ("ecp5", "xc7") and b.package and b.speed
        if b.flow == "vivado":
            assert b.ps_ip in ("processing_system7", "zynq_ultra_ps_e") and b.vivado_board_part
        else:
            assert b.platform and b.nextpnr_args and b.uart_bauds


@pytest.mark.parametrize("name", [n for n, (flow, _) in EXPECTED.items() if flow != "vivado"])
def test_open_flow_boards_have_their_platform_resources(name):
    b = get_board(name)
    plat = b.make_platform()
    pins = "".join(c for c in plat.package if c.isdigit())  # Lattice ordering code (MG285) vs CSFBGA285
    assert plat.device == b.part and b.package.endswith(pins)
    assert plat.default_clk_frequency == pytest.approx(b.osc_mhz * 1e6)
    uart = plat.lookup(*b.uart)
    assert {s.name for s in uart.ios} >= {"rx", "tx"}
    plat.lookup(*b.led[:2])


def _ice40_out(p, fin):
    return fin * (p["DIVF"] + 1) / ((p["DIVR"] + 1) * 2 ** p["DIVQ"])


@pytest.mark.parametrize("target", [18, 24, 30, 36, 48, 60, 100])
def test_ice40_pll_meets_the_device_limits(target):
    s = ice40_pll(12.0, target)
    p = s.params
    pfd = 12.0 / (p["DIVR"] + 1)
    vco = pfd * (p["DIVF"] + 1)
    assert 10 <= pfd <= 133 and 533 <= vco <= 1066
    assert s.achieved_mhz == pytest.approx(_ice40_out(p, 12.0))
    assert abs(s.achieved_mhz - target) <= 0.005 * target


@pytest.mark.parametrize(("fin", "target"), [(25, 100), (25, 50), (48, 100), (48, 75), (25, 125)])
def test_ecp5_pll_meets_the_device_limits(fin, target):
    s = ecp5_pll(fin, target)
    p = s.params
    out = fin / p["CLKI_DIV"] * p["CLKFB_DIV"]
    assert s.achieved_mhz == pytest.approx(out)
    assert 400 <= out * p["CLKOP_DIV"] <= 800 and p["CLKOP_CPHASE"] == p["CLKOP_DIV"] - 1
    assert abs(out - target) <= 0.005 * target


def test_pll_errors_and_the_oscillator_itself():
    assert ice40_pll(12.0, 12.0).primitive == "none"
    with pytest.raises(HwgenError, match=r"SB_PLL40_PAD cannot make 5 MHz from 12 MHz"):
        ice40_pll(12.0, 5)
    with pytest.raises(HwgenError, match="EHXPLLL cannot make 1000 MHz"):
        ecp5_pll(25.0, 1000)
    z = zynq_fclk(1000.0, 100)
    assert 1000 / (z.params["DIVISOR0"] * z.params["DIVISOR1"]) == 100 == z.achieved_mhz


def test_uart_rate_is_the_fastest_the_clock_makes():
    ice = get_board("icebreaker")
    assert ice.uart_baud() == 6_000_000  # 24 MHz: 4 cycles per bit; 8 and 12 Mbaud would need fewer
    assert ice.uart_baud(48.0) == 12_000_000
    assert get_board("ulx3s_85f").uart_baud(75.0) == 3_000_000  # 25 cycles per bit
    with pytest.raises(HwgenError, match="no baud rate"):
        ice.uart_baud(0.1)


def test_unknown_board_is_one_line(capsys):
    with pytest.raises(HwgenError, match=r"unknown board 'nope' \(boards: icebreaker"):
        get_board("nope")
    rc, _, err = hwgen(capsys, "build", "x.onnx", "-o", "y", "--board", "nope")
    assert rc == 2 and err.count("\n") == 1 and "unknown board" in err


def test_cli_lists_boards(capsys):
    rc, out, _ = hwgen(capsys, "boards")
    assert rc == 0
    rows = [ln for ln in out.splitlines() if ln.startswith("| ") and not ln.startswith("| board")]
    assert len(rows) == len(EXPECTED)
    ice = next(r for r in rows if r.startswith("| icebreaker "))
    assert "5280" in ice and "24 MHz (SB_PLL40_PAD)" in ice and "ice40" in ice and "6 Mbaud" in ice


def test_program_says_how_without_a_programmer(tmp_path, capsys, monkeypatch):
    from helpers.cli import MODEL

    from hwgen.flow.manifest import update_manifest

    monkeypatch.setenv("PATH", str(tmp_path))  # no openFPGALoader, no iceprog
    out = tmp_path / "tfc"
    assert hwgen(capsys, "build", MODEL, "-o", out, "--board", "icebreaker", "--target-fps", 1000)[0] == 0
    rc, _, err = hwgen(capsys, "program", out)
    assert rc == 2 and "no bitstream; run hwgen synth" in err
    (out / "hwgen_board.bin").write_bytes(b"\0" * 16)
    record = {"flow": "x", "device": "iCE40UP5K", "luts": 1, "ffs": 1, "brams": 0, "fmax_mhz": 30.0}
    update_manifest(
        out,
        synth={
            **record,
            "freq_mhz": 24.0,
            "meets_timing": True,
            "bitstream": "hwgen_board.bin",
            "seconds": 1,
        },
    )
    rc, _, err = hwgen(capsys, "program", out)
    assert rc == 2 and err.count("\n") == 1
    assert f"openFPGALoader -b icebreaker -f {(out / 'hwgen_board.bin').resolve()}" in err


@pytest.mark.parametrize("name", ["icebreaker", "ulx3s_85f", "orangecrab_25f"])
def test_board_top_lays_out_on_the_platform(name, tmp_path):
    """The board top (PLL, reset, UART pins, LED, shell) elaborates on the board's amaranth-boards platform;
    its constraints pin the UART and the PLL has the computed dividers."""
    from hwgen.flow.synth import prepare_board

    b = get_board(name)
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "hwgen_top.v").write_text("module hwgen_top; endmodule\n")
    m = {
        "clock_mhz": b.clock_mhz,
        "rtl": {"top": "hwgen_top", "files": ["rtl/hwgen_top.v"]},
        "input": {"tdata_bits": 16, "beats_per_frame": 49},
        "output": {"tdata_bits": 8},
    }
    shell = prepare_board(tmp_path, m, b, tmp_path / "synth")
    assert shell["baud"] == b.uart_baud() and shell["divisor"] == round(b.clock_mhz * 1e6 / shell["baud"])
    il = (tmp_path / "synth" / "hwgen_board.il").read_text()
    cons = next((tmp_path / "synth").glob("hwgen_board.[pl][cp]f")).read_text()
    assert "uart_0__rx" in cons and "uart_0__tx" in cons
    pll = b.pll()
    if b.flow == "ice40":
        assert "SB_PLL40_PAD" in il and f"parameter \\DIVF {pll.params['DIVF']}" in il
    else:
        assert "EHXPLLL" in il and f"parameter \\CLKFB_DIV {pll.params['CLKFB_DIV']}" in il
    assert (tmp_path / "synth" / "hwgen_top.v").is_file()
