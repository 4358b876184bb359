"""FINN-ONNX forms of a model, made with FINN's transformations (finn-plus from PyPI, pure Python parts).

Optional: ``make_models.py`` imports this module only if the ``finn`` package imports. Install it into the
train environment without its dependencies (they would replace torch with a CUDA build and pin older
Brevitas/onnx), see examples/README.md.

The transformations are applied in the order of FINN's build steps (the builder module itself needs the
``mip`` solver and more, so it is not imported):

- ``<name>.finn.onnx``: like ``step_qonnx_to_finn`` + ``step_tidy_up`` (MultiThreshold for the activation
  quantizers, weights quantized into the initializers).
- ``<name>.finn_stream.onnx``: then like ``step_streamline`` (scales and batch-norms absorbed into
  thresholds, convolutions lowered to Im2Col + MatMul in NHWC, bipolar MatMuls as XnorPopcountMatMul).

FINN's MultiThreshold rounds half up where QONNX's Quant rounds half to even, so these forms may disagree
with the reference on tie inputs; the numbers of disagreeing inputs are recorded, not hidden.
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path

import finn.transformation.streamline.absorb as absorb
import numpy as np
import reference
from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
from finn.transformation.qonnx.give_unique_node_names_recursive import GiveUniqueNodeNamesRecursive
from finn.transformation.streamline import Streamline
from finn.transformation.streamline.reorder import MakeMaxPoolNHWC
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import GiveReadableTensorNames, RemoveStaticGraphInputs, RemoveUnusedTensors
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul
from qonnx.util.cleanup import cleanup_model


def to_finn(model: ModelWrapper) -> ModelWrapper:
    """QONNX -> FINN-ONNX, then tidy up (FINN's ``step_qonnx_to_finn`` and ``step_tidy_up``)."""
    model = cleanup_model(model).transform(ConvertQONNXtoFINN())
    for t in (
        InferShapes(),
        FoldConstants(),
        GiveUniqueNodeNamesRecursive(),
        GiveReadableTensorNames(),
        InferDataTypes(),
        RemoveStaticGraphInputs(),
    ):
        model = model.transform(t)
    return model


def streamline(model: ModelWrapper) -> ModelWrapper:
    """FINN's ``step_streamline`` sequence."""
    model = model.transform(absorb.AbsorbScalarBiasIntoMultiThreshold()).transform(Streamline())
    if model.get_nodes_by_op_type("Conv"):
        for t in (
            LowerConvsToMatMul(),
            MakeMaxPoolNHWC(),
            absorb.AbsorbTransposeIntoMultiThreshold(),
            MakeMaxPoolNHWC(),
            absorb.AbsorbConsecutiveTransposes(),
        ):
            model = model.transform(t)
    for t in (
        ConvertBipolarMatMulToXnorPopcount(),
        Streamline(),
        absorb.AbsorbScalarMulAddIntoTopK(),
        InferDataLayouts(),
        RemoveUnusedTensors(),
    ):
        model = model.transform(t)
    return model


def _compare(y: np.ndarray, ref: np.ndarray) -> dict:
    """Exact and close (float tail reassociated by streamlining) agreement with the reference."""
    n = len(ref)
    exact = (y == ref).all(axis=1)
    close = (np.abs(y - ref) <= 1e-4 * (1 + np.abs(ref))).all(axis=1)
    return {
        "maxabs": float(np.abs(y - ref).max()),
        "bitidentical_inputs": f"{int(exact.sum())}/{n}",
        "close_inputs": f"{int(close.sum())}/{n}",
        "argmax_equal_inputs": f"{int((y.argmax(1) == ref.argmax(1)).sum())}/{n}",
        "not_close_rows": [int(i) for i in np.nonzero(~close)[0]],
    }


def make(out: Path, name: str, forms: dict, x: np.ndarray, out_ref: np.ndarray, check: np.ndarray) -> dict:
    """Write the FINN forms next to the QONNX ones, add them to ``forms`` and return facts for info.json.

    The forms are executed on the inputs ``x[check]``; their outputs go to ``out_finn*.npy`` (rows in the
    order of ``check``, recorded as ``finn_checked_inputs``).
    """
    info: dict = {"finn_plus_version": version("finn-plus"), "finn_checked_inputs": [int(i) for i in check]}
    x, out_ref = x[check], out_ref[check]
    t = time.time()
    model = to_finn(ModelWrapper(str(out / forms["qonnx_clean"])))
    info["finn_convert_s"] = round(time.time() - t, 2)
    model.save(str(out / f"{name}.finn.onnx"))
    forms["finn"] = f"{name}.finn.onnx"
    t = time.time()
    try:
        model = streamline(model)
    except Exception as exc:  # noqa: BLE001 - streamlining is FINN's; record why it failed
        info["finn_stream_error"] = repr(exc)[:300]
    else:
        info["finn_streamline_s"] = round(time.time() - t, 2)
        model.save(str(out / f"{name}.finn_stream.onnx"))
        forms["finn_stream"] = f"{name}.finn_stream.onnx"
    for form in ("finn", "finn_stream"):
        if form in forms:
            t = time.time()
            y = reference.run_form(out / forms[form], x)
            info[f"{form}_exec_s_per_sample"] = round((time.time() - t) / len(x), 5)
            np.save(out / f"out_{form}.npy", y.astype(np.float32))
            info[f"{form}_vs_ref"] = _compare(y, out_ref)
            info[f"{form}_op_counts"] = reference.op_counts(ModelWrapper(str(out / forms[form])).graph)
    return info
