"""Read a QONNX / FINN-ONNX file into an :class:`hwgen.ir.graph.Graph` (the only place that imports onnx)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..golden.float_ops import FLOAT_OPS
from ..ir.graph import Graph, Node
from .constants import check_channels, check_constants
from .validate import check_model

__all__ = ["SUPPORTED_OPS", "load"]

SUPPORTED_OPS = sorted(set(FLOAT_OPS) | {"Constant"})


def _tensors(graph):
    """Every tensor stored in ``graph`` (a GraphProto or FunctionProto): initializers, and the tensors
    of node attributes, subgraphs (If / Loop bodies) included — where external data may be referenced."""
    yield from getattr(graph, "initializer", ())
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors
            for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                yield from _tensors(g)


def _check_external_data(model, path: Path) -> None:
    """Refuse external-data locations outside the model's folder; load the rest."""
    import onnx
    from onnx import external_data_helper as edh

    base = path.resolve().parent
    tensors = [*_tensors(model.graph), *(t for f in model.functions for t in _tensors(f))]
    external = [t for t in tensors if edh.uses_external_data(t)]
    for t in external:
        try:
            info = edh.ExternalDataInfo(t)
            if "\0" in info.location:
                raise ValueError("a NUL character in its location")
        except ValueError as e:
            raise HwgenError(f"{path}: tensor {t.name!r}: broken external data reference ({e})") from None
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
            for t in external:
                info = edh.ExternalDataInfo(t)
                size = (base / info.location).stat().st_size
                if info.offset is not None and not 0 <= int(info.offset) <= size:
                    raise ValueError(f"offset {info.offset} outside the {size}-byte file")
                if info.length is not None and not 0 <= int(info.length) <= size - int(info.offset or 0):
                    raise ValueError(f"length {info.length} beyond the end of the {size}-byte file")
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
    _check_text(model, path)
    _check_external_data(model, path)
    return model


def _check_text(model, path: Path) -> None:
    """Every name, op type and domain is UTF-8 text (protobuf gives bytes for a string field that is not)."""
    g = model.graph
    fields = [o.domain for o in model.opset_import]
    fields += [t.name for t in g.initializer] + [v.name for v in (*g.input, *g.output, *g.value_info)]
    for n in g.node:
        fields += [n.name, n.op_type, n.domain, *n.input, *n.output, *(a.name for a in n.attribute)]
        fields += [a.s for a in n.attribute if a.type == a.STRING]
    for t in g.initializer:
        fields += [e.key for e in t.external_data] + [e.value for e in t.external_data]
    for f in fields:
        if isinstance(f, bytes) and f and not _is_utf8(f) or isinstance(f, str) and "\0" in f:
            raise HwgenError(f"{path}: a name, op, domain or text attribute is not UTF-8 text: {f[:40]!r}")
        if not isinstance(f, str | bytes):
            raise HwgenError(f"{path}: a name, op or domain is not text")
    for n in g.node:
        if not all(isinstance(x, str) for x in (n.name, n.op_type, n.domain, *n.input, *n.output)):
            raise HwgenError(f"{path}: a node's name, op type, domain or tensor name is not UTF-8 text")


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _unique_names(nodes) -> list[str]:
    """One name per node: its own, or (empty or already taken) ``<name or op>_<k>`` with the smallest free k,
    so that folding files, the manifest and error messages address exactly one layer."""
    taken = {n.name for n in nodes if n.name}
    seen: set[str] = set()
    names = []
    for i, n in enumerate(nodes):
        name = n.name
        if not name or name in seen:
            base, k = name or n.op_type, 1 if name else i
            while f"{base}_{k}" in taken or f"{base}_{k}" in seen:
                k += 1
            name = f"{base}_{k}"
        seen.add(name)
        names.append(name)
    return names


def load(path) -> Graph:
    """Read ``path`` into a float-level :class:`Graph` with inferred shapes (batch 1).

    The model is validated first (:func:`hwgen.frontend.validate.check_model`); nodes get unique names.
    """
    path = Path(path)
    model = _read(path)
    try:
        return _load(model, path)
    except UnicodeDecodeError as e:  # protobuf checks UTF-8 of a text field only when it is read
        raise HwgenError(f"{path}: a text field of the model is not UTF-8 ({e.reason})") from None


def _load(model, path: Path) -> Graph:
    from onnx import numpy_helper

    dims = check_model(model, path, SUPPORTED_OPS)
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
    graph.inputs, graph.outputs = [inp.name], [g.output[0].name]
    graph.meta["input_shape"] = tuple([1, *dims[1:]])
    known = set(graph.consts) | {inp.name}
    for n, name in zip(g.node, _unique_names(g.node), strict=True):
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
                    numpy_helper.to_array(a.t) if a.name == "value" else np.asarray(attrs[a.name], np.float32)
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
    check_constants(graph, path)
    from ..golden.shapes import infer_shapes

    infer_shapes(graph)
    check_channels(graph, path)
    return graph
