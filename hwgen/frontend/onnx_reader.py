"""Read a QONNX / FINN-ONNX file into an :class:`hwgen.ir.graph.Graph` (the only place that imports onnx)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..golden.float_ops import FLOAT_OPS
from ..ir.graph import Graph, Node

__all__ = ["SUPPORTED_OPS", "load"]

SUPPORTED_OPS = sorted(set(FLOAT_OPS) | {"Constant"})
_DOMAINS = ("", "ai.onnx", "qonnx.custom_op.general", "finn.custom_op.general", "finn", "onnx.brevitas")


def _check_external_data(model, path: Path) -> None:
    """Refuse external-data locations outside the model's folder; load the rest."""
    import onnx
    from onnx import external_data_helper as edh

    base = path.resolve().parent
    tensors = list(edh._get_all_tensors(model))
    external = [t for t in tensors if edh.uses_external_data(t)]
    for t in external:
        info = edh.ExternalDataInfo(t)
        loc = (base / info.location).resolve()
        if os.path.isabs(info.location) or not loc.is_relative_to(base):
            raise HwgenError(
                f"{path}: tensor {t.name!r} points to external data outside the model folder "
                f"({info.location}); refusing to read it"
            )
        if not loc.is_file():
            raise HwgenError(f"{path}: external data file {info.location} for tensor {t.name!r} is missing")
    if external:
        try:
            onnx.load_external_data_for_model(model, str(base))
        except Exception as e:  # noqa: BLE001 - any failure here is a broken file
            raise HwgenError(f"{path}: cannot read external data ({type(e).__name__}: {e})") from None


def _attr(a):
    from onnx import helper

    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list | tuple):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    return v


def _fold_pow(node, ins):
    """Evaluate a Pow of constants as onnxruntime does (falls back to NumPy float32)."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:  # pragma: no cover - onnxruntime is optional at run time
        return FLOAT_OPS["Pow"](ins, {})
    a, b = (np.asarray(x, np.float32) for x in ins)
    g = helper.make_graph(
        [helper.make_node("Pow", ["a", "b"], ["y"])],
        "pow",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a, "a"), numpy_helper.from_array(b, "b")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {})[0]


def _read(path: Path):
    import onnx

    if not path.is_file():
        raise HwgenError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types for broken files
        raise HwgenError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    if not model.graph.node or not model.graph.output:
        raise HwgenError(f"{path}: not an ONNX model (no graph nodes or outputs; truncated or wrong file?)")
    _check_external_data(model, path)
    return model


def load(path) -> Graph:
    """Read ``path`` into a float-level :class:`Graph` with inferred shapes (batch 1)."""
    from onnx import numpy_helper

    path = Path(path)
    model = _read(path)
    g = model.graph
    graph = Graph(meta={"source": str(path), "producer": model.producer_name})
    try:
        for init in g.initializer:
            graph.consts[init.name] = numpy_helper.to_array(init)
    except Exception as e:  # noqa: BLE001
        raise HwgenError(f"{path}: broken initializer ({type(e).__name__}: {e})") from None
    real_inputs = [i for i in g.input if i.name not in graph.consts]
    if len(real_inputs) != 1:
        raise HwgenError(f"{path}: expected exactly one non-constant graph input, found {len(real_inputs)}")
    if len(g.output) != 1:
        raise HwgenError(f"{path}: expected exactly one graph output, found {len(g.output)}")
    inp = real_inputs[0]
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
    if not dims:
        raise HwgenError(f"{path}: graph input {inp.name!r} has no shape")
    graph.inputs, graph.outputs = [inp.name], [g.output[0].name]
    graph.meta["input_shape"] = tuple([1, *dims[1:]])
    known = set(graph.consts) | {inp.name}
    for i, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{i}"
        if n.domain not in _DOMAINS or n.op_type not in SUPPORTED_OPS:
            raise HwgenError(
                f"{path}: node {name!r} has unsupported op {n.domain + '.' if n.domain else ''}"
                f"{n.op_type}; supported: {', '.join(SUPPORTED_OPS)}"
            )
        try:
            attrs = {a.name: _attr(a) for a in n.attribute}
        except Exception as e:  # noqa: BLE001 - onnx raises several types for broken attributes
            raise HwgenError(
                f"{path}: node {name!r} ({n.op_type}): broken attribute ({type(e).__name__}: {e})"
            ) from None
        for t in n.input:
            if t and t not in known:
                raise HwgenError(
                    f"{path}: node {name!r} reads {t!r}, which nothing produces (truncated file?)"
                )
        if n.op_type == "Constant" and len(n.attribute) != 1:
            raise HwgenError(f"{path}: node {name!r} (Constant) needs exactly one value attribute")
        constant = n.op_type == "Constant" or (n.op_type == "Pow" and all(t in graph.consts for t in n.input))
        if not constant:
            graph.nodes.append(Node(n.op_type, list(n.input), list(n.output), attrs, name))
        try:
            if n.op_type == "Constant":
                a = n.attribute[0]
                graph.consts[n.output[0]] = (
                    numpy_helper.to_array(a.t) if a.name == "value" else np.asarray(attrs[a.name])
                )
            elif constant:
                graph.consts[n.output[0]] = _fold_pow(n, [graph.consts[t] for t in n.input])
        except Exception as e:  # noqa: BLE001 - onnx / onnxruntime raise several types for bad constants
            raise HwgenError(
                f"{path}: node {name!r} ({n.op_type}) cannot be evaluated ({type(e).__name__}: {e})"
            ) from None
        known.update(n.output)
    if graph.outputs[0] not in known:
        raise HwgenError(f"{path}: graph output {graph.outputs[0]!r} is never computed")
    graph.prune()
    from ..golden.shapes import infer_shapes

    infer_shapes(graph)
    return graph
