"""ONNX frontend: the only part of hwgen that imports ``onnx``.

Public API
----------
``load(path) -> hwgen.ir.Graph``
    Reads a QONNX model as Brevitas exports it (raw TorchScript export with weights listed as graph inputs,
    dynamo export with Gemm/odd names/external data, ``qonnx.util.cleanup`` output), Brevitas' QCDQ export
    (``QuantizeLinear -> [Clip] -> DequantizeLinear`` with int8/uint8 zero points and Clip bounds, ``Relu``
    of ``QuantReLU``; turned into ``Quant`` by :mod:`hwgen.passes.convert_qcdq`) or a FINN-ONNX model
    (MultiThreshold, XnorPopcountMatMul, Im2Col, MaxPoolNHWC). Constant ``Pow`` nodes are evaluated with
    onnxruntime when it is installed, so folded constants have the reference's bits. Shapes are inferred by
    executing the graph once on a zero input (batch 1). The model is validated before anything is read
    from it (:mod:`hwgen.frontend.validate`: opsets, ``onnx.checker`` with the QONNX/FINN ops registered,
    datatypes, shapes and a memory estimate; :mod:`hwgen.frontend.constants`: quantizer scales and bit
    widths, batch-norm and threshold parameters); nodes get unique names. Bad files raise
    :class:`hwgen.errors.HwgenError` with a one-line message naming the file and the node or tensor: not
    ONNX, truncated, unsupported op (with the supported list), external data outside the model's folder.

``SUPPORTED_OPS`` — the op types accepted.
"""

from .onnx_reader import SUPPORTED_OPS, load

__all__ = ["SUPPORTED_OPS", "load"]
