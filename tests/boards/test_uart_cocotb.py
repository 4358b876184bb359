"""The ULX3S-85F board shell (UART at the board's 2 Mbaud from 100 MHz, 50 cycles per bit) around the
TFC-W1A1 accelerator under Verilator, driven by cocotbext-uart with real example frames packed by
``hwgen.driver.Accelerator``: the outputs decoded by the driver equal the golden model."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import MODEL

from hwgen.driver import Accelerator
from hwgen.golden import execute

pytest.importorskip("cocotbext.uart")
pytestmark = pytest.mark.verilator
HERE = Path(__file__).resolve().parent


def test_ulx3s_shell_with_cocotbext_uart(tmp_path, monkeypatch):
    from amaranth.back import verilog
    from cocotb_tools import runner as cocotb_runner
    from hwgen.boards import get_board
    from hwgen.sim.runner import build_verilator

    from hwgen.cli import main
    from hwgen.flow.shell import SHELL_TOP, ShellCore, shell_params
    from hwgen.flow.synth import shell_divisor
    from hwgen.toolchain import activate_verilator

    out = tmp_path / "tfc"
    assert main(["build", str(MODEL), "-o", str(out), "--board", "ulx3s_85f", "--target-fps", "20000"]) == 0
    acc = Accelerator(out, port=None)
    m = acc.manifest
    baud, divisor = shell_divisor(get_board("ulx3s_85f"), m["clock_mhz"])
    assert (baud, divisor) == (2_000_000, 50)
    shell = tmp_path / f"{SHELL_TOP}.v"
    shell.write_text(verilog.convert(ShellCore(**shell_params(m, divisor)), name=SHELL_TOP))
    model = build_verilator([shell, out / "rtl" / "hwgen_top.v"], SHELL_TOP, tmp_path / "build")

    x = np.load(Path(MODEL).parent / "inputs.npy")[:3]
    data = acc.encode(acc.codes(x))
    spec = tmp_path / "spec.json"
    results = tmp_path / "results.json"
    n_out = len(x) * acc.frame_bytes_out
    spec.write_text(
        json.dumps(
            {"clock_ns": 10, "baud": baud, "input": data.hex(), "n_out": n_out, "results": str(results)}
        )
    )
    monkeypatch.syspath_prepend(str(HERE))  # the runner passes sys.path on to the simulator's Python
    activate_verilator()
    runner = cocotb_runner.Verilator()
    runner.log.setLevel(logging.WARNING)
    try:
        runner.test(
            test_module="uart_bench",
            hdl_toplevel=SHELL_TOP,
            hdl_toplevel_lang="verilog",
            build_dir=model.build_dir,
            test_dir=tmp_path,
            results_xml=str(tmp_path / "results.xml"),
            log_file=tmp_path / "sim.log",
            extra_env={"HWGEN_UART_SPEC": str(spec), "COCOTB_LOG_LEVEL": "WARNING"},
        )
    except SystemExit:
        pass
    assert results.is_file(), (tmp_path / "sim.log").read_text()[-3000:]
    r = json.loads(results.read_text())
    y = acc.decode(bytes.fromhex(r["output"]), len(x))
    ref = np.asarray(execute(acc.hw_graph, x)[1]).reshape(len(x), -1)
    assert np.array_equal(y, ref)
    assert r["extra"] == "" and r["error"] == 0  # nothing more than the outputs, no byte lost
