"""Validation of an ONNX model before hwgen reads anything from it (issue 8: hostile input).

:func:`check_model` runs, in order, each check refusing with one :class:`~hwgen.errors.HwgenError` line that
names the file and the node or tensor:

1. opset imports: the ONNX domain within :data:`ONNX_OPSETS`, every custom domain a node uses imported within
   :data:`CUSTOM_OPSETS`, no domain imported twice;
2. every node's op is one hwgen implements (in one of :data:`DOMAINS`);
3. datatypes: the graph input is float32; every initializer and Constant value is float32, except a
   Reshape's shape (int64) and the integer operands of QuantizeLinear / Clip / DequantizeLinear (int8, uint8,
   int32); float values are finite (MultiThreshold thresholds may be infinite);
   initializer names are unique;
4. one graph input, of positive dimensions (the batch axis may be symbolic), at most
   :data:`MAX_INPUT_ELEMENTS` elements per frame;
5. ``onnx.checker`` full check (strict type and shape inference) with the QONNX/FINN custom ops registered
   as ONNX schemas (:func:`register_custom_schemas`): attribute types and required attributes of every op,
   input counts, single static assignment, standard ops' type constraints;
6. a memory estimate of every tensor ONNX shape inference can size (custom element-wise ops as Identity, as
   qonnx does) at most :data:`MAX_TENSOR_BYTES`.

Checks that need the constants' values (quantizer scales and bit widths, batch-norm parameters, thresholds)
follow in :mod:`hwgen.frontend.onnx_reader`, once Constant and Pow nodes are evaluated.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from .dtypes import check_datatypes

__all__ = [
    "CUSTOM_DOMAINS",
    "CUSTOM_OPSETS",
    "DOMAINS",
    "MAX_INPUT_ELEMENTS",
    "MAX_TENSOR_BYTES",
    "ONNX_OPSETS",
    "check_model",
    "register_custom_schemas",
]

#: Custom-op domains hwgen reads (QONNX, FINN, Brevitas exports).
CUSTOM_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "finn", "onnx.brevitas")
DOMAINS = ("", "ai.onnx", *CUSTOM_DOMAINS)
#: ONNX opset versions whose semantics of the supported ops hwgen implements (BatchNormalization >= 9 has no
#: ``spatial``; the upper end is the newest opset this onnx knows, whose checker validates the model).
ONNX_OPSETS = (9, None)
#: Versions of the custom domains (QONNX uses 1 and 2 with the same op semantics).
CUSTOM_OPSETS = (1, 2)
#: Elements of one input frame.
MAX_INPUT_ELEMENTS = 1 << 24
#: Bytes of all tensors (batch 1) that shape inference can size, weights included.
MAX_TENSOR_BYTES = 2 << 30

_F = "tensor(float)"


def _onnx_max_opset() -> int:
    import onnx.defs

    return int(onnx.defs.onnx_opset_version())


def _custom_schemas():
    """(op, inputs, attributes) of the custom ops; attributes as (name, type, required) like qonnx's
    ``get_nodeattr_types``."""
    return (
        (
            "Quant",
            ("x", "scale", "zeropt", "bitwidth"),
            (("signed", "INT", True), ("narrow", "INT", True), ("rounding_mode", "STRING", False)),
        ),
        ("BipolarQuant", ("x", "scale"), ()),
        (
            "Trunc",  # version 2 (qonnx trunc_v2, what Brevitas 0.13 exports): an output scale input
            ("x", "scale", "zeropt", "input_bit_width", "output_scale", "output_bit_width"),
            (("rounding_mode", "STRING", True), ("signed", "INT", False), ("narrow", "INT", False)),
        ),
        (
            "MultiThreshold",
            ("x", "thresholds"),
            (
                ("out_dtype", "STRING", True),
                ("out_scale", "FLOAT", False),
                ("out_bias", "FLOAT", False),
                ("data_layout", "STRING", False),
            ),
        ),
        ("XnorPopcountMatMul", ("x", "W"), ()),
        (
            "Im2Col",
            ("x",),
            (
                ("stride", "INTS", True),
                ("kernel_size", "INTS", True),
                ("input_shape", "STRING", True),
                ("pad_amount", "INTS", False),
                ("pad_value", "INT", False),
                ("depthwise", "INT", False),
                ("dilations", "INTS", False),
            ),
        ),
        (
            "MaxPoolNHWC",
            ("x",),
            (
                ("kernel_shape", "INTS", True),
                ("pads", "INTS", True),
                ("strides", "INTS", True),
                ("ceil_mode", "INT", False),
                ("dilations", "INTS", False),  # FINN writes it; qonnx ignores it, hwgen refuses dilation != 1
            ),
        ),
    )


_registered = False


def register_custom_schemas() -> None:
    """Register the QONNX/FINN custom ops with ONNX (once per process) so ``onnx.checker`` checks their
    attributes and inputs like a standard op's."""
    global _registered
    if _registered:
        return
    import onnx.defs as defs

    S = defs.OpSchema
    for domain in CUSTOM_DOMAINS:
        for op, inputs, attrs in _custom_schemas():
            try:
                defs.get_schema(op, CUSTOM_OPSETS[1], domain)
                continue  # registered already (by another library in this process)
            except Exception:  # noqa: BLE001, S112 - onnx raises SchemaError when there is none
                pass
            schema = S(
                op,
                domain,
                1,
                f"{op} as qonnx executes it (registered by hwgen for onnx.checker)",
                inputs=[S.FormalParameter(name, "T") for name in inputs],
                outputs=[S.FormalParameter("y", "T")],
                type_constraints=[("T", [_F], "float32 tensors")],
                attributes=[
                    S.Attribute(name, getattr(S.AttrType, kind), "", required=req)
                    for name, kind, req in attrs
                ],
            )
            defs.register_schema(schema)
    _registered = True


