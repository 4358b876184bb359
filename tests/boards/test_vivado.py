"""Zynq boards: the Vivado project script for Pynq-Z2 is complete (no unfilled placeholder, every file it
names exists), the templates refuse missing and unknown values, the generated PYNQ driver packs and unpacks
exactly as hwgen's streams do, and the DMA wrapper passes Verilator's lint with the accelerator."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import numpy as np
import pytest
from helpers.cli import MODEL, hwgen
from hwgen.boards import get_board
from hwgen.sim.bulk import beats_to_bytes, input_rows

from hwgen.flow.vivado import fill, named_files, placeholders, write_project
from hwgen.ir.datatypes import INT, DataType


@pytest.fixture(scope="module")
def pz2(tmp_path_factory):
    from hwgen.cli import main

    out = tmp_path_factory.mktemp("pz2") / "tfc"
    assert main(["build", str(MODEL), "-o", str(out), "--board", "pynq_z2", "--target-fps", "30000"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    return out, m, write_project(out, m, get_board("pynq_z2"))


def test_pynq_z2_script_is_complete(pz2):
    out, m, proj = pz2
    text = proj["script"].read_text()
    assert "${" not in text and "$$" not in text
    assert "-part xc7z020clg400-1" in text and "tul.com.tw:pynq-z2:part0:1.0" in text
    assert "xilinx.com:ip:processing_system7" in text and "xilinx.com:ip:axi_dma" in text
    assert "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100}" in text
    assert "-reference hwgen_dma" in text and "write_bitstream" in text and "hw_handoff" in text
    files = named_files(proj["script"])
    assert {f.name for f in files} == {"hwgen_top.v", "hwgen_dma.v"}
    assert all(f.is_file() for f in files) and files == proj["files"]
    assert (out / "rtl" / "hwgen_top.v").resolve() in files
    wrapper = (out / "vivado" / "hwgen_dma.v").read_text()
    assert "${" not in wrapper and "module hwgen_dma" in wrapper
    bits = m["input"]["tdata_bits"]
    dma = max(8, 1 << (bits - 1).bit_length())  # the DMA word: the beat rounded up to a power of two
    assert f"input wire [{dma}-1:0] s_axis_tdata" in wrapper and f"s_axis_tdata[{bits}-1:0]" in wrapper


def test_ultrascale_boards_use_their_ps(tmp_path, pz2):
    _, m, _ = pz2
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "hwgen_top.v").write_text("module hwgen_top; endmodule\n")
    proj = write_project(tmp_path, m, get_board("kv260"))
    text = proj["script"].read_text()
    assert "zynq_ultra_ps_e" in text and "S_AXI_HP0_FPD" in text and "pl_clk0" in text
    assert "-part xck26-sfvc784-2LV-c" in text


def test_templates_refuse_missing_and_unknown_values():
    assert placeholders("a $b ${c} $$d") == {"b", "c"}
    with pytest.raises(KeyError):
        fill("axis_dma_wrapper.v", top="t")  # the other placeholders have no value
    with pytest.raises(KeyError, match="no placeholder named"):
        fill("axis_dma_wrapper.v", nonsense=1)


def _driver(out):
    spec = importlib.util.spec_from_file_location("hwgen_pynq_test", out / "vivado" / "hwgen_pynq.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pynq_driver_packs_like_the_streams(pz2):
    out, m, _ = pz2
    drv = _driver(out)
    rng = np.random.default_rng(5)
    codes = rng.choice([-1, 1], size=(3, 784))
    sin = m["input"]
    want = input_rows(codes, DataType.from_name(sin["dtype"]), sin["elements_per_beat"], sin["tdata_bits"])
    assert np.array_equal(drv.pack(codes), want)
    vals = rng.integers(-128, 128, size=(3, 10))
    sout = m["output"]
    assert sout["dtype"] == "INT8"
    raw = beats_to_bytes(INT(8).pack(vals, sout["elements_per_beat"]), drv.DMA_OUT_BYTES)
    assert np.array_equal(drv.unpack(raw, 3), vals)
    with pytest.raises(ValueError, match="bipolar codes must be -1 or"):
        drv.pack(np.zeros((1, 784), dtype=int))


def test_dma_wrapper_lints_with_the_accelerator(pz2):
    from hwgen.toolchain import find_verilator, verilator_env

    _, _, proj = pz2
    r = subprocess.run(
        [
            str(find_verilator().executable),
            "--lint-only",
            "-Wno-fatal",
            "-Wno-style",
            "--top-module",
            "hwgen_dma",
        ]
        + [str(f) for f in proj["files"]],
        env=verilator_env(),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "%Error" not in r.stderr


def test_synth_refuses_generic_builds(tmp_path, capsys):
    out = tmp_path / "o"
    assert hwgen(capsys, "build", MODEL, "-o", out)[0] == 0
    rc, _, err = hwgen(capsys, "synth", out)
    assert rc == 2 and "built without --board" in err and err.count("\n") == 1


def test_dma_wrapper_ends_each_transfer_with_tlast(pz2, tmp_path, monkeypatch):
    """Batches of 3, 1 and 2 real frames through the DMA wrapper and the accelerator (cocotbext-axi as the
    DMA): each S2MM transfer holds exactly its batch's outputs, == golden model."""
    pytest.importorskip("cocotbext.axi")
    import logging
    from pathlib import Path

    from cocotb_tools import runner as cocotb_runner
    from hwgen.sim.runner import build_verilator

    from hwgen.driver import Accelerator
    from hwgen.golden import execute
    from hwgen.toolchain import activate_verilator

    out, m, proj = pz2
    drv = _driver(out)
    acc = Accelerator(out, port=None)
    x = np.load(Path(MODEL).parent / "inputs.npy")[:6]
    codes = acc.codes(x)
    sizes = [3, 1, 2]
    starts = np.cumsum([0, *sizes])
    batches = [drv.pack(codes[a:b]).tobytes().hex() for a, b in zip(starts[:-1], starts[1:], strict=True)]
    spec, results = tmp_path / "spec.json", tmp_path / "results.json"
    spec.write_text(json.dumps({"batches": batches, "results": str(results)}))
    model = build_verilator(proj["files"], "hwgen_dma", tmp_path / "build")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent))
    activate_verilator()
    runner = cocotb_runner.Verilator()
    runner.log.setLevel(logging.WARNING)
    try:
        runner.test(
            test_module="dma_bench",
            hdl_toplevel="hwgen_dma",
            hdl_toplevel_lang="verilog",
            build_dir=model.build_dir,
            test_dir=tmp_path,
            results_xml=str(tmp_path / "results.xml"),
            log_file=tmp_path / "sim.log",
            extra_env={"HWGEN_DMA_SPEC": str(spec), "COCOTB_LOG_LEVEL": "WARNING"},
        )
    except SystemExit:
        pass
    assert results.is_file(), (tmp_path / "sim.log").read_text()[-3000:]
    got = json.loads(results.read_text())["received"]
    ref = np.asarray(execute(acc.hw_graph, x)[1]).reshape(len(x), -1)
    assert len(got) == len(sizes)
    for data, a, b in zip(got, starts[:-1], starts[1:], strict=True):
        assert np.array_equal(drv.unpack(np.frombuffer(bytes.fromhex(data), np.uint8), b - a), ref[a:b])


