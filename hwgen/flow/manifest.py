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
``elements_per_frame``, ``layout``), ``layers`` (in stream order, each its spec's
:meth:`~hwgen.layers.spec.LayerSpec.describe`: ``name``, ``kind`` = the hardware-IR op, ``shape`` = [MH, MW]
for matrix layers, ``in_elems``, ``out_elems``, ``pe``, ``simd``, ``weight_storage``, ``cycles``,
``latency``, ``resources``), ``buffers`` (FIFOs and width converters), ``resources`` (totals of the
estimates), ``rtl`` (``top``, ``files`` relative to OUT, ``sha256`` per file). Builds with ``--board``
add ``board_info`` (part, package, speed, clock source, capacity, ``pll`` settings) and ``fit`` (the
estimate against the board, :mod:`hwgen.flow.fit`); ``hwgen synth`` adds ``synth`` (utilisation, Fmax,
bitstream or Vivado script: :mod:`hwgen.flow.synth`, :mod:`hwgen.flow.vivado`) with :func:`update_manifest`.

This module is the only one that writes (:func:`write_manifest`, built by :func:`make_manifest`) and reads
(:func:`read_manifest`, which validates it against :mod:`hwgen.flow.manifest_schema` and checks the model
copy) the manifest.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from hwgen.errors import HwgenError

from .manifest_schema import validate

if TYPE_CHECKING:
    from hwgen.dataflow import Accelerator, Folding
    from hwgen.ir.graph import Graph

    from .options import BuildOptions

__all__ = [
    "FORMAT",
    "MANIFEST",
    "is_build",
    "make_manifest",
    "read_manifest",
    "sha256_file",
    "update_manifest",
    "write_manifest",
    "write_report",
]

