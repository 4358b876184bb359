"""Beat-level timing of the first frame through an empty accelerator, for its ``latency_cycles``.

Each stage maps the cycles at which its input beats of frame 0 become valid to the cycles at which its
output beats become valid, following the layer's documented pipeline (:mod:`hwgen.layers`), with the
output side never stalling. The input stream offers beat ``j`` at cycle ``j`` (the first beat is accepted
at cycle 0). For one layer fed at one beat per cycle each model gives the layer's own
``latency_cycles`` for the first output beat.
"""

from __future__ import annotations

from hwgen.layers import FIFO, MVTU, LabelSelect, MaxPool, SlidingWindow, Thresholding, WidthConverter

__all__ = ["first_output_cycle", "stage_times"]


def _mvtu(c: MVTU, a: list[int]) -> list[int]:
    mh, mw = c.shape
    nf, sf = mh // c.pe, mw // c.simd
    out, t = [], -1
    for v in range(len(a) // sf):
        for f in range(nf):
            for b in range(sf):
                t = max(t + 1, a[v * sf + b]) if f == 0 else t + 1
            out.append(t + 4)  # issue, operands, lane sums, accumulate -> output queue
    return out


def _steady(a: list[int], delay: int) -> list[int]:
    out, t = [], -1
    for x in a:
        t = max(t + 1, x + delay)
        out.append(t)
    return out


def _width(c: WidthConverter, a: list[int]) -> list[int]:
    n_in, n_out = c._in, c._out
    n = len(a) * n_in // n_out
    return _steady([a[((j + 1) * n_out - 1) // n_in] for j in range(n)], 1)


def _window_reads(h, w, cf, kh, kw, s, pad, oh, ow):
    """Input beat each output beat reads (None for padding), in output order."""
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * s - pad + ky, ox * s - pad + kx
                    inside = 0 <= iy < h and 0 <= ix < w
                    for f in range(cf):
                        yield (iy * w + ix) * cf + f if inside else None


def _swg(c: SlidingWindow, a: list[int]) -> list[int]:
    reads = _window_reads(c._h, c._w, c._cf, c._kh, c._kw, c._s, c._pad, c._oh, c._ow)
    out, t = [], -1
    for rb in reads:
        t = max(t + 1, a[0 if rb is None else rb] + 1)
        out.append(t + 2)
    return out


def _maxpool(c: MaxPool, a: list[int]) -> list[int]:
    k, s, cf = c._k, c._s, c._cf
    if s != k:
        inner = SlidingWindow(c._h, c._w, c._c, k=k, stride=s, simd=c._simd, dtype=c._dt)
        inner._MustUse__silence = True
        win, n = _swg(inner, a), k * k * cf  # each window's fold f ends with its beat (k-1, k-1, f)
        return _steady([win[g * n + n - cf + f] for g in range(len(win) // n) for f in range(cf)], 1)
    last = [
        a[((oy * k + k - 1) * c._w + ox * k + k - 1) * cf + f]
        for oy in range(c._oh)
        for ox in range(c._ow)
        for f in range(cf)
    ]
    return _steady(last, 1)


def _label_select(c: LabelSelect, a: list[int]) -> list[int]:
    return [a[-1] + 1 + j for j in range(c._k)]


def stage_times(comp, a: list[int]) -> list[int]:
    """Valid cycles of the output beats of ``comp`` for input beats valid at cycles ``a`` (one frame)."""
    if isinstance(comp, MVTU):
        return _mvtu(comp, a)
    if isinstance(comp, FIFO):
        return _steady(a, comp.latency_cycles)
    if isinstance(comp, WidthConverter):
        return _width(comp, a)
    if isinstance(comp, Thresholding):
        return _steady(a, 2)
    if isinstance(comp, SlidingWindow):
        return _swg(comp, a)
    if isinstance(comp, MaxPool):
        return _maxpool(comp, a)
    if isinstance(comp, LabelSelect):
        return _label_select(comp, a)
    raise TypeError(f"no timing model for {type(comp).__name__}")


def first_output_cycle(stages) -> int:
    """Cycle of the first output beat of a chain of stages fed one frame at one beat per cycle."""
    first = stages[0]
    a = list(range(first.in_elems // first.in_lanes))
    for st in stages:
        a = stage_times(st.component, a)
    return a[0]
