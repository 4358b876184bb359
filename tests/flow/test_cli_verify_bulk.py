"""``hwgen verify`` through the bulk harness on a TFC-W1A1 build: pauses of 0, 0.3 and 0.9 and any number of
shards give the same outputs, equal to the qonnx executor's; ``--random`` draws every input code, for the
bipolar input of the usual build and the 256 codes of a raw uint8 input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import hwgen
from hwgen.sim.stimuli import random_frames

from hwgen.dataflow.io import host_codes
from hwgen.frontend import load
from hwgen.passes import streamline

pytestmark = pytest.mark.verilator
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "models" / "tfc_w1a1"
MODEL = EXAMPLE / "tfc_w1a1.qonnx.onnx"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    from hwgen.cli import main

    d = tmp_path_factory.mktemp("bulk")
    assert main(["build", str(MODEL), "-o", str(d / "out"), "--target-fps", "30000"]) == 0
    return d / "out"


def test_stalls_and_shards_give_identical_outputs(build, tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.load(EXAMPLE / "inputs.npy")[:48])
    ref = np.load(EXAMPLE / "acc_ref.npy")[:48]
    runs = {(0.0, 1): 2, (0.3, 3): 0, (0.9, 2): 0}  # (stall, jobs): cocotb frames
    for (stall, jobs), cf in runs.items():
        y = tmp_path / f"y{stall}-{jobs}.npy"
        argv = [
            "verify",
            build,
            "--inputs",
            x,
            "-o",
            y,
            "--stall",
            stall,
            "--jobs",
            jobs,
            "--cocotb-frames",
            cf,
        ]
        rc, so, se = hwgen(capsys, *argv)
        assert rc == 0, so + se
        assert "frames 48, mismatching frames 0" in so and f"{min(jobs, 3)} shards" in so
        np.testing.assert_array_equal(np.load(y), ref)
        assert ("cocotb bench (cocotbext-axi, pauses, input monitor): 2 frames, PASS" in so) == bool(cf)
        m = json.loads((build / "manifest.json").read_text())
        depth = {b["name"]: b["depth"] for b in m["buffers"] if b["kind"] == "FIFO"}
        peak = m["verify"]["fifo_peak"]
        assert peak.keys() == depth.keys() and depth  # every FIFO measured, every beat passed through each
        assert all(1 <= peak[n] <= depth[n] for n in depth), (peak, depth)


def test_random_frames_cover_every_code(build, capsys):
    rc, so, se = hwgen(capsys, "verify", build, "--random", 40, "--jobs", 2, "--cocotb-frames", 0)
    assert rc == 0, so + se
    assert "random inputs: 40 frames over 2 input codes -1..1" in so and "PASS" in so


def test_random_raw_uint8_codes_hit_all_256():
    graph = load(MODEL)
    hw = streamline(graph, input_dtype="uint8", input_scale=1 / 255)
    x, codes = random_frames(hw, graph.meta["input_shape"], 3, seed=5)
    assert codes.tolist() == list(range(256))
    got = host_codes(hw, x)
    assert sorted(set(got.ravel().tolist())) == list(range(256))


def test_random_is_seeded_and_refuses_zero(build, capsys):
    graph = load(MODEL)
    hw = streamline(graph)
    a, _ = random_frames(hw, graph.meta["input_shape"], 2, seed=3)
    b, _ = random_frames(hw, graph.meta["input_shape"], 2, seed=3)
    np.testing.assert_array_equal(a, b)
    rc, so, se = hwgen(capsys, "verify", build, "--random", 0)
    assert rc == 2 and "--random must be at least 1" in se and len(se.strip().splitlines()) == 1
