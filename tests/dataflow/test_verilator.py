"""Whole accelerators as Verilog under Verilator, driven by the cocotb AXI-Stream bench (tier 3).

Per model: the accelerator for a chosen target II, frames including inputs that hit quantizer ties,
one run with random pauses on both ends and one at full speed. Every output is compared exactly with
the reference integer outputs (the qonnx executor's ``acc_ref.npy`` for the example models, the golden
model for the synthetic one), the sink ends empty, and at full speed the measured steady-state cycles
per frame equal the accelerator's ``ii_cycles`` and the first output beat comes ``latency_cycles``
after the first input beat.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.models import inputs_for, tiny_cnn
from hwgen.sim.runner import BenchRun, build_verilator, run_bench, session_cache_dir

from hwgen.dataflow import Accelerator, auto_folding
from hwgen.dataflow.io import input_beats, output_values, pack_frames
from hwgen.flow.verilog import export_stream_verilog
from hwgen.frontend import load
from hwgen.golden import execute
from hwgen.passes import streamline

pytestmark = pytest.mark.verilator
MODELS = Path(__file__).resolve().parents[2] / "examples" / "models"


@pytest.fixture(scope="session")
def vl_cache(tmp_path_factory):
    return session_cache_dir(tmp_path_factory)


def _example(name: str, n_plain: int, n_ties: int):
    """Streamlined example model, frames (plain then tie inputs) and the executor's accumulators."""
    d = MODELS / name
    info = json.loads((d / "info.json").read_text())
    idx = list(range(n_plain)) + [int(i) for i in info["tie_inputs"][:n_ties]]
    x = np.load(d / "inputs.npy")[idx]
    return streamline(load(d / f"{name}.qonnx.onnx")), x, np.load(d / "acc_ref.npy")[idx]


def _tiny_cnn():
    g0 = tiny_cnn(seed=1, pad=1)
    graph, x = streamline(g0), inputs_for(g0, n=12, seed=4)
    return graph, x, execute(graph, x)[1].reshape(len(x), -1)


CASES = {
    # name: (graph, frames, reference) maker, target II in cycles
    "tfc_w1a1": (lambda: _example("tfc_w1a1", 12, 12), 1568),
    "tfc_w2a2": (lambda: _example("tfc_w2a2", 8, 8), 1568),
    "tiny_cnn": (_tiny_cnn, 1200),
}
MARKS = {"tfc_w2a2": pytest.mark.slow}


