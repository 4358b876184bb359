"""The whole clocked board top of the iCEBreaker (UART shell + TFC-W1A1 accelerator) under Verilator, with
the C++ UART line model, driven through ``hwgen.driver.Accelerator``: outputs == golden model, a break
after a torn frame resynchronizes, and bad input is refused with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.cli import MODEL, hwgen

from hwgen.driver import Accelerator
from hwgen.errors import HwgenError
from hwgen.golden import execute

INPUTS = Path(MODEL).parent / "inputs.npy"
pytestmark = pytest.mark.verilator


@pytest.fixture(scope="module")
def ice_build(tmp_path_factory):
    from hwgen.cli import main

    out = tmp_path_factory.mktemp("ice") / "tfc"
    assert main(["build", str(MODEL), "-o", str(out), "--board", "icebreaker"]) == 0
    return out


@pytest.fixture(scope="module")
def acc(ice_build):
    with Accelerator(ice_build, port="sim", timeout=60) as a:
        yield a


def test_uart_shell_outputs_equal_the_golden_model(acc):
    x = np.load(INPUTS)[:64]
    y = acc.infer(x)
    ref = np.asarray(execute(acc.hw_graph, x)[1]).reshape(len(x), -1)
    assert y.dtype == np.int64 and y.shape == (64, 10)
    assert np.array_equal(y, ref)
    assert acc.divisor == 4  # 24 MHz / 6 Mbaud, the board's real setting


def test_break_resynchronizes_after_a_torn_frame(acc):
    x = np.load(INPUTS)[64:72]
    ref = np.asarray(execute(acc.hw_graph, x)[1]).reshape(len(x), -1)
    acc.transport.write(bytes(range(37)))  # 37 bytes: part of a frame and part of a beat
    acc.reset()
    assert np.array_equal(acc.infer(x), ref)


def test_codes_of_the_wrong_shape_are_refused(acc):
    with pytest.raises(HwgenError, match=r"codes must be \(frames, 784\)"):
        acc.infer_codes(np.zeros((2, 783), dtype=np.int64))


def test_driver_needs_a_build(tmp_path, capsys):
    with pytest.raises(HwgenError, match="no such build folder"):
        Accelerator(tmp_path / "nothing")
    rc, _, err = hwgen(capsys, "synth", tmp_path / "nothing")
    assert rc == 2 and err.count("\n") == 1
