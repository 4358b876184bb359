"""ONNX frontend: the only part of hwgen that imports ``onnx``.

Public API
----------
``load(path) -> hwgen.ir.Graph``
    Reads a QONNX model as Brevitas exports it (raw TorchScript export with weights listed as graph inputs,
    dynamo export with Gemm/odd names/external data, ``qonnx.util.cleanup`` output) or a FINN-ONNX model
    (MultiThreshold, XnorPopcountMatMul, Im2Col, MaxPoolNHWC). Constant ``Pow`` nodes are evaluated with
    onnxruntime when it is installed, so folded constants have the reference's bits. Shapes are inferred by
    executing the graph once on a zero input (batch 1). Bad files raise :class:`hwgen.errors.HwgenError`
    with a one-line message: not ONNX, truncated, unsupported op (names node, op and the supported list),
    external data outside the model's folder.

``SUPPORTED_OPS`` — the op types accepted.
"""

from .onnx_reader import SUPPORTED_OPS, load

__all__ = ["SUPPORTED_OPS", "load"]
