"""The dataflow IR: graph, nodes, tensors, datatypes. Pure Python + NumPy."""

from .datatypes import BINARY, BIPOLAR, INT, UINT, DataType, smallest_type_for
from .graph import HW_OPS, Graph, Node

__all__ = ["BINARY", "BIPOLAR", "HW_OPS", "INT", "UINT", "DataType", "Graph", "Node", "smallest_type_for"]
