"""The fast golden ops equal the plain reference semantics in hwgen.golden.ops."""

from __future__ import annotations

import numpy as np
import pytest
from test_passes_models import MODELS, inputs_for

from hwgen.golden import execute_all, ops
from hwgen.golden.fast import matvec_fast, threshold_fast, xnor_popcount_dot
from hwgen.passes import streamline


@pytest.mark.parametrize("k", [1, 63, 64, 65, 200])
def test_xnor_popcount_equals_matvec(k):
    rng = np.random.default_rng(k)
    x = rng.choice([-1, 1], size=(7, k))
    w = rng.choice([-1, 1], size=(5, k))
    assert np.array_equal(xnor_popcount_dot(x, w), ops.matvec(x, w))
    assert np.array_equal(matvec_fast(x, w, xnor=False), ops.matvec(x, w))


@pytest.mark.parametrize("t", [1, 3, 16, 17, 255])
def test_threshold_equals_reference(t):
    rng = np.random.default_rng(t)
    acc = rng.integers(-300, 300, size=(9, 6))
    thr = np.sort(rng.integers(-300, 300, size=(6, t)), axis=1)
    assert np.array_equal(threshold_fast(acc, thr, -2), ops.multithreshold(acc, thr, -2))
    shared = thr[:1]
    assert np.array_equal(threshold_fast(acc, shared), ops.multithreshold(acc, shared))


def _reference(node, x):
    a = node.attrs
    if node.op in ("Mvtu", "Thresholding"):
        thr = a.get("thresholds")
        if node.op == "Mvtu":
            return (
                ops.mvtu(x, a["weights"], thr, a["out_offset"])
                if thr is not None
                else ops.matvec(x, a["weights"])
            )
        return ops.multithreshold(x, thr, a["out_offset"])
    if node.op == "SlidingWindow":
        return ops.sliding_window(x, a["k"], a["stride"], a["pad"], a["pad_value"])
    if node.op == "MaxPoolHw":
        return ops.maxpool_nhwc(x, a["k"], a["stride"])
    return x.reshape(x.shape[0], -1)  # Flatten


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hardware_nodes_equal_reference_ops(name):
    g = MODELS[name]()
    hw = streamline(g)
    env = execute_all(hw, inputs_for(g))
    for node in hw.hw_nodes() + [n for n in hw.nodes if n.op == "Flatten"]:
        want = _reference(node, env[node.inputs[0]])
        if node.attrs.get("thresholds") is not None and node.attrs["out_dtype"] == "BIPOLAR":
            want = 2 * want - 1
        assert np.array_equal(env[node.outputs[0]], want), node.name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fused_execution_equals_node_by_node(name):
    from hwgen.golden import execute

    g = MODELS[name]()
    hw = streamline(g)
    x = inputs_for(g)
    env = execute_all(hw, x)
    y, acc = execute(hw, x)
    assert np.array_equal(y, env[hw.outputs[0]])
    assert np.array_equal(acc, env[hw.hw_nodes()[-1].outputs[0]])


def test_conv_xnor_with_padding_equals_reference():
    from hwgen.golden.fast import conv_xnor

    rng = np.random.default_rng(7)
    x = rng.choice([-1, 1], size=(3, 6, 5, 70))
    w = rng.choice([-1, 1], size=(9, 3 * 3 * 70))
    sw = {"k": 3, "stride": 2, "pad": 1, "pad_value": -1}
    want = ops.matvec(ops.sliding_window(x, 3, 2, 1, -1), w)
    assert np.array_equal(conv_xnor(x, sw, w), want)


@pytest.mark.parametrize("rows", [1, 2047, 2049, 4097, 9000])
def test_popcount_chunks_and_threads(rows):
    from hwgen.golden.fast import popcount_mismatch

    rng = np.random.default_rng(rows)
    xp = rng.integers(0, 2**63, size=(rows, 40), dtype=np.uint64)
    wp = rng.integers(0, 2**63, size=(64, 40), dtype=np.uint64)
    want = np.bitwise_count(xp[:, None, :] ^ wp[None]).astype(np.int64).sum(-1)
    assert np.array_equal(popcount_mismatch(xp, wp), want)
    limit = rng.integers(1200, 1360, size=64)
    assert np.array_equal(popcount_mismatch(xp, wp, limit), np.where(want <= limit, 1, -1))


@pytest.mark.parametrize("shape,k,s", [((3, 7, 9, 5), 2, 2), ((2, 8, 8, 3), 3, 3), ((2, 9, 9, 4), 3, 2)])
def test_maxpool_equals_reference(shape, k, s):
    from hwgen.golden.fast import HW_EXEC

    x = np.random.default_rng(k).integers(-5, 5, size=shape)
    assert np.array_equal(HW_EXEC["MaxPoolHw"]([x], {"k": k, "stride": s}), ops.maxpool_nhwc(x, k, s))
