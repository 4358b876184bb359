"""External-data references are checked wherever ONNX lets a tensor live, not only in initializers."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwgen.errors import HwgenError
from hwgen.frontend.onnx_reader import load


def _external(name: str, location: str) -> TensorProto:
    t = numpy_helper.from_array(np.ones(4, np.float32), name)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    return t


def _model(where: str, location: str) -> onnx.ModelProto:
    """x + c, with the 4-element constant c stored as external data at ``location``, held by an
    initializer, a Constant node, or a Constant node inside the then-branch of an If."""
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    nodes, inits = [], []
    if where == "initializer":
        inits.append(_external("c", location))
    elif where == "constant":
        nodes.append(helper.make_node("Constant", [], ["c"], value=_external("c_value", location)))
    else:
        branch = helper.make_graph(
            [helper.make_node("Constant", [], ["cb"], value=_external("cb_value", location))], "b", [], [y]
        )
        branch.output[0].name = "cb"
        cond = numpy_helper.from_array(np.array(True), "cond")
        inits.append(cond)
        nodes.append(helper.make_node("If", ["cond"], ["c"], then_branch=branch, else_branch=branch))
    nodes.append(helper.make_node("Add", ["x", "c"], ["y"]))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    g = helper.make_graph(nodes, "m", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("where", ["initializer", "constant", "subgraph"])
def test_external_data_outside_the_folder_is_refused_wherever_it_is(tmp_path, where):
    (tmp_path / "secret.bin").write_bytes(bytes(16))
    (tmp_path / "m").mkdir()
    path = tmp_path / "m" / "m.onnx"
    onnx.save(_model(where, "../secret.bin"), str(path))
    with pytest.raises(HwgenError, match=r"m\.onnx: tensor .* outside the model folder"):
        load(path)


@pytest.mark.parametrize("where", ["initializer", "constant", "subgraph"])
def test_missing_external_data_is_named_wherever_it_is(tmp_path, where):
    path = tmp_path / "m.onnx"
    onnx.save(_model(where, "gone.bin"), str(path))
    with pytest.raises(HwgenError, match=r"external data file gone\.bin .* is missing"):
        load(path)