FORMAT = "hwgen-build"
FORMAT_VERSION = 2  # 2: layer kinds spelled as hardware-IR ops (MVTU, StreamingMaxPool), layer latency
MANIFEST = "manifest.json"
MODEL_COPY = "model.onnx"
FOLDING_COPY = "folding.json"
REPORT = "report.md"
REPORT_HTML = "report.html"  # hwgen.flow.report_html
TOP = "hwgen_top"  # name of the top Verilog module
LAYOUT = "NHWC, channels fastest; element 0 in the least significant bits of a beat"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: What ``hwgen`` itself may have added to a build folder after the build (``hwgen verify``'s cache).
LATER_ENTRIES = ("sim_build", "synth", "vivado", "hwgen_board.bin", "hwgen_board.bit")


def is_build(out) -> bool:
    """True if ``out`` is a build folder ``hwgen build`` wrote and nothing else: a valid manifest, and no
    entry besides the manifest, the model copy, the folding, the report, the Verilog it lists and
    :data:`LATER_ENTRIES` (so replacing ``out`` deletes no file of the user's)."""
    out = Path(out)
    try:
        m = read_manifest(out, check_model=False)
        own = {MANIFEST, FOLDING_COPY, REPORT, REPORT_HTML, *LATER_ENTRIES, Path(m["model"]["file"]).parts[0]}
        rtl = {Path(f) for f in m["rtl"]["files"]}
        own |= {f.parts[0] for f in rtl}
        for entry in out.iterdir():
            if entry.name not in own:
                return False
            if entry.is_dir() and not entry.is_symlink() and entry.name not in LATER_ENTRIES:
                for f in entry.rglob("*"):
                    if f.is_file() or f.is_symlink():
                        if f.relative_to(out) not in rtl | {Path(m["model"]["file"])}:
                            return False
        return True
    except (HwgenError, OSError, ValueError):
        return False


def read_manifest(out, check_model: bool = True) -> dict:
    """The manifest of build folder ``out``, validated (:func:`hwgen.flow.manifest_schema.validate`: types,
    ranges, every path inside ``out``) and, with ``check_model``, its model copy present and the one the build
    was made from (sha256); HwgenError (one line) otherwise."""
    out = Path(out)
    path = out / MANIFEST
    if not out.is_dir():
        raise HwgenError(f"{out}: no such build folder")
    if not path.is_file():
        raise HwgenError(f"{out}: no {MANIFEST} (not a folder written by hwgen build)")
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as e:
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
    validate(m, out, path)
    if check_model:
        copy = out / m["model"]["file"]
        if not copy.is_file():
            raise HwgenError(f"{copy}: the build's model copy is missing (the build folder is damaged)")
        if sha256_file(copy) != m["model"]["sha256"]:
            raise HwgenError(
                f"{copy}: not the model this build was made from (sha256 differs from the manifest's); "
                "rebuild from the model"
            )
    return m


def _stream(desc: dict, tdata_bits: int, shape=None) -> dict:
    d = {
        "dtype": desc["dtype"],
        "elements_per_beat": desc["lanes"],
        "bits_per_beat": desc["payload_bits"],
        "tdata_bits": tdata_bits,
        "beats_per_frame": desc["beats_per_frame"],
        "elements_per_frame": desc["lanes"] * desc["beats_per_frame"],
        "layout": LAYOUT,
    }
    if shape is not None:
        d["onnx_shape"] = list(shape)
    return d


def _totals(items) -> dict:
    tot: dict = {}
    for it in items:
        for k, v in (it.get("resources") or {}).items():
            if isinstance(v, int | float):
                tot[k] = tot.get(k, 0) + v
    return tot


def _folding_choice(options: BuildOptions) -> dict:
    """How the folding was chosen, as the manifest's ``options`` record it."""
    if options.folding_file is not None:
        return {"folding_file": str(options.folding_file)}
    if options.target_fps is not None:
        return {"target_fps": options.target_fps}
    return {"folding": "default"}


def make_manifest(
    out_dir,
    options: BuildOptions,
    input_shape,
    folding: Folding,
    accel: Accelerator,
    verilog: dict,
    extra: dict | None = None,
) -> dict:
    """The manifest of the build in ``out_dir``, which holds the model copy and the Verilog ``verilog`` names.

    ``options`` are the build's :class:`~hwgen.flow.steps.BuildOptions`, ``input_shape`` the ONNX input
    shape, ``verilog`` what :func:`hwgen.flow.steps.export_verilog` returned.
    """
    from hwgen import __version__

    out_dir = Path(out_dir)
    desc = accel.describe()
    rtl = list(verilog["files"])
    ii = desc["ii_cycles"]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hwgen_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "model": {
            "file": MODEL_COPY,
            "source": str(Path(options.model).resolve()),
            "sha256": sha256_file(out_dir / MODEL_COPY),
        },
        "board": options.board,
        "clock_mhz": options.clock_mhz,
        "options": {
            "input_dtype": options.input_dtype,
            "input_scale": options.input_scale,
            "topk": options.topk,
            "pipeline": options.pipeline_stages(),
            **({"pipeline_auto": options.timing_family() or "any"} if options.pipeline == "auto" else {}),
            **_folding_choice(options),
        },
        "ii_cycles": ii,
        "latency_cycles": desc["latency_cycles"],
        "fps": options.clock_mhz * 1e6 / ii,
        "input": _stream(desc["input"], verilog["s_tdata_bits"], input_shape),
        "output": {
            **_stream(desc["output"], verilog["m_tdata_bits"]),
            "values": "label indices (top-k)" if options.topk else "last layer's integer dot products",
        },
        "layers": desc["layers"],
        "buffers": desc["buffers"],
        "resources": _totals(desc["layers"] + desc["buffers"]),
        "folding": folding.to_dict(),
        "rtl": {"top": verilog["top"], "files": rtl, "sha256": {f: sha256_file(out_dir / f) for f in rtl}},
        **(extra or {}),
    }


def write_manifest(
    out_dir,
    options: BuildOptions,
    graph: Graph,
    folding: Folding,
    accel: Accelerator,
    verilog: dict,
    extra: dict | None = None,
) -> dict:
    """Copy the model (``model.onnx``) and the folding (``folding.json``) into ``out_dir``, write
    ``manifest.json`` (:func:`make_manifest`) and return the manifest."""
    out_dir = Path(out_dir)
    shutil.copyfile(options.model, out_dir / MODEL_COPY)
    (out_dir / FOLDING_COPY).write_text(json.dumps(folding.to_dict(), indent=1) + "\n")
    m = make_manifest(out_dir, options, graph.meta.get("input_shape"), folding, accel, verilog, extra)
    (out_dir / MANIFEST).write_text(json.dumps(m, indent=1) + "\n")
    return m


