"""Every pass preserves what the graph computes: execute before == after, one application at a time."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.models import MODELS, inputs_for, tiny_mlp

from hwgen.errors import HwgenError
from hwgen.golden import execute
from hwgen.ir.datatypes import BIPOLAR, INT
from hwgen.passes import CLEANUP, LOWERING, run_to_fixed_point, streamline
from hwgen.passes.quantize_input import quantize_input


def _step_all(graph, x):
    """Apply passes one at a time, checking the output after each; returns the passes that fired."""
    ref, _ = execute(graph, x)
    fired = set()
    for group in (CLEANUP, "input", LOWERING):
        progress = True
        while progress:
            progress = False
            for p in (quantize_input,) if group == "input" else group:
                if p(graph):
                    fired.add(p.__name__)
                    progress = group != "input"
                    y, _ = execute(graph, x)
                    assert np.array_equal(y, ref), f"{p.__name__} changed the result"
    return fired


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_pass_preserves_execution(name):
    g = MODELS[name]()
    fired = _step_all(g, inputs_for(g))
    assert {"quantize_input", "lower_activation"} <= fired and fired & {"lower_matmul", "lower_conv"}


def test_every_pass_fires_somewhere():
    fired = set()
    for make in MODELS.values():
        g = make()
        fired |= _step_all(g, inputs_for(g))
    assert fired == {p.__name__ for p in (*CLEANUP, *LOWERING)} | {"quantize_input"}


def test_passes_report_no_change_at_fixed_point():
    g = streamline(tiny_mlp())
    assert not any(p(g) for p in (*CLEANUP, *LOWERING))
    assert not quantize_input(g)


def test_streamline_makes_hardware_chain():
    hw = streamline(MODELS["cnn"]())
    kinds = [n.op for n in hw.hw_nodes()]
    assert kinds == [
        "SlidingWindow",
        "MVTU",
        "StreamingMaxPool",
        "SlidingWindow",
        "MVTU",
        "StreamingMaxPool",
        "MVTU",
    ]
    mv = hw.hw_nodes()[1]
    assert mv.attrs["in_dtype"] == INT(8) and mv.attrs["w_dtype"] == BIPOLAR
    assert mv.attrs["thresholds"].shape == (4, 1) and mv.attrs["mw"] == 18 and mv.attrs["mh"] == 4
    assert list(mv.attrs["negated"]) == [1]
    last = hw.hw_nodes()[-1]
    assert last.attrs["thresholds"] is None


def test_streamline_with_raw_input_thresholds_on_chip():
    g = tiny_mlp()
    x = inputs_for(g, grid=255)[16:]
    ref, _ = execute(g, x)
    hw = streamline(g, input_dtype="UINT8", input_scale=1 / 255)
    assert hw.hw_nodes()[0].op == "Thresholding"
    assert np.array_equal(execute(hw, x)[0], ref)


def test_driver_names_the_pass_that_does_not_converge():
    def restless(graph):
        return True

    with pytest.raises(HwgenError, match="restless"):
        run_to_fixed_point(tiny_mlp(), [restless], max_rounds=5)


def test_topk_label_select():
    from hwgen.golden import ops

    g = tiny_mlp()
    x = inputs_for(g)
    hw = streamline(g, topk=2)
    assert hw.hw_nodes()[-1].op == "LabelSelect"
    y, idx = execute(hw, x)
    _, acc = execute(streamline(g), x)
    assert np.array_equal(y, execute(g, x)[0])
    assert np.array_equal(idx, ops.label_select(acc, 2))
    with pytest.raises(HwgenError, match="topk"):
        streamline(g, topk=4)


def test_zero_padding_maps_to_value_zero():
    hw = streamline(MODELS["cnn_pad"]())
    swg = hw.hw_nodes()[0]
    assert swg.op == "SlidingWindow" and swg.attrs["pad"] == 1 and swg.attrs["pad_value"] == 0
    assert hw.hw_nodes()[1].attrs["pad_rows"] is None


@pytest.mark.parametrize("stride", [1, 2])
def test_bipolar_zero_padding_masks_the_padding_lanes(stride):
    """Bipolar values cannot hold the padding 0: the window pads with +1 and the matrix layer masks those
    lanes. Hand computation: all-ones weights on an all-(+1) input count the in-image taps of each window."""
    from helpers.models import _B

    b = _B((1, 2, 5, 5))
    t = b.op("BipolarQuant", ["x", b.c(1.0)])
    w = b.op("BipolarQuant", [b.c(np.ones((3, 2, 3, 3), np.float32)), b.c(1.0)])
    t = b.op("Conv", [t, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride])
    hw = streamline(b.done(t))
    swg, mv = hw.hw_nodes()
    assert swg.attrs["pad_value"] == 1 and mv.attrs["in_dtype"] == BIPOLAR and mv.attrs["w_dtype"] == BIPOLAR
    inside = np.array([2, 3, 3, 3, 2])[::stride]  # taps of a 3-wide window inside 5 pixels, padding 1
    want = 2 * inside[:, None] * inside[None, :]  # 2 channels
    y, acc = execute(hw, np.ones((1, 2, 5, 5), np.float32))
    assert np.array_equal(acc[0, :, :, 0], want) and np.array_equal(y[0, 0], want)
    x = -np.ones((1, 2, 5, 5), np.float32)
    x[0, :, 0, 0] = 1  # one +1 pixel in the corner
    _, acc = execute(hw, x)
    want2 = -want.copy()
    want2[0, 0] += 2 * 2  # its 2 channels flip from -1 to +1 in every window that holds it
    if stride == 1:
        want2[0, 1] += 4
        want2[1, 0] += 4
        want2[1, 1] += 4
    assert np.array_equal(acc[0, :, :, 0], want2)


def test_relu_is_absorbed_or_joins_the_threshold_chain():
    g = MODELS["relu"]()
    x = inputs_for(g, n=256)
    ref, _ = execute(g, x)
    hw = streamline(g)
    assert not any(n.op == "Relu" for n in hw.nodes[hw.nodes.index(hw.hw_nodes()[0]) :])
    assert [n.op for n in hw.hw_nodes()] == [
        "SlidingWindow",
        "MVTU",
        "StreamingMaxPool",
        "MVTU",
        "MVTU",
    ]
    assert np.array_equal(execute(hw, x)[0], ref)
    from hwgen.golden.execute import execute_all

    conv = hw.hw_nodes()[1]
    assert conv.attrs["out_dtype"] == INT(3) and conv.attrs["thresholds"].shape[1] == 7
    codes = execute_all(hw, x)[conv.outputs[0]]
    assert codes.min() == 0 and codes.max() > 0  # the signed quantizer after Relu never goes negative


def test_average_pooling_refuses_a_scale_that_makes_the_float_sum_inexact():
    """With input values k * 0.3 the model's float32 sum of the rounded values depends on the summation
    order, so no integer sum equals it in every case: one clear error, not a result that may differ."""
    from helpers.models import _B

    b = _B((1, 3, 4, 4))
    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=0.3)
    g = b.done(b.quant(b.op("GlobalAveragePool", [t]), 4, signed=1, narrow=0, scale=0.05))
    with pytest.raises(
        HwgenError, match=r"\(GlobalAveragePool\): average pooling needs a power-of-two input scale"
    ):
        streamline(g)


def _two_branches(op, scales=(0.25, 0.25), pooled=False, **attrs):
    """A 4-bit input, two 1x1 convolutions of it quantized to 4 bits with the given scales (the second
    globally average-pooled if ``pooled``: a broadcasting operand) into ``op``, then a quantizer."""
    from helpers.models import _B

    rng = np.random.default_rng(5)
    b = _B((1, 2, 4, 4))
    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=2.0**-3)
    conv = {"kernel_shape": [1, 1], "pads": [0] * 4, "strides": [1, 1]}
    branches = []
    for s in scales:
        w = b.quant(b.c(rng.normal(size=(2, 2, 1, 1))), 3, scale=0.5)
        branches.append(b.quant(b.op("Conv", [t, w], **conv), 4, signed=1, narrow=0, scale=s))
    if pooled:
        branches[1] = b.quant(
            b.op("GlobalAveragePool", [branches[1]]), 4, signed=1, narrow=0, scale=scales[1]
        )
    return b.done(b.quant(b.op(op, branches, **attrs), 4, signed=1, narrow=0, scale=0.5))


@pytest.mark.parametrize(
    "op,kw,msg",
    [
        ("Add", {"scales": (0.3, 0.3)}, r"'Add_\d+' \(Add\): operand scales must be single powers of two"),
        ("Add", {"pooled": True}, r"\(Add\): operand shapes .* differ \(broadcasting"),
        ("Concat", {"axis": 2}, r"\(Concat\): only a concatenation along the channel axis"),
    ],
)
def test_joins_refuse_what_cannot_be_exact_with_one_line(op, kw, msg):
    with pytest.raises(HwgenError, match=msg):
        streamline(_two_branches(op, **kw))


@pytest.mark.parametrize("op,attrs", [("Add", {}), ("Concat", {"axis": 1})])
def test_joins_of_power_of_two_scales_map_to_hardware(op, attrs):
    """Operand scales 2^-2 and 2^-3: the hardware scales the first operand by 2 (muls (2, 1))."""
    g = _two_branches(op, scales=(0.25, 0.125), **attrs)
    x = inputs_for(g)
    hw = streamline(g)
    (join,) = [n for n in hw.hw_nodes() if n.op in ("AddStreams", "ConcatStreams")]
    assert join.attrs["muls"] == (2, 1)
    assert np.array_equal(execute(hw, x)[0], execute(g, x)[0])


@pytest.mark.parametrize("kernel,pads", [((3, 3), [1, 0, 1, 0]), ((3, 1), [0, 0, 0, 0])])
def test_depthwise_needs_a_square_evenly_padded_kernel(kernel, pads):
    from helpers.models import _B

    b = _B((1, 2, 5, 5))
    t = b.quant(b.op("Sub", ["x", b.c(0.5)]), 4, signed=1, narrow=0, scale=2.0**-3)
    w = b.quant(b.c(np.ones((2, 1, *kernel), np.float32)), 3, scale=0.5)
    t = b.op("Conv", [t, w], kernel_shape=list(kernel), pads=pads, strides=[1, 1], group=2)
    g = b.done(b.quant(t, 4, signed=1, narrow=0, scale=0.5))
    with pytest.raises(HwgenError, match=r"\(Conv\): .*square and evenly padded depthwise kernels"):
        streamline(g)
