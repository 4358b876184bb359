"""Host side of an accelerator's streams: float frames -> input beats, output beats -> integer outputs.

The input stream carries the codes the host computes with the streamlined graph's host part (the float
ops up to ``ToCodes``, as :mod:`hwgen.golden` runs them), NHWC with channels fastest; the output stream
the last layer's integer outputs. On both, element 0 of a frame is in the least significant bits of its
first beat and each element is encoded as :mod:`hwgen.ir.datatypes` encodes it.
"""

from __future__ import annotations

import numpy as np

from hwgen.golden.execute import execute_all

__all__ = ["host_codes", "input_beats", "output_values", "pack_frames", "unpack_frames"]


def host_codes(graph, x) -> np.ndarray:
    """Integer values the accelerator reads for float inputs ``x`` (batch first): shape (N, elements)."""
    to_codes = next(n for n in graph.nodes if n.op == "ToCodes")
    host = graph.copy()
    host.nodes = host.nodes[: host.nodes.index(next(n for n in host.nodes if n.name == to_codes.name)) + 1]
    host.outputs = [to_codes.outputs[0]]
    host.prune()
    vals = execute_all(host, x, keep=False, protect=(to_codes.outputs[0],))[to_codes.outputs[0]]
    vals = np.asarray(vals)
    return vals.reshape(vals.shape[0], -1).astype(np.int64)


def pack_frames(values, dtype, lanes: int) -> list[int]:
    """Frames of values (N, elements) -> beats of ``lanes`` elements as integers, element 0 in the LSBs.

    A thin wrapper of :meth:`~hwgen.ir.datatypes.DataType.pack` that also checks every frame fills
    whole beats.
    """
    values = np.asarray(values)
    n_elem = values.shape[-1] if values.ndim else 1
    if n_elem % lanes:
        raise ValueError(f"a frame of {n_elem} elements does not fill beats of {lanes} lanes")
    return dtype.pack(values, lanes)


def unpack_frames(beats, dtype, lanes: int, n_frames: int) -> np.ndarray:
    """Beats -> values (n_frames, elements); the inverse of :func:`pack_frames`."""
    return dtype.unpack(beats, lanes).reshape(n_frames, -1)


def input_beats(graph, accel, x) -> list[int]:
    """Input beats of ``accel`` (an :class:`~hwgen.dataflow.Accelerator`) for float frames ``x``."""
    return pack_frames(host_codes(graph, x), accel.in_dtype, accel.in_lanes)


def output_values(accel, beats, n_frames: int) -> np.ndarray:
    """Integer outputs (n_frames, elements) from the output beats of ``accel``."""
    return unpack_frames(beats, accel.out_dtype, accel.out_lanes, n_frames)