def update_manifest(out, **sections) -> dict:
    """Add or replace top-level ``sections`` of build ``out``'s manifest (``synth`` by ``hwgen synth``,
    ``verify`` by ``hwgen verify``, ``pnr`` by ``hwgen sweep --pnr``) and rewrite its reports (``report.md``,
    ``report.html``); returns the manifest."""
    from .report_html import write_html_report

    out = Path(out)
    m = read_manifest(out, check_model=False)
    m.update(sections)
    validate(m, out, out / MANIFEST)
    (out / MANIFEST).write_text(json.dumps(m, indent=1) + "\n")
    write_report(m, out / REPORT)
    write_html_report(m, out / REPORT_HTML)
    return m


def _board_lines(m: dict) -> list[str]:
    lines = []
    if "board_info" in m:
        b = m["board_info"]
        pll = b["pll"]
        lines.append(
            f"- board {b['title']}: {b['part']} {b['package']} speed {b['speed']}, {b['clock_source']}, "
            f"{pll['primitive']} -> {pll['achieved_mhz']:g} MHz; flow {b['flow']}"
        )
    if "fit" in m:
        f = m["fit"]
        lines.append(
            f"- fit ({f['how']}): ~{f['estimated_luts']} LUTs of {f['lut_limit']} and "
            f"{f['estimated_bram_bits']} BRAM bits of {f['bram_bits_limit']} with the shell "
            f"({f['lut_margin']:.0%} / {f['bram_margin']:.0%} of the board): "
            + ("fits" if f["fits"] else "DOES NOT FIT")
        )
    if "synth" in m and "fmax_mhz" in m["synth"]:
        r = m["synth"]
        timing = "met" if r["meets_timing"] else "FAILED"
        lines.append(
            f"- {r['flow']} on {r['device']}: {r['luts']} LUTs, {r['ffs']} FFs, {r['brams']} block RAMs; "
            f"Fmax {r['fmax_mhz']:g} MHz for {r['freq_mhz']:g} MHz (timing {timing}); "
            f"bitstream `{r.get('bitstream') or '-'}`; {r['seconds']:g} s"
        )
    elif "synth" in m:
        r = m["synth"]
        lines.append(
            f"- {r['flow']} on {r['device']}: `{r['script']}`; {r['luts']} LUTs, {r['ffs']} FFs, "
            f"{r['bram36']} RAMB36, {r['dsps']} DSP of {r['available']}"
        )
    return lines


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
        *_board_lines(m),
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
        "| # | layer | kind | shape | PE | SIMD | weights | stages | cycles/frame | latency | resources |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, ly in enumerate(m["layers"]):
        shape = "x".join(map(str, ly["shape"])) if ly.get("shape") else "-"
        lines.append(
            f"| {k} | `{ly['name']}` | {ly['kind']} | {shape} | {ly['pe'] or '-'} | "
            f"{ly['simd'] or '-'} | {ly.get('weight_storage') or '-'} | +{ly.get('pipeline', 0)} | "
            f"{ly['cycles']} | {ly.get('latency', '-')} | {_fmt_res(ly.get('resources'))} |"
        )
    if m.get("buffers"):
        peak = (m.get("verify") or {}).get("fifo_peak") or {}
        lines += [
            "",
            "| buffer | kind | lanes in/out | depth | peak occupancy (hwgen verify) | resources |",
            "|---|---|---|---|---|---|",
        ]
        for b in m["buffers"]:
            lines.append(
                f"| `{b['name']}` | {b['kind']} | {b['in_lanes']}/{b['out_lanes']} | "
                f"{b.get('depth', '-')} | {peak.get(b['name'], '-')} | {_fmt_res(b.get('resources'))} |"
            )
    Path(path).write_text("\n".join(lines) + "\n")
