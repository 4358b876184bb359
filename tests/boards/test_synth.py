"""``hwgen synth`` on the open flow: a real bitstream for the trained TFC-W1A1 on the iCEBreaker, with the
UART shell, the PLL at the board clock and timing met; utilisation and Fmax in the manifest and report."""

from __future__ import annotations

import json

import pytest
from helpers.cli import MODEL, hwgen

pytestmark = pytest.mark.slow


def test_icebreaker_bitstream_meets_timing(tmp_path, capsys):
    out = tmp_path / "tfc"
    assert hwgen(capsys, "build", MODEL, "-o", out, "--board", "icebreaker")[0] == 0
    rc, so, err = hwgen(capsys, "synth", out)
    assert rc == 0, err
    bit = out / "hwgen_board.bin"
    assert bit.is_file() and bit.stat().st_size > 100_000  # an UP5K image is 104 KB
    m = json.loads((out / "manifest.json").read_text())
    s = m["synth"]
    assert s["meets_timing"] and s["fmax_mhz"] >= s["freq_mhz"] == 24.0
    assert s["bitstream"] == "hwgen_board.bin" and s["utilisation"]["ICESTORM_PLL"]["used"] == 1
    assert 0 < s["luts"] <= 5280 and 0 < s["brams"] <= 30
    assert s["luts"] <= m["fit"]["lut_limit"] * 1.15  # the fit estimate was not far off
    assert s["shell"]["baud"] == 6_000_000 and s["shell"]["divisor"] == 4
    _per_layer(m, s)
    assert "Fmax" in (out / "report.md").read_text() and "timing met" in (out / "report.md").read_text()
    assert f"{out}/hwgen_board.bin: iCEBreaker" in so
    # the build folder with its synthesis products is still a build: a rebuild may replace it
    assert hwgen(capsys, "build", MODEL, "-o", out, "--board", "icebreaker")[0] == 0
    rc, _, err = hwgen(capsys, "program", out)
    assert rc == 2 and "no bitstream" in err


def test_pynq_z2_synth_writes_the_project_and_an_estimate(tmp_path, capsys):
    out = tmp_path / "tfc"
    assert hwgen(capsys, "build", MODEL, "-o", out, "--board", "pynq_z2", "--target-fps", 30000)[0] == 0
    rc, so, err = hwgen(capsys, "synth", out)
    assert rc == 0, err
    s = json.loads((out / "manifest.json").read_text())["synth"]
    assert s["script"] == "vivado/hwgen_project.tcl" and (out / s["script"]).is_file()
    assert 200 < s["luts"] < s["available"]["luts"] == 53200 and 0 < s["bram36"] <= 140
    _per_layer(json.loads((out / "manifest.json").read_text()), s)
    assert "synth_xilinx estimate" in so and "vivado -mode batch -source" in so
    assert (out / "vivado" / "hwgen_pynq.py").is_file() and (out / "vivado" / "hwgen_dma.v").is_file()


def _per_layer(m: dict, s: dict) -> None:
    """Synthesized counts for every layer and buffer; every matrix layer has logic."""
    names = [e["name"] for e in m["layers"] + m["buffers"]]
    assert sorted(s["layers"]) == sorted(names)
    assert all(s["layers"][ly["name"]]["luts"] > 0 for ly in m["layers"] if ly["kind"] == "MVTU")
