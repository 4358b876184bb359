"""``OUT/report.html``: the build for a human, one self-contained file (plots embedded as base64 PNG).

Written by every build next to ``report.md`` and rewritten whenever the manifest gains a section
(:func:`hwgen.flow.manifest.update_manifest`): ``verify`` (measured cycles per frame and first-output
latency), ``synth`` (``hwgen synth``: utilisation and Fmax on the board) and ``pnr`` (out-of-context place
and route, as ``hwgen sweep --pnr`` records it). Everything shown is read from the manifest dict given to
:func:`render`; the page has no script and loads nothing.

Sections (each ``<section id=...>``): ``summary`` (II, frames/s, latency, bottleneck), ``cycles`` (bar plot
of cycles per frame per layer, the bottleneck marked, II and latency), ``layers`` (the per-layer table),
``resources`` (estimated per layer; whole design estimated / synthesized / placed against the board's
capacity when the board is known), ``fifos`` (depths; measured peak occupancy only if the verification
harness reports it, which it does not today: the page says so), ``timing`` (Fmax achieved vs requested),
``verify``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from . import report_plots as plots

__all__ = ["REPORT_HTML", "esc", "img_tag", "num", "page", "render", "table", "write_html_report"]

REPORT_HTML = "report.html"

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}td.t{text-align:left;font-family:monospace}
tr.bottleneck td{background:#fde2e2}.ok{color:#1a7f37}.bad{color:#c00;font-weight:bold}
img{max-width:100%;display:block;margin:.5em 0}.note{color:#555;font-size:13px}
"""

#: nextpnr cell types of LUTs, flip-flops and block RAMs, per family (to read a device's capacity).
_CELLS = {
    "luts": ("ICESTORM_LC", "TRELLIS_COMB"),
    "ffs": ("TRELLIS_FF",),
    "bram_blocks": ("ICESTORM_RAM", "DP16KD"),
}


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def num(v) -> str:
    """A number as the page shows it: integers exactly, other numbers with one decimal; "-" for None."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    return f"{v:.1f}"


def img_tag(png: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def table(id_: str, header: list[str], rows: list[list], marked: set[int] = frozenset()) -> str:
    out = [f'<table id="{esc(id_)}"><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    out.append("</thead><tbody>")
    for k, row in enumerate(rows):
        cls = ' class="bottleneck"' if k in marked else ""
        cells = "".join(
            f'<td class="t">{esc(c)}</td>' if isinstance(c, str) and not _numeric(c) else f"<td>{esc(c)}</td>"
            for c in row
        )
        out.append(f"<tr{cls}>{cells}</tr>")
    return "".join(out) + "</tbody></table>"


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return s == "-"
    return True


def _kv(id_: str, pairs: list[tuple[str, str, object]]) -> str:
    """A two-column table; each value cell carries ``data-key`` (the manifest key it shows)."""
    shown = [(label, key, v if isinstance(v, str) else num(v)) for label, key, v in pairs]
    rows = "".join(
        f'<tr><th>{esc(label)}</th><td data-key="{esc(key)}">{esc(v)}</td></tr>' for label, key, v in shown
    )
    return f'<table id="{esc(id_)}"><tbody>{rows}</tbody></table>'


def capacity(m: dict) -> tuple[dict | None, str]:
    """The capacity the design is compared with and where it comes from: the board's (manifest
    ``board_info``, else :mod:`hwgen.boards` when the board is known), else the placed device's."""
    info = m.get("board_info")
    if info and isinstance(info.get("capacity"), dict):
        return info["capacity"], f"board {info.get('title', m.get('board'))}"
    if m.get("board") not in (None, "none"):
        try:
            from hwgen.boards import get_board

            b = get_board(m["board"])
            return b.describe()["capacity"], f"board {b.title}"
        except Exception:  # noqa: BLE001 - a board this hwgen does not know: shown without capacity
            pass
    for sec in ("synth", "pnr"):
        util = (m.get(sec) or {}).get("utilisation")
        if util:
            cap = {k: util[c]["available"] for k, cells in _CELLS.items() for c in cells if c in util}
            return cap, f"device {m[sec].get('device', '')}"
    return None, ""


