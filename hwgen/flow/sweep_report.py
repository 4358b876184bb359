"""``DIR/sweep.json``, ``sweep.csv`` and ``sweep.html`` of a sweep (rewritten as each point finishes).

Per point: the folding, II and frames/s it was built for, the measured cycles per frame and the frames/s
they give at the clock, the estimated resources (layer models, xc7), and with ``--pnr`` the placed LUTs,
flip-flops, block RAMs and Fmax. ``fits``: the board's fit check (``--board``) and the device's capacity
(``--pnr``) where known; ``meets_timing``: Fmax >= clock where placed; ``ok``: built, verified equal to the
golden model, fits and meets timing where known. ``front``: on the Pareto front of measured frames/s
against LUTs and BRAM (placed numbers when there are, else estimated) among the ok points.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from . import report_plots as plots
from .report_html import esc, img_tag, num, page, table

__all__ = ["CSV_COLUMNS", "summarize", "write_outputs"]

CSV_COLUMNS = [
    "key", "clock_mhz", "ii_cycles", "fps", "cycles_per_frame", "measured_fps", "latency_cycles", "luts",
    "bram_bits", "est_luts", "est_ffs", "est_bram_bits", "pnr_luts", "pnr_ffs", "pnr_brams", "fmax_mhz",
    "fits", "meets_timing", "passed", "ok", "front", "status", "folding",
]  # fmt: skip


def summarize(tasks: list[dict], results: dict) -> list[dict]:
    """One row per planned point (finished or not), with the derived fields of the module docstring."""
    rows = []
    for t in tasks:
        r = dict(results.get(t["key"]) or {})
        row = {k: t.get(k) for k in ("key", "clock_mhz", "ii_cycles", "fps", "est_luts", "est_bram_bits")}
        row |= {k: v for k, v in r.items() if k not in ("folding",)}
        row["folding"] = t["folding"]
        row["status"] = "pending" if not r else ("error" if r.get("error") else "done")
        cpf = r.get("cycles_per_frame")
        row["measured_fps"] = t["clock_mhz"] * 1e6 / cpf if cpf else None
        row["luts"] = r.get("pnr_luts", row.get("est_luts"))
        row["bram_bits"] = row.get("est_bram_bits")
        fits = [r[k] for k in ("fits", "pnr_fits") if r.get(k) is not None]
        row["fits"] = all(fits) if fits else None
        row["meets_timing"] = r.get("meets_timing")
        row["ok"] = bool(r) and not r.get("error") and bool(r.get("passed")) and row["fits"] is not False
        row["ok"] = row["ok"] and row["meets_timing"] is not False
        rows.append(row)
    good = [x for x in rows if x["ok"] and x["measured_fps"]]
    for x in rows:
        x["front"] = x in good and not any(_beats(o, x) for o in good)
    return rows


def _beats(a: dict, b: dict) -> bool:
    ka = (a["luts"] or 0, a["bram_bits"] or 0, -a["measured_fps"])
    kb = (b["luts"] or 0, b["bram_bits"] or 0, -b["measured_fps"])
    return all(x <= y for x, y in zip(ka, kb, strict=True)) and ka != kb


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "folding": json.dumps(r["folding"], sort_keys=True)})
    return buf.getvalue()


def _html(spec, rows: list[dict]) -> str:
    done = [r for r in rows if r["status"] == "done" and r["measured_fps"]]
    note = (
        f'<p class="note">model {esc(Path(spec.model).name)}; board {esc(spec.board)}; '
        f"{len(done)} of {len(rows)} points finished; place and route: {esc(spec.pnr or 'not run')}</p>"
    )
    parts = [note]
    if done:
        pts = [{**r, "fps": r["measured_fps"]} for r in done]
        parts.append(img_tag(plots.front_plot(pts, "luts", "measured frames/s against LUTs"), "front: LUTs"))
        parts.append(
            img_tag(plots.front_plot(pts, "bram_bits", "measured frames/s against BRAM bits"), "front: BRAM")
        )
    header = [
        "key",
        "clock (MHz)",
        "II",
        "cycles/frame (measured)",
        "frames/s (measured)",
        "LUTs",
        "BRAM bits",
    ]
    header += ["Fmax (MHz)", "fits", "meets timing", "verified", "front", "status"]
    trows = []
    for r in rows:
        yn = {True: "yes", False: "NO", None: "-"}
        trows.append(
            [r["key"], num(r["clock_mhz"]), num(r["ii_cycles"]), num(r.get("cycles_per_frame")),
             num(r["measured_fps"]), num(r["luts"]), num(r["bram_bits"]), num(r.get("fmax_mhz")),
             yn[r["fits"]], yn[r["meets_timing"]], yn[r.get("passed")], yn[r["front"]] if r["ok"] else "-",
             r["status"] if not r.get("error") else f"error: {r['error']}"]
        )  # fmt: skip
    parts.append(table("points-table", header, trows))
    return page(f"hwgen sweep of {Path(spec.model).name}", "".join(parts))


def write_outputs(out: Path, spec, tasks: list[dict], results: dict) -> list[dict]:
    """Write the three files of a sweep into ``out``; returns the rows."""
    out = Path(out)
    rows = summarize(tasks, results)
    doc = {
        "format": "hwgen-sweep",
        "model": str(Path(spec.model).resolve()),
        "model_sha256": tasks[0]["model_sha256"] if tasks else None,
        "board": spec.board,
        "pnr": spec.pnr,
        "random_frames": spec.random,
        "points": rows,
    }
    _atomic(out / "sweep.json", json.dumps(doc, indent=1, sort_keys=True) + "\n")
    _atomic(out / "sweep.csv", _csv(rows))
    _atomic(out / "sweep.html", _html(spec, rows))
    return rows
