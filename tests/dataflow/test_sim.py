"""Whole accelerators in amaranth.sim (tier 2) against the golden model: exact outputs under random input
gaps and output stalls, and at full speed the measured cycles per frame == ``ii_cycles`` and the first
output beat at ``latency_cycles``."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from helpers.models import MODELS, inputs_for, tiny_cnn, tiny_mlp

from hwgen.dataflow import Accelerator, default_folding
from hwgen.dataflow.io import input_beats, output_values
from hwgen.errors import HwgenError
from hwgen.golden import execute
from hwgen.layers.registry import spec_of
from hwgen.layers.testing import run_stream_test
from hwgen.passes import streamline


def _uint8_inputs(graph, n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, *graph.meta["input_shape"][1:])) / 255).astype(np.float32)


NETS = {
    # bipolar input, a 2-bit hidden layer, raw accumulators out
    "mlp": lambda: (streamline(tiny_mlp()), inputs_for(tiny_mlp(), n=6, seed=4)),
    # 8-bit pixels on chip: a Thresholding first layer
    "mlp_uint8": lambda: (
        streamline(tiny_mlp(), input_dtype="uint8", input_scale=1 / 255),
        _uint8_inputs(tiny_mlp(), 6, 4),
    ),
    # zero-padded conv, max-pool, a 2-bit conv, max-pool, FC
    "cnn_pad": lambda: (
        streamline(tiny_cnn(seed=1, pad=1)),
        inputs_for(tiny_cnn(seed=1, pad=1), n=6, seed=4),
    ),
    # DAGs: a residual add behind a fork (4-bit and binary), a channel concatenation of two branches
    "residual": lambda: (streamline(MODELS["residual"]()), inputs_for(MODELS["residual"](), n=6, seed=4)),
    "residual_bipolar": lambda: (
        streamline(MODELS["residual_bipolar"]()),
        inputs_for(MODELS["residual_bipolar"](), n=6, seed=4),
    ),
    "concat": lambda: (streamline(MODELS["concat"]()), inputs_for(MODELS["concat"](), n=6, seed=4)),
    # non-square kernels: 2x3 on 4-bit values, zero-padded 3x2 on binary values (masked padding lanes)
    "nonsquare": lambda: (streamline(MODELS["nonsquare"]()), inputs_for(MODELS["nonsquare"](), n=6, seed=4)),
    # the same with different padding on each border (top/right, then left/bottom)
    "uneven_pad": lambda: (
        streamline(MODELS["uneven_pad"]()),
        inputs_for(MODELS["uneven_pad"](), n=6, seed=4),
    ),
    # the same without padding, class indices out (top-2)
    "cnn_topk": lambda: (streamline(tiny_cnn(seed=3), topk=2), inputs_for(tiny_cnn(seed=3), n=6, seed=4)),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_accelerator_in_amaranth_sim(name):
    graph, x = NETS[name]()
    _, want = execute(graph, x)
    want = want.reshape(len(x), -1)
    assert len({tuple(r) for r in want.tolist()}) > 1, "frames must differ for the test to mean something"
    folding = default_folding(graph, max_lanes=4)
    acc = Accelerator(graph, folding)
    assert acc.ii_cycles == folding.ii_cycles
    beats = input_beats(graph, acc, x)
    assert len(beats) == acc.beats_per_frame_in * len(x)
    n_out = acc.beats_per_frame_out * len(x)

    res = run_stream_test(acc, beats, n_out=n_out, stall_prob=0.3, gap_prob=0.3, seed=1)
    np.testing.assert_array_equal(output_values(acc, res.outputs, len(x)), want)

    acc = Accelerator(graph, folding)  # a component is elaborated once
    res = run_stream_test(acc, beats, n_out=n_out)
    np.testing.assert_array_equal(output_values(acc, res.outputs, len(x)), want)
    assert res.frame_intervals(acc.beats_per_frame_out)[1:] == [acc.ii_cycles] * (len(x) - 2)
    assert res.latency == acc.latency_cycles


@pytest.mark.parametrize("pipeline", [1, 2])
@pytest.mark.parametrize("name", sorted(NETS))
def test_pipelined_accelerator_keeps_exact_outputs_and_cycle_model(name, pipeline):
    """Every matrix layer with extra register stages: exact under gaps and stalls; at full speed the
    measured II and first-output latency equal the model (the II unchanged, the latency larger)."""
    graph, x = NETS[name]()
    want = execute(graph, x)[1].reshape(len(x), -1)
    plain = default_folding(graph, max_lanes=4)
    folding = plain.with_pipeline(pipeline)
    mvtus = [lf for lf in folding.layers if lf.kind == "MVTU"]
    assert mvtus and all(lf.spec.pipeline == pipeline for lf in mvtus)
    acc = Accelerator(graph, folding)
    beats = input_beats(graph, acc, x)
    n_out = acc.beats_per_frame_out * len(x)
    res = run_stream_test(acc, beats, n_out=n_out, stall_prob=0.4, gap_prob=0.3, seed=pipeline)
    np.testing.assert_array_equal(output_values(acc, res.outputs, len(x)), want)
    acc = Accelerator(graph, folding)
    res = run_stream_test(acc, beats, n_out=n_out)
    np.testing.assert_array_equal(output_values(acc, res.outputs, len(x)), want)
    assert acc.ii_cycles == Accelerator(graph, plain).ii_cycles
    assert res.frame_intervals(acc.beats_per_frame_out)[1:] == [acc.ii_cycles] * (len(x) - 2)
    assert res.latency == acc.latency_cycles > Accelerator(graph, plain).latency_cycles
    assert [d["pipeline"] for d in acc.describe()["layers"] if d["kind"] == "MVTU"] == [pipeline] * len(mvtus)
    slices = [b for b in acc.describe()["buffers"] if b["name"].endswith("/slice")]
    assert [(b["name"], b["depth"], b["ram_style"]) for b in slices] == [
        ("input/slice", 2, "registers"),
        ("output/slice", 2, "registers"),
    ]


DAGS = [MODELS["residual"], MODELS["concat"]]


@pytest.mark.parametrize("seed", range(10))
def test_random_foldings_keep_the_cycle_model(seed):
    """Any valid folding: exact outputs, cycles per frame == ii_cycles, first output at latency_cycles
    (the FIFO sizing in front of the MVTUs, behind the forks and in front of the joins is what makes the
    measured II equal the computed one)."""
    rng = random.Random(seed)
    make = [tiny_mlp, lambda: tiny_cnn(seed=1, pad=1), lambda: tiny_cnn(seed=3), *DAGS][seed % 5]
    g0 = make()
    graph, x = streamline(g0), inputs_for(g0, n=5, seed=4)
    want = execute(graph, x)[1].reshape(len(x), -1)
    spec = {
        n.name: {
            opt: rng.choice([d for d in range(1, total + 1) if total % d == 0])
            for opt, (total, _) in spec_of(n).lane_limits().items()
        }
        for n in graph.hw_nodes()
    }
    acc = Accelerator(graph, spec)
    res = run_stream_test(acc, input_beats(graph, acc, x), n_out=acc.beats_per_frame_out * len(x))
    np.testing.assert_array_equal(output_values(acc, res.outputs, len(x)), want)
    assert res.frame_intervals(acc.beats_per_frame_out)[1:] == [acc.ii_cycles] * (len(x) - 2), spec
    assert res.latency == acc.latency_cycles


def test_layers_describe_the_hardware():
    graph = streamline(tiny_cnn(seed=3), topk=2)
    acc = Accelerator(graph, default_folding(graph, max_lanes=4))
    layers = acc.layers
    assert [d["kind"] for d in layers] == [n.op for n in graph.hw_nodes()]
    assert [d["name"] for d in layers] == [n.name for n in graph.hw_nodes()]
    for d, lf in zip(layers, acc.folding.layers, strict=True):
        assert (d["pe"], d["simd"], d["cycles"]) == (lf.pe, lf.simd, lf.cycles)
        assert set(d) >= {"name", "kind", "shape", "pe", "simd", "weight_storage", "cycles", "resources"}
    mv = layers[1]
    assert mv["shape"] == [4, 18] and mv["weight_storage"] in ("rom", "hardwired")
    assert acc.ii_cycles == max(d["cycles"] for d in layers)
    desc = json.loads(json.dumps(acc.describe()))  # JSON-serialisable
    assert desc["output"] == {"dtype": "UINT2", "lanes": 1, "beats_per_frame": 2, "payload_bits": 2}
    inp = desc["input"]
    assert inp["dtype"] == "INT8" and inp["beats_per_frame"] * inp["lanes"] == 2 * 8 * 8  # C·H·W
    assert {b["kind"] for b in desc["buffers"]} <= {"FIFO", "WidthConverter"}
    kinds = [st.kind for st in acc.stages]
    # every MVTU after the first layer with more than one output fold has a FIFO right in front
    for k, st in enumerate(acc.stages):
        if st.kind == "MVTU" and k and st.shape[0] // st.pe > 1:
            assert kinds[k - 1] == "FIFO"
            assert acc.stages[k - 1].depth >= st.shape[1] // st.simd


def test_folding_of_another_graph_is_refused():
    graph = streamline(tiny_mlp())
    other = streamline(tiny_cnn(seed=3))
    with pytest.raises(HwgenError, match=r"^folding has no layer .* of this graph"):
        Accelerator(graph, default_folding(other))


def test_tfc_top3_labels():
    """TFC-W1A1 with --topk 3: the class indices equal the top 3 of the executor's accumulators."""
    from pathlib import Path

    from hwgen.dataflow import auto_folding
    from hwgen.frontend import load
    from hwgen.golden.ops import label_select

    d = Path(__file__).resolve().parents[2] / "examples" / "models" / "tfc_w1a1"
    graph = streamline(load(d / "tfc_w1a1.qonnx.onnx"), topk=3)
    idx = [0, 1, 2, 208]  # 208: an input with quantizer ties
    x, ref = np.load(d / "inputs.npy")[idx], label_select(np.load(d / "acc_ref.npy")[idx], 3)
    acc = Accelerator(graph, auto_folding(graph, 800))
    res = run_stream_test(acc, input_beats(graph, acc, x), n_out=3 * len(x), stall_prob=0.2, gap_prob=0.2)
    np.testing.assert_array_equal(output_values(acc, res.outputs, len(x)), ref)


def test_dag_layers_name_the_streams_they_read():
    """A residual net: the fork's stream reaches the add through a FIFO on each branch; the manifest's
    ``inputs`` name the stages each layer and buffer reads."""
    graph = streamline(MODELS["residual"]())
    acc = Accelerator(graph, default_folding(graph, max_lanes=4))
    stages = {d["instance"]: d for d in acc.layers + acc.buffers}
    (add,) = [d for d in acc.layers if d["kind"] == "AddStreams"]
    (fork,) = [d for d in acc.buffers if d["kind"] == "Fork"]
    assert len(add["inputs"]) == 2 and all(stages[s]["kind"] == "FIFO" for s in add["inputs"])
    readers = [d for d in stages.values() if fork["instance"] in d["inputs"]]
    assert len(readers) == fork["outputs"] == 2 and all(d["kind"] == "FIFO" for d in readers)
    assert acc.layers[0]["inputs"] == ["input"]

    def reaches(src, dst):  # dst reads, through any stages, from src
        return dst == src or any(reaches(src, s) for s in stages[dst]["inputs"] if s != "input")

    assert all(reaches(fork["instance"], s) for s in add["inputs"])
