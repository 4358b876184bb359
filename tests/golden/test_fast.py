"""The fast golden ops equal the plain reference semantics in hwgen.golden.ops."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.models import MODELS, inputs_for

from hwgen.golden import execute_all, ops
from hwgen.golden.fast import matvec_fast, threshold_fast, xnor_popcount_dot
from hwgen.ir.datatypes import BIPOLAR, DataType
from hwgen.passes import streamline


@pytest.mark.parametrize("k", [1, 63, 64, 65, 200])
def test_xnor_popcount_equals_matvec(k):
    rng = np.random.default_rng(k)
    x = rng.choice([-1, 1], size=(7, k))
    w = rng.choice([-1, 1], size=(5, k))
    assert np.array_equal(xnor_popcount_dot(x, w), ops.matvec(x, w))
    assert np.array_equal(matvec_fast(x, w, xnor=False), ops.matvec(x, w))


@pytest.mark.parametrize("t", [1, 3, 16, 17, 255])
@pytest.mark.parametrize("narrow", [False, True])
def test_threshold_equals_reference(t, narrow):
    rng = np.random.default_rng(t)
    acc = rng.integers(-300, 300, size=(9, 6))
    thr = np.sort(rng.integers(-300, 300, size=(6, t)), axis=1)
    for a in (acc, acc.astype(np.float32)):
        got = threshold_fast(a, thr, -2, narrow=narrow)
        assert np.array_equal(got, ops.multithreshold(acc, thr, -2))
        assert got.dtype == (np.int8 if narrow and t <= 129 else np.int64)
        shared = thr[:1]
        assert np.array_equal(
            threshold_fast(a, shared, 120, narrow=narrow), ops.multithreshold(acc, shared, 120)
        )
        bip = threshold_fast(a, thr, 0, bipolar=True, narrow=narrow)
        assert np.array_equal(bip, 2 * ops.multithreshold(acc, thr) - 1)


def _reference(node, xs):
    a, x = node.attrs, xs[0]
    if node.op == "AddStreams":  # written out here: the golden ops are what is checked
        return a["muls"][0] * xs[0] + a["muls"][1] * xs[1]
    if node.op == "ConcatStreams":
        return np.concatenate([a["muls"][0] * xs[0], a["muls"][1] * xs[1]], axis=3)
    if node.op in ("MVTU", "Thresholding"):
        thr = a.get("thresholds")
        if node.op == "MVTU":
            return ops.mvtu(x, a["weights"], thr, a["out_offset"], a["pad_rows"], a["pad_cols"])
        return ops.multithreshold(x, thr, a["out_offset"])
    if node.op == "SlidingWindow":
        return ops.sliding_window(x, a["k"], a["stride"], a["pad"], a["pad_value"])
    if node.op == "StreamingMaxPool":
        return ops.maxpool_nhwc(x, a["k"], a["stride"])
    if node.op == "DepthwiseConv":
        thr = a.get("thresholds")
        return ops.depthwise(
            x, a["weights"], a["k"], a["stride"], a["pad"], a["pad_value"], thr, a["out_offset"]
        )
    return x.reshape(x.shape[0], -1)  # Flatten


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hardware_nodes_equal_reference_ops(name):
    g = MODELS[name]()
    hw = streamline(g)
    env = execute_all(hw, inputs_for(g))
    for node in hw.hw_nodes() + [n for n in hw.nodes if n.op == "Flatten"]:
        want = _reference(node, [env[t] for t in node.inputs])
        if node.attrs.get("thresholds") is not None and node.attrs["out_dtype"] == BIPOLAR:
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
    assert np.array_equal(HW_EXEC["StreamingMaxPool"]([x], {"k": k, "stride": s}), ops.maxpool_nhwc(x, k, s))


def _dtype_values(rng, name, size):

    if name == "BIPOLAR":
        return rng.choice(np.array([-1, 1], np.int8), size=size)
    dt = DataType.from_name(name)
    return rng.integers(dt.min, dt.max + 1, size=size).astype(np.int8 if dt.max <= 127 else np.int64)


def _mvtu_attrs(rng, w, in_dt, out):
    wdt = DataType.from_name("BIPOLAR" if np.all(np.abs(w) == 1) else "INT2")
    a = {"weights": w, "in_dtype": DataType.from_name(in_dt), "w_dtype": wdt}
    bound = int(np.abs(w.astype(np.int64)).sum(1).max()) * (1 if in_dt == "BIPOLAR" else 128)
    if out == "acc":
        a.update(thresholds=None, out_dtype=DataType.from_name("INT32"), out_offset=0)
    elif out == "BIPOLAR":
        a.update(
            thresholds=rng.integers(-bound // 4, bound // 4 + 1, size=(w.shape[0], 1)), out_dtype=BIPOLAR
        )
        a["out_offset"] = 0
    else:
        thr = np.sort(rng.integers(-bound // 4, bound // 4 + 1, size=(w.shape[0], 3)), axis=1)
        a.update(thresholds=thr, out_dtype=DataType.from_name("INT2"), out_offset=-2)
    return a


def _want(x, sw, a):
    p = sw.get("pad", 0)
    t, left, b, r = (p,) * 4 if np.isscalar(p) else p  # padded here with np.pad, independently
    x = np.pad(
        np.asarray(x, np.int64), ((0, 0), (t, b), (left, r), (0, 0)), constant_values=sw.get("pad_value", 0)
    )
    win = ops.sliding_window(x, sw["k"], sw["stride"], 0)
    thr = a["thresholds"]
    y = ops.mvtu(win, a["weights"], thr, a["out_offset"])
    return 2 * y - 1 if thr is not None and a["out_dtype"] == BIPOLAR else y


CONV_CASES = [  # (N, H, W, C, k, stride, pad, MH, in dtype, weights, output)
    (2, 7, 6, 5, 3, 1, 0, 7, "BIPOLAR", "BIPOLAR", "acc"),
    (3, 9, 9, 70, 3, 2, 1, 9, "BIPOLAR", "BIPOLAR", "BIPOLAR"),
    (1, 40, 41, 3, 3, 1, 0, 64, "INT8", "BIPOLAR", "BIPOLAR"),
    (2, 8, 8, 16, 2, 2, 0, 5, "INT2", "INT2", "INT2"),
    (2, 6, 6, 8, 1, 1, 0, 1, "INT4", "BIPOLAR", "acc"),
    (5, 5, 5, 128, 3, 1, 0, 32, "BIPOLAR", "BIPOLAR", "INT2"),
    (1, 3, 3, 1800, 3, 1, 0, 6, "BIPOLAR", "BIPOLAR", "BIPOLAR"),  # K = 16200: too large to pack
    # non-square windows, padding that differs per border (top, left, bottom, right)
    (2, 7, 6, 70, (3, 2), 1, (0, 1, 2, 0), 9, "BIPOLAR", "BIPOLAR", "acc"),
    (1, 9, 8, 4, (2, 3), 1, (1, 0, 0, 2), 64, "INT4", "INT2", "acc"),
    (2, 6, 7, 3, (3, 3), 2, (2, 0, 1, 2), 64, "INT8", "BIPOLAR", "BIPOLAR"),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[f"conv{i}" for i in range(len(CONV_CASES))])
@pytest.mark.parametrize("small_blocks", [False, True])
def test_mvtu_after_window_equals_reference(case, small_blocks, monkeypatch):
    """Fused window + matrix (float32 GEMM, packed or not, any block split, two threads) == plain ops."""
    from hwgen.golden import gemm
    from hwgen.golden.fast import mvtu_after_window

    n, h, w_, c, k, s, p, mh, in_dt, w_dt, out = case
    if small_blocks:  # many blocks, lines split inside a frame, the two-thread driver
        monkeypatch.setattr(gemm, "BLOCK_ROWS", 7)
        monkeypatch.setattr(gemm, "BLOCK_ELEMS", 0)
        monkeypatch.setattr(gemm, "TWO_THREADS", True)
    rng = np.random.default_rng(hash(case) % 2**32)
    x = _dtype_values(rng, in_dt, (n, h, w_, c))
    kh, kw = (k, k) if np.isscalar(k) else k
    w = _dtype_values(rng, w_dt, (mh, kh * kw * c))
    a = _mvtu_attrs(rng, w, in_dt, out)
    sw = {"k": k, "stride": s, "pad": p, "pad_value": 0 if in_dt != "BIPOLAR" else 1}
    got = mvtu_after_window(x, sw, a)
    assert np.array_equal(got, _want(x, sw, a))


@pytest.mark.parametrize("rows", [1, 63, 64, 1000, 2050])
@pytest.mark.parametrize(
    "in_dt,w_dt,out",
    [
        ("BIPOLAR", "BIPOLAR", "BIPOLAR"),
        ("INT2", "INT2", "INT2"),
        ("INT8", "BIPOLAR", "acc"),
        ("BIPOLAR", "BIPOLAR", "acc"),
    ],
)
def test_mvtu_rows_equal_reference(rows, in_dt, w_dt, out):
    """The MVTU node (GEMM in row blocks from 64 rows, XNOR / single product below) == plain ops."""
    from hwgen.golden.fast import HW_EXEC

    rng = np.random.default_rng(rows)
    x = _dtype_values(rng, in_dt, (rows, 300))
    a = _mvtu_attrs(rng, _dtype_values(rng, w_dt, (11, 300)), in_dt, out)
    want = ops.mvtu(x, a["weights"], a["thresholds"], a["out_offset"])
    if out == "BIPOLAR":
        want = 2 * want - 1
    assert np.array_equal(HW_EXEC["MVTU"]([x], a), want)


@pytest.mark.parametrize("k,mh,packed", [(2047, 4, True), (2048, 4, False), (576, 1, False), (576, 9, True)])
def test_gemm_plan_packs_only_when_exact(k, mh, packed):
    """Two channels share a float32 column only while lo + B*hi stays below 2**24; results stay exact."""
    from hwgen.golden.gemm import gemm_plan, rows_gemm

    rng = np.random.default_rng(k)
    w = rng.choice([-1, 1], size=(mh, k))
    wt, half, big = gemm_plan(w, 1)
    assert bool(big) == packed and wt.shape == (k, half)
    x = np.ones((3, k), np.int8)
    x[1] = -1
    x[2] = np.where(w[0] > 0, 1, -1)  # extreme sums: +-K on some channel
    assert np.array_equal(rows_gemm(x, w, 1, lambda acc: acc.astype(np.int64)), ops.matvec(x, w))
    assert gemm_plan(w, 1 << 24) is None


def test_gemm_thread_error_is_raised(monkeypatch):
    from hwgen.golden import gemm

    monkeypatch.setattr(gemm, "BLOCK_ROWS", 2)
    monkeypatch.setattr(gemm, "BLOCK_ELEMS", 0)
    monkeypatch.setattr(gemm, "TWO_THREADS", True)
    calls = []

    def post(acc):
        calls.append(1)
        if len(calls) == 4:
            raise ValueError("boom")
        return acc

    with pytest.raises(ValueError, match="boom"):
        gemm.rows_gemm(np.ones((40, 8)), np.ones((3, 8)), 1, post)


def test_blas_thread_count_restored_after_nested_and_threaded_use():
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    from hwgen.golden import gemm

    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can control")
    seen = []

    def inner():
        with gemm.blas_one_thread():
            seen.append(blas_threads())

    with threadpool_limits(limits=2, user_api="blas"):  # a known count, not 1
        with gemm.blas_one_thread():
            ts = [threading.Thread(target=inner) for _ in range(3)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert all(n == 1 for counts in seen for n in counts) and len(seen) == 3
        assert all(n == 2 for n in blas_threads())  # restored on the last exit


@pytest.mark.parametrize("mh", [1, 2, 7, 64])
@pytest.mark.parametrize("bipolar,offset", [(True, 0), (False, 0), (False, -1), (False, 300)])
def test_one_threshold_on_packed_accumulators(mh, bipolar, offset):
    """Single-threshold outputs straight from packed GEMM columns == plain ops, thresholds of any size."""
    from hwgen.golden.gemm import OneThreshold, rows_gemm

    rng = np.random.default_rng(mh)
    k = 300
    x = rng.choice([-1, 1], size=(100, k)).astype(np.int8)
    w = rng.choice([-1, 1], size=(mh, k))
    x[0] = w[0]  # a dot product at +K
    thr = rng.integers(-40, 41, size=(mh, 1))
    thr[0, 0] = k  # hit exactly
    if mh > 2:
        thr[1, 0], thr[2, 0] = 1 << 40, -(1 << 40)  # never / always
    for t in (thr, thr[:1]):
        want = ops.multithreshold(ops.matvec(x, w), t, offset)
        want = 2 * want - 1 if bipolar else want
        got = rows_gemm(x, w, 1, OneThreshold(t[:, 0], bipolar, offset))
        assert np.array_equal(got, want)


@pytest.mark.parametrize(
    "dtype,vals,ok",
    [
        ("INT2", [-2, 1], True),
        ("INT2", [-3, 0], False),
        ("INT2", [0, 2], False),
        ("UINT4", [0, 15], True),
        ("UINT4", [-1, 3], False),
        ("BIPOLAR", [-1, 1], True),
        ("BIPOLAR", [0, 1], False),
    ],
)
def test_to_codes_refuses_values_outside_the_input_datatype(dtype, vals, ok):
    from hwgen.errors import HwgenError
    from hwgen.golden.fast import to_codes

    a = {
        "act": {"op": "Grid", "consts": [np.float32(1.0), "Mul", np.float32(1.0)], "attrs": {}},
        "dtype": DataType.from_name(dtype),
    }
    x = np.array([vals], np.float32)
    if ok:
        assert np.array_equal(to_codes([x], a), [vals])
    else:
        with pytest.raises(HwgenError, match="outside"):
            to_codes([x], a)