def _implemented(m: dict) -> list[tuple[str, dict]]:
    """(label, record) of the implementation results the manifest holds: ``synth`` then ``pnr``."""
    out = []
    if isinstance(m.get("synth"), dict):
        s = m["synth"]
        out.append((f"synthesized ({s.get('flow', 'synth')}, {s.get('device', '')})", s))
    if isinstance(m.get("pnr"), dict):
        out.append((f"placed and routed ({m['pnr'].get('device', '')}, out of context)", m["pnr"]))
    return out


def _summary(m: dict, names: list[str], cycles: list[int]) -> str:
    ii = m["ii_cycles"]
    slow = [n for n, c in zip(names, cycles, strict=True) if c == ii]
    clock = m["clock_mhz"]
    pairs = [
        ("board", "board", m.get("board") or "none"),
        ("clock (MHz)", "clock_mhz", clock),
        ("II (cycles per frame)", "ii_cycles", ii),
        ("frames/s at the clock", "fps", m.get("fps", clock * 1e6 / ii)),
        ("latency (cycles)", "latency_cycles", m["latency_cycles"]),
        ("latency (us)", "latency_us", m["latency_cycles"] / clock),
        ("bottleneck", "bottleneck", ", ".join(slow) or "a buffer"),
    ]
    return '<section id="summary"><h2>Summary</h2>' + _kv("summary-table", pairs) + "</section>"


def _cycles(m: dict, names, cycles) -> str:
    v = m.get("verify") or {}
    png = plots.cycles_plot(names, cycles, m["ii_cycles"], m["latency_cycles"], v.get("cycles_per_frame"))
    return (
        '<section id="cycles"><h2>Cycles per frame</h2>'
        + img_tag(png, "cycles per frame per layer")
        + "</section>"
    )


def _layers(m: dict) -> str:
    header = ["#", "layer", "kind", "shape", "PE", "SIMD", "weights", "stages", "cycles/frame", "latency"]
    header += ["LUTs (est.)", "FFs (est.)", "BRAM bits (est.)"]
    synth = _synth_layers(m)
    header += ["LUTs (synth)", "FFs (synth)", "block RAMs (synth)"] if synth else []
    rows, marked = [], set()
    for k, ly in enumerate(m["layers"]):
        r = ly.get("resources") or {}
        shape = "x".join(map(str, ly["shape"])) if ly.get("shape") else "-"
        rows.append(
            [num(k), ly["name"], ly["kind"], shape, num(ly.get("pe")), num(ly.get("simd")),
             ly.get("weight_storage") or "-", num(ly.get("pipeline", 0)), num(ly["cycles"]),
             num(ly.get("latency")), num(r.get("luts")), num(r.get("ffs")), num(r.get("bram_bits"))]
        )  # fmt: skip
        if synth:
            sy = synth.get(ly["name"]) or {}
            rows[-1] += [num(sy.get("luts")), num(sy.get("ffs")), num(sy.get("brams"))]
        if ly["cycles"] == m["ii_cycles"]:
            marked.add(k)
    note = '<p class="note">Rows in red are the bottleneck (cycles per frame = II).</p>'
    return (
        '<section id="layers"><h2>Layers</h2>'
        + table("layers-table", header, rows, marked)
        + note
        + "</section>"
    )


def _synth_layers(m: dict) -> dict:
    """Synthesized counts per layer and buffer (``hwgen synth``), or {}."""
    s = m.get("synth")
    return (s.get("layers") or {}) if isinstance(s, dict) else {}


