"""Layer specs: one registry, one spelling per kind, models that need no hardware, consistent timing."""

from __future__ import annotations

import gc
import re
import warnings

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable
from helpers.models import tiny_cnn, tiny_mlp

from hwgen.dataflow import Accelerator, auto_folding, default_folding
from hwgen.errors import HwgenError
from hwgen.golden.fast import HW_EXEC
from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT
from hwgen.ir.hw import SCHEMA
from hwgen.layers import (
    MVTU,
    FIFOSpec,
    ForkSpec,
    LabelSelectSpec,
    MVTUSpec,
    SlidingWindowSpec,
    StreamingMaxPoolSpec,
    ThresholdingSpec,
    WidthConverterSpec,
    _common,
    resource_model,
)
from hwgen.layers.mac import mac_kind
from hwgen.layers.registry import SPECS, spec_of
from hwgen.passes import streamline


def test_one_registry_one_spelling():
    """The hardware-IR schema, the golden model and the layer registry know the same ops, each spelled as
    its spec's kind, and the resource model prices every kind under that name."""
    assert set(SPECS) == set(SCHEMA) == set(HW_EXEC) - {"ToCodes", "FromCodes"}
    for op, cls in SPECS.items():
        assert cls.kind == op
    kinds = set(SPECS) | {FIFOSpec.kind, WidthConverterSpec.kind, ForkSpec.kind}
    for family in ("xc7", "ecp5"):
        assert set(resource_model.COEF[family]) == kinds


def _examples():
    rng = np.random.default_rng(0)
    w = rng.choice([-1, 1], size=(12, 18))
    thr = np.sort(rng.integers(-6, 7, size=(12, 3)), axis=1)
    return [
        MVTUSpec.create(w, idt=BIPOLAR, wdt=BIPOLAR, pe=3, simd=6, vectors=4),
        MVTUSpec.create(w, idt=INT(4), wdt=BIPOLAR, pe=4, simd=2, thresholds=thr, out_offset=-1),
        ThresholdingSpec.create(8, pe=2, idt=INT(6), thresholds=thr[:8], pixels=5),
        SlidingWindowSpec.create(5, 6, 4, k=3, stride=2, pad=1, pad_value=-1, simd=2, dtype=INT(3)),
        StreamingMaxPoolSpec.create(6, 6, 4, k=2, simd=2, dtype=UINT(2)),
        StreamingMaxPoolSpec.create(7, 7, 2, k=3, stride=2, simd=1, dtype=BINARY),
        LabelSelectSpec.create(10, k=3, pe=5, idt=INT(9)),
        FIFOSpec(dtype=INT(5), lanes=3, depth=7, frame_elems=27),
        WidthConverterSpec.create(UINT(3), 4, 6, frame_elems=36),
    ]


@pytest.mark.parametrize("spec", _examples(), ids=lambda s: s.kind)
def test_timing_model_is_consistent(spec):
    """Fed one beat per cycle: one output time per output beat, non-decreasing, the first at ``latency``;
    a frame leaves no earlier than it arrives and the layer's rate is at most one beat per cycle."""
    times = spec.output_times(list(range(spec.in_beats)))
    assert len(times) == spec.out_beats
    assert times[0] == spec.latency >= 1
    assert all(b > a for a, b in zip(times, times[1:], strict=False))
    assert spec.cycles >= max(spec.in_beats, spec.out_beats) or spec.kind == "LabelSelect"
    late = spec.output_times([t + 10 for t in range(spec.in_beats)])
    assert [t - 10 for t in late] == times  # shifting the input shifts the output


@pytest.mark.parametrize("spec", _examples(), ids=lambda s: s.kind)
def test_component_reads_its_spec(spec):
    comp = spec.component()
    assert comp.spec is spec
    assert comp.latency_cycles == spec.latency
    assert comp.resources("ecp5") == spec.resources("ecp5")
    lanes_in = comp.signature.members["i"].signature.members["payload"].shape.width
    assert lanes_in == spec.in_lanes * spec.idt.bits
    comp._MustUse__silence = True  # built only to look at it


def test_with_lanes_is_checked():
    spec = MVTUSpec.create(np.ones((8, 6), int), idt=BIPOLAR, wdt=BIPOLAR)
    assert spec.with_lanes(pe=4, simd=3).cycles == 2 * 2
    assert spec.lanes() == {"pe": 1, "simd": 1}  # the original is unchanged (frozen)
    with pytest.raises(HwgenError, match=r"^layer '' \(MVTU\): pe=3 must divide MH=8$"):
        spec.with_lanes(pe=3)
    with pytest.raises(HwgenError, match=r"unknown option 'lanes'"):
        spec.with_lanes(lanes=2)


@pytest.mark.parametrize(
    "idt,wdt,simd,kind",
    [
        (BIPOLAR, BIPOLAR, 8, "xnor"),
        (INT(8), BIPOLAR, 9, "sign_tree"),
        (BIPOLAR, INT(3), 3, "sign_chain"),
        (BINARY, INT(2), 8, "table"),  # a 1-bit unsigned input multiplies through a product table
        (UINT(4), INT(4), 8, "table"),
        (UINT(8), INT(4), 8, "mul"),
    ],
)
def test_resource_model_prices_the_lanes_the_hardware_builds(idt, wdt, simd, kind):
    w = np.clip(np.arange(8 * simd).reshape(8, simd) % 3 - 1, wdt.min, wdt.max)
    if wdt == BIPOLAR:
        w = np.where(w >= 0, 1, -1)
    spec = MVTUSpec.create(w, idt=idt, wdt=wdt, pe=2, simd=simd)
    assert spec.mac == mac_kind(idt, wdt, simd) == kind
    seen = {}
    original = resource_model.estimate

    def record(k, family="xc7", **params):
        seen.update(params)
        return original(k, family, **params)

    resource_model.estimate = record
    try:
        spec.resources()
    finally:
        resource_model.estimate = original
    assert seen["mac"] == kind


def test_folding_and_description_build_no_hardware(monkeypatch):
    """Folding, cycle model, latency and the manifest description read specs; no component is built
    until the accelerator is elaborated."""
    built = []

    def refuse(cls, *args, **kwargs):
        built.append(cls.__name__)
        raise AssertionError(f"{cls.__name__} built to learn a number")

    graph = streamline(tiny_cnn(seed=1, pad=1), topk=2)
    monkeypatch.setattr(_common.LayerComponent, "__new__", refuse)
    for folding in (default_folding(graph), auto_folding(graph, 2000)):
        acc = Accelerator(graph, folding)
        desc = acc.describe()
        assert desc["ii_cycles"] == folding.ii_cycles and desc["latency_cycles"] > 0
    assert built == []
    monkeypatch.undo()
    mlp = streamline(tiny_mlp())
    assert [spec_of(n).kind for n in mlp.hw_nodes()] == ["MVTU"] * 3


def test_rejected_component_leaves_no_unused_elaboratable():
    gc.collect()  # earlier tests' garbage is not this test's business
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=re.escape("'pe'=3 must divide MH=4")):
            MVTU(np.ones((4, 4), int), idt=BIPOLAR, wdt=BIPOLAR, pe=3, simd=1)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, UnusedElaboratable) and w.filename == __file__]
