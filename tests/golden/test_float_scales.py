"""Float (non-power-of-two) scales: Brevitas' default quantizers (``tests/frontend/data/make_brevitas.py``).

- ``hwgen run --integer`` equals the last layer's accumulators computed here with ``fractions.Fraction`` from
  the model file (the documented exact semantics: rational scales and batch-norm with a float64 ``inv``,
  round half to even decided exactly), independently of hwgen;
- against the qonnx executor (float32): every quantized activation equals the exact one recomputed from the
  executor's own inputs, except where the executor's value lies within a float32 error bound (written here)
  of the boundary; the float outputs lie within the bound and top-1 agrees;
- :func:`hwgen.golden.boundary.execute_exact` reports a perturbed reference as a mismatch, and a perturbation
  inside the bound as a boundary case.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import hwgen

onnx = pytest.importorskip("onnx")
pytest.importorskip("qonnx")
from onnx import numpy_helper  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "frontend" / "data"
MLP = DATA / "mlp_float.qonnx.onnx"


def _inputs(n=12, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8)).astype(np.float32)
    x[: n // 2] = np.round(x[: n // 2] * 16) / 16  # digit-like grey levels
    return x


def _executor(path, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx

        m = ModelWrapper(str(path))
        i = m.graph.input[0].name
        return m, [execute_onnx(m, {i: x[k : k + 1]}, return_full_exec_context=True) for k in range(len(x))]


def _parts(model):
    """The MLP's parameters from the ONNX file: (quant nodes in order, gemms, bn node, initializers)."""
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes = list(g.node)
    return nodes, inits


def _f(v) -> Fraction:
    return Fraction(float(np.float32(v)))


def _round_half_even(z: Fraction) -> int:
    return round(z)


def _exact_mlp(model, ctx):
    """Exact MLP on one frame from the executor's input codes: (activation codes, fc2 accumulators)."""
    nodes, inits = _parts(model)
    quants = [n for n in nodes if n.op_type == "Quant"]
    gemms = [n for n in nodes if n.op_type in ("Gemm", "MatMul")]
    bn = next(n for n in nodes if n.op_type == "BatchNormalization")

    def qparams(n):
        s, zp, bits = (
            float(np.asarray(inits[t] if t in inits else ctx[t]).reshape(-1)[0]) for t in n.input[1:4]
        )
        a = {x.name: x.i for x in n.attribute if x.name in ("signed", "narrow")}
        return s, zp, int(bits), a.get("signed", 1), a.get("narrow", 0)

    by_out = {o: n for n in nodes for o in n.output}

    def weight(gm):
        q = by_out[gm.input[1]]
        s = np.asarray(inits[q.input[1]], np.float64)  # per tensor or per output channel
        codes = np.rint(np.asarray(ctx[gm.input[1]], np.float64) / s).astype(np.int64)
        trans = next((x.i for x in gm.attribute if x.name == "transB"), 0)
        return (codes.T if trans else codes), float(s.reshape(-1)[0])

    # input codes of fc1: the executor's (element-wise float32, deterministic) input quantizer output
    q_in = by_out[gemms[0].input[0]]
    s_in = qparams(q_in)[0]
    x1 = np.rint(np.asarray(ctx[gemms[0].input[0]], np.float64).reshape(-1) / s_in).astype(np.int64)
    w1, s_w1 = weight(gemms[0])
    acc1 = x1 @ w1
    gam, beta, mean, var = (inits[t].astype(np.float32) for t in bn.input[1:5])
    eps = next(x.f for x in bn.attribute if x.name == "epsilon")
    relu_q = next(q for q in quants if q.output[0] == gemms[1].input[0])
    s_r, zp_r, bits_r, signed_r, narrow_r = qparams(relu_q)
    hi = (1 << bits_r) - 1 - narrow_r
    codes = []
    for c, a in enumerate(acc1):
        y = Fraction(int(a)) * _f(s_in) * _f(s_w1)
        inv = Fraction(1.0 / math.sqrt(float(_f(var[c]) + _f(eps))))
        y = (y - _f(mean[c])) * _f(gam[c]) * inv + _f(beta[c])
        z = min(max(y / _f(s_r), Fraction(0)), Fraction(hi))
        codes.append(_round_half_even(z))
    w2, _ = weight(gemms[1])
    return np.array(codes), np.array(codes) @ w2, relu_q.output[0], s_r, relu_q.input[0]


def test_mlp_integer_output_equals_fraction_arithmetic(capsys, tmp_path):
    x = _inputs()
    model, ctxs = _executor(MLP, x)
    want = np.array([_exact_mlp(model.model, ctx)[1] for ctx in ctxs])
    # the exact model fed its own activations equals the one fed the executor's wherever the executor's
    # activations are exact; the 8-bit input quantizer is element-wise float32 in both
    xf, yf = tmp_path / "x.npy", tmp_path / "acc.npy"
    np.save(xf, x)
    rc, out, err = hwgen(capsys, "run", MLP, "--inputs", xf, "-o", yf, "--integer")
    assert rc == 0, err
    assert "float scales (exact arithmetic)" in out
    acc = np.load(yf)
    act_differs = [k for k, ctx in enumerate(ctxs) if not _activations_exact(model.model, ctx)]
    keep = [k for k in range(len(x)) if k not in act_differs]
    assert len(keep) >= len(x) - 2
    assert np.array_equal(acc[keep], want[keep])