class _Buffer(np.ndarray):
    """What ``pynq.allocate`` returns, as far as the driver uses it."""

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        pass


def test_accelerator_runs_batches_through_the_pynq_overlay(pz2, monkeypatch):
    """``Accelerator(OUT, port="pynq")`` with a stand-in for the pynq package: the DMA answers a known input
    transfer with the golden outputs, packed as the S2MM words would hold them."""
    import sys
    import types
    from pathlib import Path

    from hwgen.driver import Accelerator
    from hwgen.golden import execute

    out, m, _ = pz2
    x = np.load(Path(MODEL).parent / "inputs.npy")[:5]
    plain = Accelerator(out, port=None)
    ref = np.asarray(execute(plain.hw_graph, x)[1]).reshape(len(x), -1)
    drv = _driver(out)
    sout = m["output"]
    words = beats_to_bytes(INT(8).pack(ref, sout["elements_per_beat"]), drv.DMA_OUT_BYTES)
    answer = {drv.pack(plain.codes(x)).tobytes(): words.tobytes()}
    loaded = []

    class Channel:
        def transfer(self, buf):
            self.buf = buf

        def wait(self):
            pass

    class Dma:
        def __init__(self):
            self.sendchannel, self.recvchannel = Channel(), Channel()

    class Overlay:
        def __init__(self, bitfile):
            loaded.append(bitfile)
            self.dma = Dma()
            orig = self.dma.recvchannel.wait

            def wait():  # the "hardware": outputs for the input transfer
                orig()
                self.dma.recvchannel.buf[:] = np.frombuffer(
                    answer[self.dma.sendchannel.buf.tobytes()], np.uint8
                ).reshape(self.dma.recvchannel.buf.shape)

            self.dma.recvchannel.wait = wait

    fake = types.ModuleType("pynq")
    fake.Overlay = Overlay
    fake.allocate = lambda shape, dtype: np.zeros(shape, dtype).view(_Buffer)
    monkeypatch.setitem(sys.modules, "pynq", fake)
    acc = Accelerator(out, port="pynq")
    assert np.array_equal(acc.infer(x), ref)
    assert loaded == [str(out / "vivado" / "hwgen.bit")]