def _resources(m: dict) -> str:
    layers, bufs = m["layers"], m.get("buffers") or []
    names = [ly["name"] for ly in layers] + ([f"{len(bufs)} FIFOs and width converters"] if bufs else [])
    sums = {k: sum((b.get("resources") or {}).get(k, 0) for b in bufs) for k in ("luts", "bram_bits")}
    lut = [(ly.get("resources") or {}).get("luts", 0) for ly in layers] + ([sums["luts"]] if bufs else [])
    synth = _synth_layers(m)
    luts = {"estimated": lut}
    if synth:
        per = [(synth.get(ly["name"]) or {}).get("luts", 0) for ly in layers]
        luts["synthesized"] = per + (
            [sum((synth.get(b["name"]) or {}).get("luts", 0) for b in bufs)] if bufs else []
        )
    bram = [(ly.get("resources") or {}).get("bram_bits", 0) for ly in layers] + (
        [sums["bram_bits"]] if bufs else []
    )
    parts = ['<section id="resources"><h2>Resources</h2>']
    parts.append(img_tag(plots.bars("LUTs per layer", names, luts, "LUTs"), "LUTs per layer"))
    parts.append(
        img_tag(plots.bars("estimated BRAM bits per layer", names, {"bits": bram}, "bits"), "BRAM per layer")
    )
    parts.append(
        '<p class="note">Per-layer synthesized numbers come from <code>hwgen synth</code>: one more '
        "synthesis of the accelerator for the same family that keeps the hierarchy (nothing optimised "
        "across a layer's ports, so they add up to a little more than the flattened design).</p>"
        if synth
        else '<p class="note">Per-layer estimates are the layers\' resource models; <code>hwgen synth</code> '
        "adds synthesized numbers per layer.</p>"
    )
    cap, where = capacity(m)
    est = m.get("resources") or {}
    impl = _implemented(m)
    header = ["resource", "estimated"] + [label for label, _ in impl]
    keys = [("LUTs", "luts", "luts"), ("FFs", "ffs", "ffs"), ("BRAM bits", "bram_bits", None)]
    keys.append(("block RAMs", None, "brams"))
    if cap:
        header += [f"capacity ({where})"]
    rows, usage = [], []
    for label, ekey, ikey in keys:
        row = [label, num(est.get(ekey)) if ekey else "-"]
        row += [num(rec.get(ikey)) if ikey else "-" for _, rec in impl]
        ckey = "bram_blocks" if label == "block RAMs" else ekey
        if cap:
            row.append(num(cap.get(ckey)))
            pct = {}
            if ekey and cap.get(ckey) and est.get(ekey) is not None:
                pct["estimated"] = 100.0 * est[ekey] / cap[ckey]
            for ilabel, rec in impl:
                if ikey and cap.get(ckey) and isinstance(rec.get(ikey), int | float):
                    pct[ilabel.split(" (")[0]] = 100.0 * rec[ikey] / cap[ckey]
            if pct:
                usage.append((label, pct))
        rows.append(row)
    parts.append("<h3>Whole design</h3>" + table("totals-table", header, rows))
    if "fit" in m:
        f = m["fit"]
        verdict = '<span class="ok">fits</span>' if f["fits"] else '<span class="bad">DOES NOT FIT</span>'
        parts.append(
            f'<p id="fit">Fit ({esc(f["how"])}): ~{num(f["estimated_luts"])} of {num(f["lut_limit"])} '
            f"LUTs and {num(f['estimated_bram_bits'])} of {num(f['bram_bits_limit'])} BRAM bits with the "
            f"shell: {verdict}</p>"
        )
    if usage:
        parts.append(img_tag(plots.usage_plot(usage), "whole design against the board"))
    elif not cap:
        parts.append('<p class="note">No board: built with --board none, so no capacity to compare with.</p>')
    return "".join(parts) + "</section>"


def _fifos(m: dict) -> str:
    fifos = [b for b in m.get("buffers") or [] if b.get("kind") == "FIFO"]
    parts = ['<section id="fifos"><h2>FIFOs</h2>']
    if not fifos:
        return parts[0] + "<p>No FIFOs.</p></section>"
    peak = (m.get("verify") or {}).get("fifo_peak")
    header = ["FIFO", "lanes", "depth", "storage", "LUTs (est.)", "BRAM bits (est.)"]
    stall = (m.get("verify") or {}).get("stall")
    header += [f"peak occupancy (hwgen verify, pauses {stall:g})"] if peak else []
    rows = []
    for b in fifos:
        r = b.get("resources") or {}
        row = [b["name"], num(b.get("in_lanes")), num(b.get("depth")), b.get("ram_style") or "-"]
        row += [num(r.get("luts")), num(r.get("bram_bits"))]
        rows.append(row + ([num(peak.get(b["name"]))] if peak else []))
    parts.append(table("fifos-table", header, rows))
    depths = {"depth": [b.get("depth", 0) for b in fifos]}
    if peak:
        depths["peak occupancy"] = [peak.get(b["name"], 0) for b in fifos]
    parts.append(
        img_tag(plots.bars("FIFO depths", [b["name"] for b in fifos], depths, "beats"), "FIFO depths")
    )
    if not peak:
        parts.append(
            '<p class="note">Peak occupancy: run <code>hwgen verify</code> on this build (its harness counts '
            "the beats each FIFO holds).</p>"
        )
    return "".join(parts) + "</section>"