def _check_opsets(model, path: Path) -> None:
    seen: dict[str, int] = {}
    for o in model.opset_import:
        dom = "" if o.domain == "ai.onnx" else o.domain
        if dom in seen:
            raise HwgenError(f"{path}: opset_import lists domain {o.domain or 'ai.onnx'!r} twice")
        seen[dom] = int(o.version)
    lo, hi = ONNX_OPSETS[0], ONNX_OPSETS[1] or _onnx_max_opset()
    if "" not in seen:
        raise HwgenError(f"{path}: no opset_import for the ONNX domain (not a valid ONNX model)")
    if not lo <= seen[""] <= hi:
        raise HwgenError(f"{path}: ONNX opset {seen['']} is outside the range hwgen implements ({lo}..{hi})")
    used = {n.domain for n in model.graph.node if n.domain not in ("", "ai.onnx")}
    for dom in sorted(used):
        if dom not in seen:
            raise HwgenError(f"{path}: nodes use domain {dom!r}, which opset_import does not list")
        if dom in CUSTOM_DOMAINS and not CUSTOM_OPSETS[0] <= seen[dom] <= CUSTOM_OPSETS[1]:
            raise HwgenError(
                f"{path}: domain {dom!r} version {seen[dom]} is outside the range hwgen implements "
                f"({CUSTOM_OPSETS[0]}..{CUSTOM_OPSETS[1]})"
            )


def _check_ops(model, path: Path, supported) -> None:
    for i, n in enumerate(model.graph.node):
        if n.domain not in DOMAINS or n.op_type not in supported:
            raise HwgenError(
                f"{path}: node {n.name or f'{n.op_type}_{i}'!r} has unsupported op "
                f"{n.domain + '.' if n.domain else ''}{n.op_type}; supported: {', '.join(supported)}"
            )


def _with_output_shapes(model):
    """``model``, or a copy in which graph outputs declared without a shape (which the checker refuses but
    qonnx and onnxruntime accept) have the shape ONNX infers, or an unknown one of the same rank."""
    import onnx

    if all(o.type.tensor_type.HasField("shape") for o in model.graph.output):
        return model
    m = onnx.ModelProto()
    m.CopyFrom(model)
    try:
        inferred = {o.name: o for o in onnx.shape_inference.infer_shapes(m).graph.output}
    except Exception:  # noqa: BLE001 - the checker below reports what is wrong
        inferred = {}
    for o in m.graph.output:
        tt = o.type.tensor_type
        if not tt.HasField("shape"):
            got = inferred.get(o.name)
            if got is not None and got.type.tensor_type.HasField("shape"):
                tt.shape.CopyFrom(got.type.tensor_type.shape)
            else:
                tt.shape.dim.add().dim_param = "unknown"
    return m


_CONTEXT = re.compile(r"Name: (?P<name>\S*) OpType: (?P<op>\S+)")


