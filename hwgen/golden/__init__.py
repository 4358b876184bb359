"""NumPy golden model.

- :mod:`hwgen.golden.ops` — the plain reference semantics of the hardware ops (the contract).
- :mod:`hwgen.golden.float_ops` — float32 semantics of the ONNX/QONNX/FINN ops, bit-exact with the reference.
- :mod:`hwgen.golden.fast` — fast versions of the hardware ops (bit-packed XNOR-popcount).
- ``execute(graph, x) -> (float_out, int_out)`` — runs a frontend or streamlined graph.
"""

from .execute import execute, execute_all

__all__ = ["execute", "execute_all"]
