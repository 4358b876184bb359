"""The dataflow IR: graph, nodes, tensors, datatypes. Pure Python + NumPy."""

from .datatypes import BINARY, BIPOLAR, INT, UINT, DataType, smallest_type_for
from .graph import HW_OPS, Graph, Node
from .hw import describe

__all__ = [
    "BINARY",
    "BIPOLAR",
    "HW_OPS",
    "INT",
    "UINT",
    "DataType",
    "Graph",
    "Node",
    "describe",
    "smallest_type_for",
]