def _timing(m: dict) -> str:
    parts = ['<section id="timing"><h2>Timing</h2>']
    impl = [(label, rec) for label, rec in _implemented(m) if "fmax_mhz" in rec]
    if not impl:
        return parts[0] + (
            f'<p>Requested clock <span data-key="clock_mhz">{num(m["clock_mhz"])}</span> MHz; not placed and '
            "routed yet (hwgen synth OUT, or hwgen sweep --pnr), so no Fmax.</p></section>"
        )
    header, rows = ["result", "requested (MHz)", "achieved Fmax (MHz)", "timing"], []
    for label, rec in impl:
        rows.append(
            [label, num(rec["freq_mhz"]), num(rec["fmax_mhz"]), "met" if rec["meets_timing"] else "FAILED"]
        )
    parts.append(table("timing-table", header, rows))
    names = [label.split(" (")[0] for label, _ in impl]
    series = {
        "requested": [rec["freq_mhz"] for _, rec in impl],
        "achieved": [rec["fmax_mhz"] for _, rec in impl],
    }
    parts.append(img_tag(plots.bars("Fmax achieved vs requested", names, series, "MHz"), "Fmax"))
    return "".join(parts) + "</section>"


def _verify(m: dict) -> str:
    v = m.get("verify")
    if not v:
        return (
            '<section id="verify"><h2>Verification</h2><p>Not verified yet (hwgen verify OUT).</p></section>'
        )
    verdict = "PASS" if v["passed"] else "FAIL"
    pairs = [
        ("result", "verify.passed", verdict),
        ("frames", "verify.frames", v["frames"]),
        ("mismatching frames", "verify.mismatching_frames", v["mismatching_frames"]),
        ("measured cycles per frame", "verify.cycles_per_frame", v.get("cycles_per_frame")),
        ("II (cycles per frame, computed)", "ii_cycles", m["ii_cycles"]),
        ("measured first-output latency (cycles)", "verify.first_out_latency", v.get("first_out_latency")),
        ("latency (cycles, computed)", "latency_cycles", m["latency_cycles"]),
        ("pause probability on both ends", "verify.stall", v.get("stall", 0.0)),
    ]
    return '<section id="verify"><h2>Verification</h2>' + _kv("verify-table", pairs) + "</section>"


def page(title: str, body: str) -> str:
    """A complete HTML page: ``body`` under an ``<h1>`` of ``title``, the style inline."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>\n"
    )


def render(m: dict) -> str:
    """The page of build manifest ``m`` (the build time is left out: same build, same bytes)."""
    names = [ly["name"] for ly in m["layers"]]
    cycles = [ly["cycles"] for ly in m["layers"]]
    model = esc(Path(m["model"]["source"]).name)
    head = (
        f'<p class="note">hwgen {esc(m.get("hwgen_version", ""))}; model {model}, '
        f"sha256 <code>{esc(m['model']['sha256'])}</code>; Verilog {esc(', '.join(m['rtl']['files']))}</p>"
    )
    body = head + "".join(
        [_summary(m, names, cycles), _cycles(m, names, cycles), _layers(m), _resources(m)]
        + [_fifos(m), _timing(m), _verify(m)]
    )
    return page(f"hwgen build of {Path(m['model']['source']).name}", body)


def write_html_report(m: dict, path) -> Path:
    """Write :func:`render` of manifest ``m`` to ``path``; returns the path."""
    path = Path(path)
    path.write_text(render(m), encoding="utf-8")
    return path
