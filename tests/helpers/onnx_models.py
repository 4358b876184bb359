"""Small ONNX files written on the fly (for command-line tests that need a model file, not a graph)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

QDOM = "qonnx.custom_op.general"


def binary_mlp(path, sizes=(16, 8, 4), seed=0) -> Path:
    """x (1, sizes[0]) -> BipolarQuant -> [MatMul(BipolarQuant(W)) -> BipolarQuant]* -> MatMul -> y: binary
    weights and activations, the last layer's integer dot products out."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("BipolarQuant", ["x", "one"], ["a0"], domain=QDOM, name="act0")]
    inits = [numpy_helper.from_array(np.float32(1.0), "one")]
    last = len(sizes) - 2
    for k, (mw, mh) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        inits.append(numpy_helper.from_array(rng.normal(size=(mw, mh)).astype(np.float32), f"w{k}"))
        nodes.append(
            helper.make_node("BipolarQuant", [f"w{k}", "one"], [f"wq{k}"], domain=QDOM, name=f"wq{k}")
        )
        out = "y" if k == last else f"d{k}"
        nodes.append(helper.make_node("MatMul", [f"a{k}", f"wq{k}"], [out], name=f"fc{k}"))
        if k != last:
            nodes.append(
                helper.make_node("BipolarQuant", [out, "one"], [f"a{k + 1}"], domain=QDOM, name=f"act{k + 1}")
            )
    g = helper.make_graph(
        nodes,
        "binary_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(QDOM, 1)])
    onnx.save(m, str(path))
    return Path(path)
