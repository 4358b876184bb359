"""The dataflow IR: graph, nodes, tensors, datatypes. Pure Python + NumPy."""

from .datatypes import BINARY, BIPOLAR, INT, UINT, DataType, smallest_type_for

__all__ = ["BINARY", "BIPOLAR", "INT", "UINT", "DataType", "smallest_type_for"]