def _check_onnx(model, path: Path) -> None:
    import onnx

    register_custom_schemas()
    try:
        onnx.checker.check_model(_with_output_shapes(model), full_check=True)
    except Exception as e:  # noqa: BLE001 - ValidationError, InferenceError, ... all mean an invalid model
        text = str(e).strip()
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(e).__name__)
        first = re.sub(r"^\[[^\]]*\]\s*", "", first)  # "[ShapeInferenceError] (op_type:X, node name: Y): ..."
        ctx = _CONTEXT.search(text)
        where = f"node {ctx['name']!r} ({ctx['op']}): " if ctx else ""
        raise HwgenError(f"{path}: not a valid ONNX model: {where}{first}") from None


def input_dims(vi, path: Path) -> list[int]:
    """The graph input's dimensions with the batch axis as 1; HwgenError for a zero, negative, symbolic
    (other than batch) or missing dimension, or a frame over :data:`MAX_INPUT_ELEMENTS`."""
    tt = vi.type.tensor_type
    if not tt.HasField("shape") or not tt.shape.dim:
        raise HwgenError(f"{path}: graph input {vi.name!r} has no shape")
    dims = []
    for k, d in enumerate(tt.shape.dim):
        if d.HasField("dim_value"):
            if d.dim_value <= 0:
                raise HwgenError(
                    f"{path}: graph input {vi.name!r} has dimension {k} = {d.dim_value}; dimensions must "
                    "be positive"
                )
            dims.append(1 if k == 0 else int(d.dim_value))
        elif k == 0:
            dims.append(1)  # symbolic batch axis
        else:
            raise HwgenError(
                f"{path}: graph input {vi.name!r} has a symbolic or missing dimension {k}; hwgen needs "
                "a fixed frame shape"
            )
    if int(np.prod(dims, dtype=object)) > MAX_INPUT_ELEMENTS:
        raise HwgenError(
            f"{path}: graph input {vi.name!r} has shape {dims}: more than {MAX_INPUT_ELEMENTS} elements "
            "per frame"
        )
    return dims


def _check_memory(model, path: Path, dims: list[int]) -> None:
    """Size every tensor ONNX shape inference can (custom element-wise ops as Identity, XnorPopcountMatMul as
    MatMul, as qonnx does for its own shape inference) and refuse a model over :data:`MAX_TENSOR_BYTES`."""
    import onnx
    from onnx import helper

    g = onnx.GraphProto()
    g.CopyFrom(model.graph)
    del g.initializer[:]  # sizes below; inference needs only the shapes
    inits = {t.name for t in model.graph.initializer}
    total = 0
    for t in model.graph.initializer:
        total += 4 * int(np.prod(list(t.dims), dtype=object))
        g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    for n in g.node:
        if n.op_type in ("Quant", "BipolarQuant", "MultiThreshold"):
            x = n.input[0]
            del n.input[:], n.attribute[:]
            n.input.append(x)
            n.op_type, n.domain = "Identity", ""
        elif n.op_type == "XnorPopcountMatMul":
            n.op_type, n.domain = "MatMul", ""
    for vi in g.input:
        if vi.name not in inits:
            del vi.type.tensor_type.shape.dim[:]
            for d in dims:
                vi.type.tensor_type.shape.dim.add().dim_value = d
    del g.value_info[:]
    m = helper.make_model(g, opset_imports=list(model.opset_import))
    m.ir_version = model.ir_version
    try:
        inferred = onnx.shape_inference.infer_shapes(m).graph.value_info
    except Exception:  # noqa: BLE001 - the checker accepted the model; this is only an estimate
        return
    for vi in inferred:
        shape = vi.type.tensor_type.shape
        if all(d.HasField("dim_value") for d in shape.dim):
            total += 4 * int(np.prod([d.dim_value for d in shape.dim], dtype=object))
    total += 4 * int(np.prod(dims, dtype=object))
    if total > MAX_TENSOR_BYTES:
        raise HwgenError(
            f"{path}: the model's tensors need about {total / 2**30:.1f} GiB for one frame (limit "
            f"{MAX_TENSOR_BYTES / 2**30:g} GiB); refusing to allocate them"
        )


def check_model(model, path: Path, supported) -> list[int]:
    """Validate ``model`` read from ``path`` (see the module docstring); returns the input's dimensions with
    batch 1. ``supported`` lists the op types hwgen implements."""
    _check_opsets(model, path)
    _check_ops(model, path, supported)
    check_datatypes(model, path)
    inits = {t.name for t in model.graph.initializer}
    real = [vi for vi in model.graph.input if vi.name not in inits]
    if len(real) != 1:
        raise HwgenError(f"{path}: expected exactly one non-constant graph input, found {len(real)}")
    dims = input_dims(real[0], path)
    _check_onnx(model, path)
    _check_memory(model, path, dims)
    return dims