@pytest.mark.parametrize("name", [pytest.param(n, marks=MARKS.get(n, ())) for n in CASES])
def test_accelerator_under_verilator(name, tmp_path, vl_cache):
    make, target = CASES[name]
    graph, x, ref = make()
    np.testing.assert_array_equal(execute(graph, x)[1].reshape(len(x), -1), ref)  # golden == reference
    acc = Accelerator(graph, auto_folding(graph, target))
    ii, latency = acc.ii_cycles, acc.latency_cycles
    assert ii <= target
    beats = input_beats(graph, acc, x)
    bpf_in, bpf_out = acc.beats_per_frame_in, acc.beats_per_frame_out
    expected = pack_frames(ref, acc.out_dtype, acc.out_lanes)

    v = export_stream_verilog(acc, tmp_path / "rtl" / f"{name}.v", name, bpf_out)
    model = build_verilator(v["path"], name, vl_cache)
    common = {
        "beats_per_frame_in": bpf_in,
        "beats_per_frame_out": bpf_out,
        "idle_timeout": 8 * (ii + latency) + 1000,
    }
    n_paused = len(x)
    runs = [
        BenchRun(
            beats[: n_paused * bpf_in],
            expected[: n_paused * bpf_out],
            in_pause=0.3,
            out_pause=0.3,
            seed=3,
            name="pauses",
            **common,
        ),
        BenchRun(beats, expected, name="full_speed", **common),
    ]
    res = run_bench(model, runs, tmp_path / "run")
    for run in res.runs:
        assert run.passed, (run.name, run.first_mismatches, run.timeout, res.log_tail())
        assert not run.timeout and run.sink_empty and run.framing_ok and run.monitor_ok
        n = len(run.received) // bpf_out
        assert n == (n_paused if run.name == "pauses" else len(x))
        got = output_values(acc, run.received, n)
        np.testing.assert_array_equal(got, ref[:n], err_msg=f"{name} {run.name}")
    full = res["full_speed"]
    steady = full.intervals[len(full.intervals) // 2 :]
    assert set(steady) == {ii}, f"cycles between frames {full.intervals}, ii_cycles {ii}"
    assert full.cycles_per_frame == ii
    assert full.first_out_latency == latency
    print(f"{name}: ii {ii}, latency {latency}, build {model.build_seconds:.1f} s, sim {res.seconds:.1f} s")


@pytest.mark.slow
def test_real_cnv_in_the_bulk_harness(tmp_path, vl_cache):
    """The real CNV-W1A1 (6 conv, 2 max-pool, 3 FC layers) folded to 115,200 cycles per frame, built from the
    command line, one plain and one tie input through the compiled C++ harness of ``hwgen verify``: with 30 %
    pauses on both ends, then at full speed. Outputs == the executor's accumulators; at full speed the
    measured cycles per frame == ``ii_cycles`` and the first output comes ``latency_cycles`` after the
    first input. (The cocotb bench evaluates this design far too slowly for the test suite.)"""
    from hwgen.cli import main
    from hwgen.flow.cmd_verify import verify

    _, x, ref = _example("cnv_w1a1", 1, 1)
    out = tmp_path / "cnv"
    model = MODELS / "cnv_w1a1" / "cnv_w1a1.qonnx.onnx"
    assert main(["build", str(model), "-o", str(out), "--target-fps", "834", "--pipeline", "0"]) == 0
    frames = tmp_path / "x.npy"
    np.save(frames, x)
    paused = verify(out, frames, 0.3, cocotb_frames=0, jobs=1, cache_dir=vl_cache)
    assert paused.passed and np.array_equal(paused.hardware, ref.reshape(len(x), -1))
    full = verify(out, frames, 0.0, cocotb_frames=0, jobs=1, cache_dir=vl_cache)
    m = full.manifest
    assert full.passed and np.array_equal(full.hardware, ref.reshape(len(x), -1))
    assert m["ii_cycles"] == 115_200
    assert full.bulk.cycles_per_frame == m["ii_cycles"]
    assert full.bulk.first_out_latency == m["latency_cycles"]


#: Example: (kinds of the layers it must have, with their counts).
BRANCHED = {
    "mobilenet_w4a4": {"DepthwiseConv": 4},  # three depthwise convolutions and the pooling
    "resnet_w1a1": {"AddStreams": 1},  # a binarized residual block
    "branchnet_w4a4": {
        "AddStreams": 1,
        "ConcatStreams": 1,
    },  # a 4-bit residual block, two branches concatenated
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BRANCHED))
def test_trained_example_in_the_bulk_harness(name, tmp_path, vl_cache):
    """A trained example beyond the BNN-PYNQ chain (depthwise-separable, residual, concatenation) built from
    the command line: every saved input with 30 % pauses, then at full speed; outputs == the executor's
    accumulators, measured cycles per frame == ``ii_cycles``, first output at ``latency_cycles``."""
    from hwgen.cli import main
    from hwgen.flow.cmd_verify import verify

    d = MODELS / name
    out = tmp_path / name
    assert main(["build", str(d / f"{name}.qonnx.onnx"), "-o", str(out)]) == 0
    ref = np.load(d / "acc_ref.npy")
    paused = verify(out, d / "inputs.npy", 0.3, cocotb_frames=0, jobs=2, cache_dir=vl_cache)
    assert paused.passed and np.array_equal(paused.hardware, ref)
    frames = tmp_path / "x.npy"
    np.save(frames, np.load(d / "inputs.npy")[:32])
    full = verify(out, frames, 0.0, cocotb_frames=0, jobs=1, cache_dir=vl_cache)
    assert full.passed and np.array_equal(full.hardware, ref[:32])
    assert full.bulk.cycles_per_frame == full.manifest["ii_cycles"]
    assert full.bulk.first_out_latency == full.manifest["latency_cycles"]
    kinds = [ly["kind"] for ly in full.manifest["layers"]]
    assert {k: kinds.count(k) for k in BRANCHED[name]} == BRANCHED[name]
