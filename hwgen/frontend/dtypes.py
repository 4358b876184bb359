"""Element types of a model's constants and graph input (check 3 of :mod:`hwgen.frontend.validate`).

The graph input is float32; every initializer and Constant value is float32 and finite (MultiThreshold
thresholds may be infinite), except where only readers that take an integer type read it: int64 Reshape
shapes, and the int8/uint8/int32 quantized values and zero points of QuantizeLinear, Clip and
DequantizeLinear (Brevitas' QCDQ export). Initializer names are unique.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import HwgenError

__all__ = ["check_datatypes"]


def _consumers(model) -> dict[str, list[tuple[str, int, str]]]:
    out: dict[str, list[tuple[str, int, str]]] = {}
    for i, n in enumerate(model.graph.node):
        for k, t in enumerate(n.input):
            out.setdefault(t, []).append((n.op_type, k, n.name or f"{n.op_type}_{i}"))
    return out


_FLOAT, _INT8, _UINT8, _INT32, _INT64 = "FLOAT", "INT8", "UINT8", "INT32", "INT64"
#: Element types a constant may have where an op reads it as (op, input index); float32 everywhere else.
_INT_INPUTS = {
    ("Reshape", 1): {_INT64},
    ("ReduceMean", 1): {_INT64},
    ("QuantizeLinear", 2): {_INT8, _UINT8},
    ("DequantizeLinear", 0): {_INT8, _UINT8, _INT32},
    ("DequantizeLinear", 2): {_INT8, _UINT8, _INT32},
    **{("Clip", k): {_FLOAT, _INT8, _UINT8, _INT32} for k in (0, 1, 2)},
}


def _allowed_types(uses) -> set[str]:
    """Element types every reader of a constant accepts (float32 when nothing reads it)."""
    allowed = {_FLOAT, _INT8, _UINT8, _INT32, _INT64}
    for op, k, _ in uses or [("", 0, "")]:
        allowed &= _INT_INPUTS.get((op, k), {_FLOAT})
    return allowed


def _check_tensor(t, name: str, uses, path: Path, where: str) -> None:
    """A constant tensor: float32 and finite (MultiThreshold thresholds may be infinite), or an integer type
    where only readers that take one read it (int64 Reshape shapes; int8/uint8/int32 quantized values and
    zero points of QuantizeLinear, Clip, DequantizeLinear)."""
    from onnx import TensorProto, numpy_helper

    allowed = _allowed_types(uses)
    got = (
        TensorProto.DataType.Name(t.data_type)
        if t.data_type in TensorProto.DataType.values()
        else t.data_type
    )
    if got not in allowed:
        user = f" (read by node {uses[0][2]!r}, {uses[0][0]})" if uses else ""
        want = {
            frozenset({_FLOAT}): "float32 tensors only",
            frozenset({_INT64}): "int64 Reshape shapes only",
        }.get(frozenset(allowed), f"{' or '.join(sorted(a.lower() for a in allowed)) or 'no type'} there")
        raise HwgenError(f"{path}: {where} {name!r}{user} is {got}; hwgen reads {want}")
    if got != _FLOAT:
        try:
            numpy_helper.to_array(t)
        except Exception as e:  # noqa: BLE001 - wrong raw_data length etc.
            raise HwgenError(f"{path}: {where} {name!r} is broken ({type(e).__name__}: {e})") from None
    if got == _FLOAT:
        try:
            a = numpy_helper.to_array(t)
        except Exception as e:  # noqa: BLE001 - wrong raw_data length etc.
            raise HwgenError(f"{path}: {where} {name!r} is broken ({type(e).__name__}: {e})") from None
        thresholds = bool(uses) and all(op == "MultiThreshold" and k == 1 for op, k, _ in uses)
        if np.any(np.isnan(a)) or (not thresholds and not np.all(np.isfinite(a))):
            raise HwgenError(
                f"{path}: {where} {name!r} holds NaN{'' if thresholds else ' or infinite'} values"
            )


def check_datatypes(model, path: Path) -> None:
    from onnx import TensorProto

    g = model.graph
    uses = _consumers(model)
    names = [t.name for t in g.initializer]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise HwgenError(f"{path}: initializer {dup!r} is defined twice")
    for t in g.initializer:
        _check_tensor(t, t.name, uses.get(t.name, []), path, "initializer")
    for i, n in enumerate(g.node):
        if n.op_type == "Constant":
            name = n.name or f"Constant_{i}"
            if len(n.attribute) != 1 or n.attribute[0].name not in ("value", "value_float", "value_floats"):
                raise HwgenError(
                    f"{path}: node {name!r} (Constant) needs exactly one float32 'value' (or value_float, "
                    "value_floats) attribute"
                )
            if n.attribute[0].name == "value":
                _check_tensor(n.attribute[0].t, name, uses.get(n.output[0], []), path, "Constant node")
    inits = set(names)
    for vi in g.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or tt.elem_type != TensorProto.FLOAT:
            got = (
                TensorProto.DataType.Name(tt.elem_type)
                if tt.elem_type in TensorProto.DataType.values()
                else "?"
            )
            raise HwgenError(f"{path}: graph input {vi.name!r} is {got}; hwgen reads float32 inputs only")
