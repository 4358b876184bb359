"""Raw integer input on chip (``--input-dtype uint8 --input-scale 1/255``) against a plain NumPy model.

The host sends k; the chip must see exactly the user's float ``k / 255`` (float32 division), not
``k * float32(1/255)``, which differs by one ulp for 126 of the 256 codes. Each code k gets a sign
threshold placed exactly at its own grid value, so a one-ulp difference flips the output.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper, save

from hwgen.errors import HwgenError
from hwgen.frontend import load
from hwgen.golden import execute
from hwgen.passes import streamline

QDOM = "qonnx.custom_op.general"
F32 = np.float32


def _model(path, c):
    """x (1, 1) -> Sub(c) -> BipolarQuant -> MatMul(ones (1, 2)) -> y (1, 2)."""
    inits = [
        numpy_helper.from_array(np.array([[c]], F32), "c"),
        numpy_helper.from_array(F32(1.0), "one"),
        numpy_helper.from_array(np.ones((1, 2), F32), "w"),
    ]
    nodes = [
        helper.make_node("Sub", ["x", "c"], ["d"]),
        helper.make_node("BipolarQuant", ["d", "one"], ["a"], domain=QDOM),
        helper.make_node("BipolarQuant", ["w", "one"], ["wq"], domain=QDOM),
        helper.make_node("MatMul", ["a", "wq"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "grid",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOM, 1)]
    )
    save(model, str(path))


@pytest.mark.parametrize("k", [3, 7, 100, 200, 254])  # codes where the two ways of writing k/255 differ
def test_on_chip_input_equals_numpy_at_a_threshold_on_the_grid(tmp_path, k):
    assert F32(k) / F32(255) != F32(k) * F32(1 / 255)
    user = F32(k) / F32(255)  # what `pixels.astype(float32) / 255` gives
    c = F32(k) * F32(1 / 255)  # a threshold at the other way of writing k/255
    _model(tmp_path / "m.onnx", c)
    x = np.array([[F32(k - 1) / F32(255)], [user], [F32(k + 1) / F32(255)]], F32)
    expected = np.where((x - c) >= 0, 1.0, -1.0) @ np.ones((1, 2))  # plain NumPy: sign(x - c) * ones
    hw = streamline(load(tmp_path / "m.onnx"), input_dtype="UINT8", input_scale=1 / 255)
    y, _ = execute(hw, x)
    assert np.array_equal(y, expected.astype(F32))


def test_off_grid_input_is_refused(tmp_path):
    _model(tmp_path / "m.onnx", F32(0.5))
    hw = streamline(load(tmp_path / "m.onnx"), input_dtype="UINT8", input_scale=1 / 255)
    off = F32(3) * F32(1 / 255)  # one ulp away from 3/255: not a value the chip can rebuild
    with pytest.raises(HwgenError, match="not exactly integers k times the declared input scale"):
        execute(hw, np.array([[off]], F32))
