"""The build as named steps, each callable alone from Python (``hwgen build`` runs them in order).

::

    from hwgen.flow import steps

    opts = steps.BuildOptions(model="tfc.onnx", target_fps=20000)
    graph = steps.load(opts.model)              # ONNX file -> float graph            (hwgen.frontend)
    hw = steps.streamline(graph, opts)          # float graph -> hardware IR          (hwgen.passes)
    folding = steps.fold(hw, opts)              # lanes (PE, SIMD) per layer          (hwgen.dataflow)
    acc = steps.generate(hw, folding)           # the accelerator (Amaranth)          (hwgen.dataflow)
    v = steps.export_verilog(acc, out)          # OUT/rtl/hwgen_top.v                 (hwgen.flow.verilog)
    m = steps.write_manifest(out, opts, graph, folding, acc, v)   # OUT/manifest.json (hwgen.flow.manifest)
    steps.write_report(m, out)                  # OUT/report.md, OUT/report.html

:data:`STEPS` lists them as ``(name, function)`` pairs in that order. Only ``load`` and ``streamline`` turn a
model the hardware cannot implement into a :class:`~hwgen.errors.HwgenError` (one line naming the node);
``fold`` raises it for a bad folding file or target. Any other exception out of a step is a bug in hwgen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from hwgen.errors import HwgenError

from . import manifest as _manifest
from .options import BuildOptions

if TYPE_CHECKING:
    from hwgen.dataflow import Accelerator, Folding
    from hwgen.ir.graph import Graph

__all__ = [
    "STEPS",
    "BuildOptions",
    "export_verilog",
    "fold",
    "generate",
    "graph_of_build",
    "load",
    "streamline",
    "write_manifest",
    "write_report",
]


def load(model_path: str | Path) -> Graph:
    """Read the QONNX / FINN-ONNX file into a float graph (:func:`hwgen.frontend.load`)."""
    from hwgen.frontend import load as _load

    return _load(model_path)


def streamline(graph: Graph, options: BuildOptions) -> Graph:
    """The hardware IR of ``graph`` (:func:`hwgen.passes.streamline` with the input type/scale and top-k).

    HwgenError if no layer of the model can be mapped to hardware.
    """
    from hwgen.passes import streamline as _streamline

    try:
        hw = _streamline(
            graph, input_dtype=options.input_dtype, input_scale=options.input_scale, topk=options.topk
        )
    except HwgenError as e:
        raise with_file(e, options.model) from None
    if not hw.hw_nodes():
        raise HwgenError(f"{options.model}: no layer of the model can be mapped to hardware")
    return hw


def with_file(e: HwgenError, model) -> HwgenError:
    """``e`` with the model file named first (a pass names the node; the file is the caller's to add)."""
    if str(e).startswith(("--", str(model))):
        return e
    return type(e)(f"{model}: {e}")


def fold(hw_graph: Graph, options: BuildOptions) -> Folding:
    """Lanes per layer: from ``options.folding_file``, for ``options.target_fps``, or the default folding;
    then ``options.pipeline`` extra register stages in every layer that offers them."""
    from hwgen.dataflow import auto_folding, default_folding
    from hwgen.dataflow.folding import folding_from_dict

    if options.folding_file is not None:
        path = Path(options.folding_file)
        folding = folding_from_dict(hw_graph, read_folding_file(path), source=str(path))
    elif options.target_fps is not None:
        folding = auto_folding(hw_graph, target_fps=options.target_fps, clock_mhz=options.clock_mhz)
    else:
        folding = default_folding(hw_graph)
    stages = options.pipeline_stages()
    return folding.with_pipeline(stages) if stages else folding


#: Largest folding file read (one entry per layer is a few hundred bytes at most).
MAX_FOLDING_FILE_BYTES = 1 << 20


def read_folding_file(path: Path):
    """The JSON value of a ``--folding`` file: UTF-8, at most :data:`MAX_FOLDING_FILE_BYTES`, not nested
    beyond what the parser handles; HwgenError (one line) otherwise."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FOLDING_FILE_BYTES + 1)
    except OSError as e:
        raise HwgenError(f"{path}: cannot read the folding file ({e.strerror})") from None
    if len(raw) > MAX_FOLDING_FILE_BYTES:
        raise HwgenError(f"{path}: folding file larger than {MAX_FOLDING_FILE_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HwgenError(f"{path}: the folding file is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise HwgenError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise HwgenError(f"{path}: the folding file is nested too deeply") from None


def generate(hw_graph: Graph, folding: Folding) -> Accelerator:
    """The accelerator (an Amaranth stream component) of ``hw_graph`` with ``folding``."""
    from hwgen.dataflow import Accelerator

    return Accelerator(hw_graph, folding)


def export_verilog(accel: Accelerator, out_dir: str | Path) -> dict:
    """Write ``out_dir/rtl/hwgen_top.v`` (AXI4-Stream top module ``hwgen_top``).

    Returns :func:`hwgen.flow.verilog.export_stream_verilog`'s dict plus ``files``: the Verilog files
    relative to ``out_dir``.
    """
    from .verilog import export_stream_verilog

    rel = f"rtl/{_manifest.TOP}.v"
    v = export_stream_verilog(accel, Path(out_dir) / rel, _manifest.TOP, accel.beats_per_frame_out)
    return {**v, "files": [rel]}


def write_manifest(
    out_dir: str | Path,
    options: BuildOptions,
    graph: Graph,
    folding: Folding,
    accel: Accelerator,
    verilog: dict,
) -> dict:
    """Copy the model and the folding into ``out_dir`` and write its ``manifest.json``; returns the manifest.

    See :func:`hwgen.flow.manifest.write_manifest`.
    """
    return _manifest.write_manifest(out_dir, options, graph, folding, accel, verilog)


def write_report(manifest: dict, out_dir: str | Path) -> Path:
    """Write ``out_dir/report.md`` and ``out_dir/report.html`` (the manifest for a human,
    :mod:`hwgen.flow.report_html`); returns the Markdown report's path."""
    from .report_html import write_html_report

    path = Path(out_dir) / _manifest.REPORT
    _manifest.write_report(manifest, path)
    write_html_report(manifest, Path(out_dir) / _manifest.REPORT_HTML)
    return path


def graph_of_build(out, manifest: dict):
    """The graph and streamlined graph of a build's model copy with the build's options (for the golden
    model), through the same steps as the build."""
    opts = manifest["options"]
    model = Path(out) / manifest["model"]["file"]
    options = BuildOptions(
        model=model,
        input_dtype=opts.get("input_dtype"),
        input_scale=opts.get("input_scale"),
        topk=opts.get("topk"),
    )
    graph = load(model)
    return graph, streamline(graph, options)


#: The build's steps in the order ``hwgen build`` runs them.
STEPS = (
    ("load", load),
    ("streamline", streamline),
    ("fold", fold),
    ("generate", generate),
    ("export_verilog", export_verilog),
    ("write_manifest", write_manifest),
    ("write_report", write_report),
)
