"""Every layer's Verilog passes Verilator's lint with the warnings that point at real problems.

Width warnings are left out: Amaranth's Verilog widens operands on purpose. Zero-width vectors
(ASCRANGE), latches, multiple drivers and combinational loops are errors here.
"""

import subprocess

import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.ir.datatypes import BIPOLAR, INT, UINT
from hwgen.layers.fifo import FIFO
from hwgen.layers.label_select import LabelSelect
from hwgen.layers.maxpool import StreamingMaxPool
from hwgen.layers.mvtu import MVTU
from hwgen.layers.sliding_window import SlidingWindow
from hwgen.layers.thresholding import Thresholding
from hwgen.layers.width_converter import WidthConverter

toolchain = pytest.importorskip("hwgen.toolchain")

_W = np.array([[1, -1, 1, 1], [-1, -1, 1, -1]])
DUTS = {
    "mvtu_xnor_folded": lambda: MVTU(_W, idt=BIPOLAR, wdt=BIPOLAR, pe=1, simd=2, thresholds=[[0], [1]]),
    "mvtu_sf1": lambda: MVTU(_W, idt=BIPOLAR, wdt=BIPOLAR, pe=1, simd=4),
    "mvtu_fused": lambda: MVTU(_W, idt=BIPOLAR, wdt=BIPOLAR, pe=2, simd=4, thresholds=[[0], [1]]),
    "mvtu_int": lambda: MVTU(
        _W, idt=UINT(8), wdt=INT(2), pe=2, simd=2, thresholds=[[-9, 0, 9]], out_offset=-1
    ),
    "thresholding": lambda: Thresholding(4, pe=2, idt=INT(6), thresholds=np.arange(12).reshape(4, 3)),
    "fifo_reg": lambda: FIFO(3, 1),
    "fifo_ram": lambda: FIFO(8, 16),
    "width_converter": lambda: WidthConverter(2, 3, 2),
    "maxpool": lambda: StreamingMaxPool(2, 2, 1, k=2, simd=1, dtype=INT(4)),
    "maxpool_stride": lambda: StreamingMaxPool(5, 5, 2, k=3, stride=2, simd=2, dtype=UINT(3)),
    "label_select": lambda: LabelSelect(10, k=3, pe=2, idt=INT(8)),
    "sliding_window": lambda: SlidingWindow(
        5, 5, 2, k=3, pad=1, stride=2, simd=1, dtype=BIPOLAR, pad_value=1
    ),
}


@pytest.mark.verilator
@pytest.mark.parametrize("name", sorted(DUTS))
def test_verilator_lint(name, tmp_path):
    try:
        env = toolchain.verilator_env()
        exe = str(toolchain.find_verilator().executable)
    except toolchain.ToolchainError as exc:
        pytest.skip(str(exc))
    path = tmp_path / f"{name}.v"
    path.write_text(verilog.convert(DUTS[name](), name=name))
    args = [exe, "--lint-only", "-Wno-WIDTH", "-Wno-CASEINCOMPLETE", "-Wwarn-ASCRANGE", str(path)]
    run = subprocess.run(args, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "%Warning" not in run.stderr and "%Error" not in run.stderr, run.stderr
