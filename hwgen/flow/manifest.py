"""The build folder of ``hwgen build`` and its ``manifest.json`` (written by the build, read by verify).

A build folder ``OUT`` holds::

    OUT/manifest.json   what was built (see below)
    OUT/model.onnx      a byte copy of the model, so the golden model can be recomputed from OUT alone
    OUT/folding.json    the folding used, in the ``--folding`` file form (rebuild with the same lanes)
    OUT/rtl/<top>.v     the Verilog (top module ``<top>``, AXI4-Stream ports, DESIGN §3)
    OUT/report.md       the same facts for a human

``manifest.json`` keys: ``format`` (:data:`FORMAT`), ``format_version``, ``hwgen_version``, ``created``,
``model`` (``file``, ``source``, ``sha256``), ``board``, ``clock_mhz``, ``options`` (the build options the
golden model depends on: ``input_dtype``, ``input_scale``, ``topk``; and how the folding was chosen),
``ii_cycles``, ``latency_cycles``, ``fps``, ``input`` / ``output`` stream formats (``dtype``,
``elements_per_beat``, ``bits_per_beat`` = payload bits, ``tdata_bits``, ``beats_per_frame``,
``elements_per_frame``, ``layout``), ``layers`` (in stream order: ``name``, ``kind``, ``shape`` = [MH, MW]
for matrix layers, ``pe``, ``simd``, ``weight_storage``, ``cycles``, ``resources``), ``buffers`` (FIFOs and
width converters), ``resources`` (totals of the estimates), ``rtl`` (``top``, ``files`` relative to OUT,
``sha256`` per file).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hwgen.errors import HwgenError

__all__ = ["FORMAT", "MANIFEST", "graph_of_build", "is_build", "read_manifest", "sha256_file", "write_report"]

FORMAT = "hwgen-build"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_COPY = "model.onnx"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_build(out) -> bool:
    """True if ``out`` holds a manifest written by ``hwgen build``."""
    try:
        return json.loads((Path(out) / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_manifest(out) -> dict:
    """The manifest of build folder ``out``; HwgenError (one line) if it is missing or not a hwgen build."""
    out = Path(out)
    path = out / MANIFEST
    if not out.is_dir():
        raise HwgenError(f"{out}: no such build folder")
    if not path.is_file():
        raise HwgenError(f"{out}: no {MANIFEST} (not a folder written by hwgen build)")
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise HwgenError(f"{path}: not readable JSON ({type(e).__name__})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise HwgenError(f'{path}: not a hwgen build manifest (no "format": "{FORMAT}")')
    if m.get("format_version") != FORMAT_VERSION:
        raise HwgenError(
            f"{path}: manifest format version {m.get('format_version')!r}, this hwgen reads "
            f"{FORMAT_VERSION}; rebuild with this hwgen"
        )
    for key in ("model", "options", "input", "output", "rtl", "ii_cycles", "latency_cycles"):
        if key not in m:
            raise HwgenError(f"{path}: key {key!r} missing")
    stream = ("dtype", "elements_per_beat", "elements_per_frame", "beats_per_frame")
    for section, keys in (
        ("model", ("file",)),
        ("options", ()),
        ("input", stream),
        ("output", stream),
        ("rtl", ("top", "files")),
    ):
        if not isinstance(m[section], dict):
            raise HwgenError(f"{path}: {section!r} must be an object")
        for key in keys:
            if key not in m[section]:
                raise HwgenError(f"{path}: key {section}.{key} missing")
    return m


def graph_of_build(out, manifest: dict):
    """The streamlined graph of the build's model copy with the build's options (for the golden model)."""
    from hwgen.frontend import load
    from hwgen.passes import streamline

    opts = manifest["options"]
    graph = load(Path(out) / manifest["model"]["file"])
    try:
        hw = streamline(
            graph,
            input_dtype=opts.get("input_dtype"),
            input_scale=opts.get("input_scale"),
            topk=opts.get("topk"),
        )
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise HwgenError(
            f"{out}: the model copy could not be mapped to hardware ({type(e).__name__}: {e})"
        ) from None
    return graph, hw


def _fmt_res(res: dict) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in (res or {}).items())


def write_report(m: dict, path) -> None:
    """A human-readable Markdown summary of manifest ``m``."""
    opts = {k: v for k, v in m["options"].items() if v is not None}
    lines = [
        f"# hwgen build of {Path(m['model']['source']).name}",
        "",
        f"- hwgen {m['hwgen_version']}, {m['created']}; model sha256 `{m['model']['sha256']}`",
        f"- board `{m['board']}`, clock {m['clock_mhz']:g} MHz; options: "
        + (", ".join(f"{k}={v}" for k, v in opts.items()) or "none"),
        (
            f"- II **{m['ii_cycles']}** cycles per frame = {m['fps']:.1f} frames/s "
            f"at {m['clock_mhz']:g} MHz; "
            f"latency {m['latency_cycles']} cycles = {m['latency_cycles'] / m['clock_mhz']:.2f} us"
        ),
        f"- estimated resources (sum of the layer models): {_fmt_res(m['resources'])}",
        f"- Verilog: {', '.join(m['rtl']['files'])} (top module `{m['rtl']['top']}`)",
        "",
        "| stream | dtype | elements/beat | bits/beat | tdata bits | beats/frame |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("input", "output"):
        s = m[name]
        lines.append(
            f"| {name} | {s['dtype']} | {s['elements_per_beat']} | {s['bits_per_beat']} | "
            f"{s['tdata_bits']} | {s['beats_per_frame']} |"
        )
    lines += [
        "",
        f"Layout: {m['input']['layout']}.",
        "",
        "| # | layer | kind | shape | PE | SIMD | weights | cycles/frame | resources |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k, ly in enumerate(m["layers"]):
        shape = "x".join(map(str, ly["shape"])) if ly.get("shape") else "-"
        lines.append(
            f"| {k} | `{ly['name']}` | {ly['kind']} | {shape} | {ly['pe'] or '-'} | "
            f"{ly['simd'] or '-'} | {ly.get('weight_storage') or '-'} | {ly['cycles']} | "
            f"{_fmt_res(ly.get('resources'))} |"
        )
    if m.get("buffers"):
        lines += ["", "| buffer | kind | lanes in/out | depth | resources |", "|---|---|---|---|---|"]
        for b in m["buffers"]:
            lines.append(
                f"| `{b['name']}` | {b['kind']} | {b['in_lanes']}/{b['out_lanes']} | "
                f"{b.get('depth', '-')} | {_fmt_res(b.get('resources'))} |"
            )
    Path(path).write_text("\n".join(lines) + "\n")
