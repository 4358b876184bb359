"""Checks of a frontend graph's constant values (after Constant and Pow nodes are evaluated) and of their
shapes against the tensors they apply to: what :mod:`hwgen.frontend.validate` cannot see in the protobuf."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..golden.float_ops import _ROUNDING
from ..ir.graph import Graph

__all__ = ["MAX_QUANT_BITS", "check_channels", "check_constants"]

#: Largest weight or activation bit width a Quant may have (wider ones are refused, not approximated).
MAX_QUANT_BITS = 32
_ROUNDING_MODES = frozenset(_ROUNDING)


def check_constants(graph: Graph, path: Path) -> None:
    """Refuse constants qonnx would compute with but hwgen cannot reproduce (a weight quantizer with bit width
    2.5 clips to +-(2**1.5 - 1) in qonnx) or that make the model's output NaN (a zero quantizer scale,
    variance + epsilon <= 0), before any pass reads them."""
    for n in graph.nodes:
        if n.op in ("QuantizeLinear", "DequantizeLinear"):
            scale = graph.consts.get(n.inputs[1])
            if scale is None or not (np.all(np.isfinite(scale)) and np.all(np.asarray(scale) > 0)):
                raise HwgenError(
                    f"{path}: node {n.name!r} ({n.op}): scale must be a positive, finite constant"
                )
        if n.op not in ("Quant", "BipolarQuant") or len(n.inputs) < 2:
            continue
        scale = graph.consts.get(n.inputs[1])
        if scale is not None and not (np.all(np.isfinite(scale)) and np.all(np.asarray(scale) > 0)):
            raise HwgenError(f"{path}: node {n.name!r} ({n.op}): scale must be positive and finite")
        if n.op != "Quant" or len(n.inputs) < 4:
            continue
        zp, bits = graph.consts.get(n.inputs[2]), graph.consts.get(n.inputs[3])
        if zp is not None and not np.all(np.isfinite(zp)):
            raise HwgenError(f"{path}: node {n.name!r} (Quant): zero point must be finite")
        if bits is None:
            raise HwgenError(f"{path}: node {n.name!r} (Quant): bit width must be a constant")
        b = np.asarray(bits)
        if b.size != 1 or not (
            b.reshape(-1)[0] == np.round(b.reshape(-1)[0]) and 1 <= b.reshape(-1)[0] <= MAX_QUANT_BITS
        ):
            raise HwgenError(
                f"{path}: node {n.name!r} (Quant): bit width {b.reshape(-1).tolist()} is not one integer "
                f"in 1..{MAX_QUANT_BITS} (hwgen does not map fractional or vector bit widths)"
            )
        if n.attrs.get("rounding_mode", "ROUND").upper() not in _ROUNDING_MODES:
            raise HwgenError(
                f"{path}: node {n.name!r} (Quant): unknown rounding_mode {n.attrs['rounding_mode']!r}"
            )
    for n in graph.nodes:
        if n.op == "XnorPopcountMatMul":
            w = graph.consts.get(n.inputs[1])
            if w is None or not np.all((w == 0) | (w == 1)):
                raise HwgenError(
                    f"{path}: node {n.name!r} (XnorPopcountMatMul): weights must be a constant of 0s and 1s"
                )
        if n.op == "MultiThreshold":
            s, b = n.attrs.get("out_scale", 1.0), n.attrs.get("out_bias", 0.0)
            if not (np.isfinite(s) and s != 0 and np.isfinite(b)):
                raise HwgenError(
                    f"{path}: node {n.name!r} (MultiThreshold): out_scale {s:g} / out_bias {b:g} must be "
                    "finite and out_scale non-zero"
                )
        if n.op == "BatchNormalization":
            for k, t in enumerate(n.inputs[1:5], 1):
                v = graph.consts.get(t)
                if v is None or np.ndim(v) != 1:
                    raise HwgenError(
                        f"{path}: node {n.name!r} (BatchNormalization): input {k} ({t!r}) must be a constant "
                        "vector with one value per channel"
                    )
            var, eps = graph.consts[n.inputs[4]], np.float32(n.attrs.get("epsilon", 1e-5))
            if not np.all(np.asarray(var, np.float32) + eps > 0):
                raise HwgenError(
                    f"{path}: node {n.name!r} (BatchNormalization): variance + epsilon must be positive"
                )


def check_channels(graph: Graph, path: Path) -> None:
    """Per-channel parameters match the channels of the tensor they apply to (as qonnx and onnxruntime
    require; NumPy would broadcast some of them silently)."""
    from ..golden.float_ops import mt_channel_axis

    for n in graph.nodes:
        if n.op == "MultiThreshold":
            shape, thr = graph.shapes.get(n.inputs[0], ()), graph.consts.get(n.inputs[1])
            layout = n.attrs.get("data_layout", "") or ""
            if not isinstance(layout, str) or (layout and (len(layout) != len(shape) or "C" not in layout)):
                raise HwgenError(
                    f"{path}: node {n.name!r} (MultiThreshold): data_layout {layout!r} does not fit its "
                    f"{len(shape)}-dimensional input"
                )
            c = shape[mt_channel_axis(n.attrs, len(shape))] if len(shape) > 1 else 1
            if thr is None or np.ndim(thr) != 2 or thr.shape[0] not in (1, c):
                raise HwgenError(
                    f"{path}: node {n.name!r} (MultiThreshold): thresholds must be a constant matrix with "
                    f"1 or {c} rows"
                )
        if n.op == "BatchNormalization":
            shape = graph.shapes.get(n.inputs[0], ())
            c = shape[1] if len(shape) > 1 else None
            for t in n.inputs[1:5]:
                if np.size(graph.consts[t]) != c:
                    raise HwgenError(
                        f"{path}: node {n.name!r} (BatchNormalization): {t!r} has {np.size(graph.consts[t])} "
                        f"values for {c} channels"
                    )
