"""Folding: validation of user foldings (messages pinned), automatic choice for a target II, defaults."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from helpers.models import tiny_cnn, tiny_mlp

from hwgen.dataflow import auto_folding, default_folding, folding_from_dict, load_folding
from hwgen.dataflow.folding import BRAM18_LUTS
from hwgen.errors import HwgenError
from hwgen.layers.registry import spec_of
from hwgen.passes import streamline


@pytest.fixture(scope="module")
def cnn():
    return streamline(tiny_cnn(seed=1, pad=1), topk=2)


@pytest.fixture(scope="module")
def mlp():
    return streamline(tiny_mlp())


def _names(g):
    return [n.name for n in g.hw_nodes()]


def test_full_folding_from_dict(mlp):
    n1, n2, n3 = _names(mlp)  # 16->8, 8->6, 6->3
    f = folding_from_dict(mlp, {n1: {"pe": 2, "simd": 4}, n2: {"PE": 3, "SIMD": 8}, n3: {"pe": 1, "simd": 2}})
    assert [(lf.pe, lf.simd) for lf in f.layers] == [(2, 4), (3, 8), (1, 2)]
    # cycles per frame: (MH/PE)·(MW/SIMD), computed by hand
    assert [lf.cycles for lf in f.layers] == [4 * 4, 2 * 1, 3 * 3]
    assert f.ii_cycles == 16
    assert f.to_dict() == {n1: {"pe": 2, "simd": 4}, n2: {"pe": 3, "simd": 8}, n3: {"pe": 1, "simd": 2}}


def test_partial_folding_fills_in_for_the_given_ii(mlp):
    n1, n2, n3 = _names(mlp)
    f = folding_from_dict(mlp, {n1: {"pe": 1, "simd": 2}, n3: {"pe": 3}})  # n1: 8·8 = 64 cycles
    assert f.ii_cycles == 64
    assert f[n2].cycles <= 64 and f[n3].pe == 3 and f[n3].cycles <= 64


ERRORS = [
    ({"nope": {"pe": 1}}, r"^folding: no layer named 'nope' \(layers: 'MatMul_"),
    ({"L1": {"pe": 3}}, r"^folding: layer 'L1' \(MVTU\): pe=3 must divide MH=8$"),
    ({"L1": {"simd": 5}}, r"^folding: layer 'L1' \(MVTU\): simd=5 must divide MW=16$"),
    ({"L1": {"pe": 0}}, r"^folding: layer 'L1': 'pe' must be a positive integer, not 0$"),
    ({"L1": {"pe": "2"}}, r"^folding: layer 'L1': 'pe' must be a positive integer, not '2'$"),
    ({"L1": {"pe": True}}, r"'pe' must be a positive integer, not True$"),
    ({"L1": {"lanes": 2}}, r"^folding: layer 'L1' \(MVTU\): unknown option 'lanes' \(expected pe, simd\)$"),
    ({"L1": {"pe": 2, "PE": 2}}, r"^folding: layer 'L1': an option is given twice$"),
    ({"L1": 4}, r"^folding: layer 'L1': must be an object like"),
    ([1, 2], r"^folding: must be an object"),
]


@pytest.mark.parametrize("spec, message", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_folding_errors(mlp, spec, message):
    first = _names(mlp)[0]
    spec = json.loads(json.dumps(spec).replace('"L1"', json.dumps(first)))
    message = message.replace("'L1'", re.escape(repr(first)))
    with pytest.raises(HwgenError, match=message):
        folding_from_dict(mlp, spec)


def test_non_matrix_options(cnn):
    swg, _, pool, *_ = cnn.hw_nodes()
    with pytest.raises(HwgenError, match=r"\(SlidingWindow\): unknown option 'pe' \(expected simd\)$"):
        folding_from_dict(cnn, {swg.name: {"pe": 2}})
    with pytest.raises(HwgenError, match=r"\(StreamingMaxPool\): simd=3 must divide channels=4$"):
        folding_from_dict(cnn, {pool.name: {"simd": 3}})
    top = cnn.hw_nodes()[-1]
    with pytest.raises(HwgenError, match=r"\(LabelSelect\): pe=2 must divide labels=3$"):
        folding_from_dict(cnn, {top.name: {"pe": 2}})


def test_load_folding_file(mlp, tmp_path):
    n1 = _names(mlp)[0]
    path = tmp_path / "fold.json"
    path.write_text(json.dumps({n1: {"pe": 8, "simd": 16}}))
    assert load_folding(mlp, path)[n1].cycles == 1
    path.write_text("{oops")
    with pytest.raises(HwgenError, match=r"fold\.json: not valid JSON"):
        load_folding(mlp, path)
    path.write_text(json.dumps({n1: {"pe": 5}}))
    with pytest.raises(HwgenError, match=r"fold\.json: layer .*: pe=5 must divide MH=8$"):
        load_folding(mlp, path)
    with pytest.raises(HwgenError, match=r"missing\.json: cannot read the folding file"):
        load_folding(mlp, tmp_path / "missing.json")


@pytest.mark.parametrize("target", [100, 575, 576, 2000, 20_000])
def test_auto_folding_meets_target_at_least_cost(cnn, target):
    try:
        f = auto_folding(cnn, target)
    except HwgenError as e:
        assert re.match(r"target II of \d+ cycles cannot be met: layer '.*' \(\w+\) needs at least", str(e))
        # the padded 8x8x2 input's sliding window: 64 windows of 3x3 pixels, 2 channels in one beat at best
        assert target < 64 * 9 * 2 // 2
        return
    assert f.ii_cycles <= target
    for node, lf in zip(cnn.hw_nodes(), f.layers, strict=True):
        assert lf.cycles <= target
        # every folding of this layer, built as a component and priced: none meeting the target is cheaper
        lim = spec_of(node).lane_limits()
        best = None
        for pe in _divisors(lim["pe"][0] if "pe" in lim else 1):
            for simd in _divisors(lim["simd"][0] if "simd" in lim else 1):
                lanes = {k: v for k, v in (("pe", pe), ("simd", simd)) if k in lim}
                spec = spec_of(node, **lanes)
                comp = spec.component()
                comp._MustUse__silence = True
                if spec.cycles <= target:
                    r = comp.resources()
                    cost = r["luts"] + BRAM18_LUTS * -(-r["bram_bits"] // 18432)
                    best = cost if best is None else min(best, cost)
        r = lf.resources
        assert r["luts"] + BRAM18_LUTS * -(-r["bram_bits"] // 18432) == best
    assert target >= 576
    if target >= 2000:
        assert f.ii_cycles > target // 8  # folded down, not left fully parallel


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def test_cycle_model_matches_the_layers(cnn):
    """The cycles per frame folding reads from a spec are the built layer's per-vector model times the
    vectors of a frame, (MH/PE)·(MW/SIMD) per vector as computed by hand."""
    for node in cnn.hw_nodes():
        if node.op != "MVTU":
            continue
        mh, mw = node.attrs["weights"].shape
        vectors = int(np.prod(node.attrs["in_shape"])) // mw
        for pe in (1, mh):
            for simd in (1, mw):
                spec = spec_of(node, pe=pe, simd=simd)
                comp = spec.component()
                comp._MustUse__silence = True
                assert spec.cycles == comp.ii_cycles * vectors == (mh // pe) * (mw // simd) * vectors
                assert spec.latency == comp.latency_cycles


def test_target_fps_and_clock(mlp):
    f = auto_folding(mlp, target_fps=1e6, clock_mhz=16)  # 16 cycles per frame
    assert f.ii_cycles <= 16
    with pytest.raises(HwgenError, match=r"--clock-mhz must be positive with --target-fps"):
        auto_folding(mlp, target_fps=10.0)
    with pytest.raises(HwgenError, match=r"--target-fps must be positive, not -1"):
        auto_folding(mlp, target_fps=-1, clock_mhz=100)


def test_default_is_balanced(cnn):
    f = default_folding(cnn, max_lanes=4)
    slowest = f.ii_cycles
    for lf in f.layers:
        assert lf.cycles <= slowest
    mvtus = [lf for lf in f.layers if lf.kind == "MVTU"]
    assert max((lf.pe or 1) * (lf.simd or 1) for lf in mvtus) <= 4