def _activations_exact(model, ctx) -> bool:
    codes, _, name, s, _ = _exact_mlp(model, ctx)
    return np.array_equal(np.rint(np.asarray(ctx[name]).reshape(-1) / s), codes)


def test_mlp_executor_differs_only_at_boundaries(capsys, tmp_path):
    """Activations: executor == exact except within the float32 bound written here; outputs within bound."""
    x = _inputs(seed=2)
    model, ctxs = _executor(MLP, x)
    m = model.model
    nodes, inits = _parts(m)
    gemms = [n for n in nodes if n.op_type in ("Gemm", "MatMul")]
    u = 2.0**-24
    cases = 0
    for ctx in ctxs:
        codes, acc2, name, s, pre = _exact_mlp(m, ctx)
        got = np.rint(np.asarray(ctx[name]).reshape(-1) / s).astype(np.int64)
        for c in np.flatnonzero(got != codes):
            # the executor's pre-quantizer value must lie within a generous float32 bound of the boundary
            y32 = float(np.asarray(ctx[pre]).reshape(-1)[c])
            b = (min(got[c], codes[c]) + 0.5) * s
            assert abs(got[c] - codes[c]) == 1 and abs(y32 - b) <= 200 * u * max(abs(y32), s), (c, y32, b)
            cases += 1
    assert cases <= 2
    # float output of the last layer: executor vs exact acc * scales within n*u*sum|w x| (Higham), n = 16+3
    xf, yf = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(xf, x)
    rc, _, err = hwgen(capsys, "run", MLP, "--inputs", xf, "-o", yf)
    assert rc == 0, err
    y = np.load(yf)
    ref = np.concatenate([ctx[m.graph.output[0].name] for ctx in ctxs])
    scale = np.abs(ref).max()
    assert np.all(np.abs(y - ref) <= 19 * u * 16 * scale)
    top = np.sort(ref, axis=1)
    tie = top[:, -1] - top[:, -2] <= 2 * 19 * u * 16 * scale
    assert np.array_equal(y.argmax(1)[~tie], ref.argmax(1)[~tie])
    assert gemms


@pytest.mark.parametrize("name", ["mlp_float", "cnn_float"])
def test_execute_exact_against_qonnx_executor(name):
    """hwgen's exact golden mode compared with the executor's full context: no mismatches, few cases; the
    golden model of the streamlined graph equals the exact golden mode of the float graph."""
    from hwgen.frontend import load
    from hwgen.golden import execute
    from hwgen.golden.boundary import execute_exact
    from hwgen.passes import CLEANUP, run_to_fixed_point, streamline

    path = DATA / f"{name}.qonnx.onnx"
    x = _inputs(8, seed=3)
    model, ctxs = _executor(path, x)
    g = load(path)
    hw = streamline(g)
    assert hw.meta.get("exact_layers")
    y_hw, _ = execute(hw, x)
    c = g.copy()
    run_to_fixed_point(c, CLEANUP)
    assert np.array_equal(execute_exact(c, x).env[c.outputs[0]], y_hw)
    names = set(ctxs[0]) & ({t for n in c.nodes for t in n.outputs} | set(c.inputs))
    ref = {t: np.concatenate([ctx[t] for ctx in ctxs]) for t in names}
    ref[c.outputs[0]] = np.concatenate([ctx[model.graph.output[0].name] for ctx in ctxs])
    run = execute_exact(c, x, reference=ref)
    assert run.failures == [], [f.line() for f in run.failures[:5]]
    assert len(run.cases) <= 3


def test_execute_exact_flags_a_wrong_reference():
    """A reference activation moved by one level far from any boundary is a mismatch; the comparison
    cannot pass a wrong executor."""
    from hwgen.frontend import load
    from hwgen.golden.boundary import execute_exact
    from hwgen.golden.execute import execute_all
    from hwgen.passes import CLEANUP, run_to_fixed_point

    g = load(MLP)
    run_to_fixed_point(g, CLEANUP)
    x = _inputs(8, seed=4)
    ref = execute_all(g, x)
    assert execute_exact(g, x, reference=ref).failures == []
    name = next(iter(execute_exact(g, x).codes))  # the exact layer's quantized activation
    q = next(n for n in g.nodes if n.outputs[0] == name)
    s = np.float32(g.consts[q.inputs[1]])
    bad = dict(ref)
    bad[q.outputs[0]] = ref[q.outputs[0]].copy()
    v = bad[q.outputs[0]]
    v[0, 0] = v[0, 0] + s if v[0, 0] < s * 14 else v[0, 0] - s
    run = execute_exact(g, x, reference=bad)
    first = run.failures[0]
    assert (first.frame, first.tensor, first.channel, first.ok) == (0, q.outputs[0], 0, False)
    assert {f.frame for f in run.failures} == {0}  # and what the wrong activation feeds in frame 0
