"""The plots of ``OUT/report.html`` and ``sweep.html``: matplotlib figures as PNG bytes.

Figures are made with :class:`matplotlib.figure.Figure` and the Agg canvas directly (no ``pyplot``, so no
global state and no display is touched; safe in worker processes and threads). The PNGs carry no software or
time stamp, so the same numbers give the same bytes.
"""

from __future__ import annotations

import io

__all__ = ["bars", "cycles_plot", "front_plot", "usage_plot"]

#: Colours: ordinary bars, the bottleneck / a failed point, limits, a second series.
BLUE, RED, GREY, ORANGE, GREEN = "#4c72b0", "#c44e52", "#555555", "#dd8452", "#55a868"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def cycles_plot(names: list[str], cycles: list[int], ii: int, latency: int, measured: int | None) -> bytes:
    """Cycles per frame per layer (horizontal bars), the bottleneck(s) in red, the II as a dashed line and
    the measured cycles per frame (after ``verify``) as a dotted one."""
    fig = _figure(8, 0.9 + 0.32 * len(names))
    ax = fig.add_subplot()
    y = list(range(len(names)))[::-1]
    colours = [RED if c == ii else BLUE for c in cycles]
    ax.barh(y, cycles, color=colours)
    ax.set_yticks(y, [_short(n) for n in names], fontsize=8)
    ax.axvline(ii, color=GREY, linestyle="--", linewidth=1, label=f"II = {ii} cycles (bottleneck in red)")
    if measured is not None:
        ax.axvline(measured, color=GREEN, linestyle=":", linewidth=1.5, label=f"measured {measured} cycles")
    ax.set_xlabel("cycles per frame")
    ax.set_title(f"II {ii} cycles, latency {latency} cycles (first input to first output)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def bars(title: str, names: list[str], series: dict[str, list[float]], xlabel: str) -> bytes:
    """Grouped horizontal bars: one group per name, one bar per series (``{label: values}``)."""
    n, k = len(names), max(len(series), 1)
    fig = _figure(8, 0.9 + 0.3 * n * max(1, k * 0.6))
    ax = fig.add_subplot()
    h = 0.8 / k
    colours = [BLUE, ORANGE, GREEN, RED]
    for j, (label, values) in enumerate(series.items()):
        y = [n - 1 - i + (k - 1 - 2 * j) * h / 2 for i in range(n)]
        ax.barh(y, values, height=h, color=colours[j % len(colours)], label=label)
    ax.set_yticks(list(range(n))[::-1], [_short(s) for s in names], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return _png(fig)


def usage_plot(rows: list[tuple[str, dict[str, float]]]) -> bytes:
    """Percent of the board per resource: ``rows`` = [(resource, {series: percent})], a line at 100 %."""
    names = [r for r, _ in rows]
    labels = sorted({s for _, d in rows for s in d})
    series = {s: [d.get(s, 0.0) for _, d in rows] for s in labels}
    fig = _figure(8, 0.9 + 0.45 * len(rows) * max(1, len(labels) * 0.6))
    ax = fig.add_subplot()
    n, k = len(names), max(len(labels), 1)
    h = 0.8 / k
    for j, (label, values) in enumerate(series.items()):
        y = [n - 1 - i + (k - 1 - 2 * j) * h / 2 for i in range(n)]
        ax.barh(y, values, height=h, color=(BLUE, ORANGE, GREEN)[j % 3], label=label)
    ax.axvline(100, color=RED, linewidth=1)
    ax.set_yticks(list(range(n))[::-1], names, fontsize=9)
    ax.set_xlabel("% of the board's capacity")
    ax.set_title("whole design against the board", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def front_plot(points: list[dict], resource: str, title: str) -> bytes:
    """Frames/s against ``resource`` of sweep points (dicts with ``fps``, ``resource``, ``ok``: fits and
    meets timing, ``front``: on the Pareto front); failed points in red, the front joined by a line."""
    fig = _figure(7, 4.2)
    ax = fig.add_subplot()
    front = sorted((p for p in points if p.get("front")), key=lambda p: p[resource])
    if front:
        ax.plot([p[resource] for p in front], [p["fps"] for p in front], color=GREY, linewidth=1)
    for ok, colour, label in ((True, BLUE, "fits and meets timing"), (False, RED, "does not")):
        sel = [p for p in points if bool(p["ok"]) == ok]
        if sel:
            ax.scatter(
                [p[resource] for p in sel], [p["fps"] for p in sel], color=colour, label=label, zorder=3
            )
    ax.set_xlabel(resource)
    ax.set_ylabel("frames/s")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
