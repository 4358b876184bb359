"""The padding lanes of a matrix layer's windows, for a padded sliding window on bipolar values.

Bipolar codes cannot hold the model's padding 0, so the window pads with +1 and the matrix layer leaves
those lanes out (:mod:`hwgen.layers.mac`). ``pad_rows`` (OH, KH) and ``pad_cols`` (OW, KW) are 0/1
tables: lane (ky, kx, c) of window (oy, ox) is padding when ``pad_rows[oy, ky] | pad_cols[ox, kx]``.
The layer counts its own windows, one per input vector, so the stream carries nothing extra.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Shape

from hwgen.ir.datatypes import BIPOLAR, DataType
from hwgen.layers import _common as c

__all__ = ["check_tables", "kind", "lane_mask", "uniform"]


def check_tables(pad_rows, pad_cols, idt: DataType, mw: int, vectors: int):
    """The tables as int64 arrays; ValueError naming the parameter when they do not describe the
    ``vectors`` windows of ``mw`` lanes of a bipolar input."""
    if (pad_rows is None) != (pad_cols is None):
        raise ValueError("'pad_rows' and 'pad_cols' go together")
    rows, cols = c.int_array("pad_rows", pad_rows, 2), c.int_array("pad_cols", pad_cols, 2)
    if idt != BIPOLAR:
        raise ValueError(f"'pad_rows'/'pad_cols' mask bipolar inputs, not {idt}")
    (oh, kh), (ow, kw) = rows.shape, cols.shape
    if not np.isin(rows, (0, 1)).all() or not np.isin(cols, (0, 1)).all():
        raise ValueError("'pad_rows'/'pad_cols' must hold 0/1")
    if min(oh, kh, ow, kw) < 1 or mw % (kh * kw):
        raise ValueError(f"'pad_rows'/'pad_cols' describe a {kh}x{kw} window, but MW={mw} is not one")
    if vectors != oh * ow:
        raise ValueError(f"'pad_rows'/'pad_cols' describe {oh}x{ow} windows, but 'vectors'={vectors}")
    return rows, cols


def uniform(pad_rows: np.ndarray, pad_cols: np.ndarray, mw: int, simd: int) -> bool:
    """SIMD divides the channels: every beat lies in one pixel of the window, one mask bit covers it."""
    return (mw // pad_rows.shape[1] // pad_cols.shape[1]) % simd == 0


def kind(pad_rows, pad_cols, mw: int, simd: int) -> str:
    """``""`` (no padding lanes), ``"beat"`` (one mask bit per beat) or ``"lane"`` (one per lane)."""
    if pad_rows is None:
        return ""
    return "beat" if uniform(pad_rows, pad_cols, mw, simd) else "lane"


def lane_mask(m, pad_rows: np.ndarray, pad_cols: np.ndarray, mw: int, simd: int, sf, vector_done):
    """The padding lanes of input beat ``sf`` (of MW/SIMD) of the current window, whose position
    (oy, ox) is counted here and advanced by ``vector_done``: SIMD bits, or one bit for the whole beat
    when :func:`uniform`."""
    (oh, kh), (ow, kw) = pad_rows.shape, pad_cols.shape
    ch = mw // (kh * kw)
    ox, _, _, row_done = c.fold_counter(m, ow, vector_done, "ox")
    oy = c.fold_counter(m, oh, row_done, "oy")[0]
    rows = Cat(Const(_bits(r), kh) for r in pad_rows).word_select(oy, kh)  # bit ky
    cols = Cat(Const(_bits(r), kw) for r in pad_cols).word_select(ox, kw)  # bit kx
    window = Cat(rows[ky] | cols[kx] for ky in range(kh) for kx in range(kw))  # bit ky·KW + kx
    if uniform(pad_rows, pad_cols, mw, simd):
        per_pixel = ch // simd
        width = Shape.cast(c.idx(kh * kw)).width
        pixel = Cat(Const(b // per_pixel, width) for b in range(mw // simd)).word_select(sf, width)
        return window.bit_select(pixel, 1)
    return Cat(window[e // ch] for e in range(mw)).word_select(sf, simd)


def _bits(flags) -> int:
    """Bit ``i`` set where ``flags[i]``."""
    return sum(1 << i for i, f in enumerate(flags) if f)
