"""Integer thresholds from a monotone step function of an integer, and their exhaustive check."""

from __future__ import annotations

import numpy as np

__all__ = ["ThresholdCheckError", "check_thresholds", "derive_thresholds"]


class ThresholdCheckError(AssertionError):
    """Derived thresholds disagree with the float sub-graph on a reachable integer: a bug, never tolerated."""


def derive_thresholds(
    table: np.ndarray, lo: np.ndarray, hi: np.ndarray, base: int, levels: int
) -> np.ndarray:
    """Thresholds (C, T) from ``table`` (R, C): the output level of every integer ``base + r``.

    For channel ``c`` only rows ``lo[c] - base .. hi[c] - base`` are reachable; there the table must be
    non-decreasing (checked afterwards). ``t[c, k-1]`` is the first reachable integer whose level is ``>= k``,
    or ``hi[c] + 1`` if none is: thresholds always lie in ``[lo[c], hi[c] + 1]``.
    """
    r = np.arange(table.shape[0])[:, None] + base
    reach = (r >= lo[None, :]) & (r <= hi[None, :])
    t = np.empty((table.shape[1], levels), dtype=np.int64)
    for k in range(1, levels + 1):
        below = np.count_nonzero(reach & (table < k), axis=0)
        t[:, k - 1] = lo + below
    return t


def check_thresholds(table, lo, hi, base: int, thresholds, where: str = "") -> None:
    """Raise :class:`ThresholdCheckError` unless ``#{t : v >= t}`` == ``table`` on every reachable ``v``."""
    table = np.asarray(table)
    thr = np.asarray(thresholds, dtype=np.int64)
    if thr.shape[1] > 1 and np.any(
        np.diff(thr, axis=1) < 0
    ):  # the count below ignores order; hardware doesn't
        raise ThresholdCheckError(f"{where}: threshold rows are not ascending")
    r = np.arange(table.shape[0])[:, None] + base
    reach = (r >= np.asarray(lo)[None, :]) & (r <= np.asarray(hi)[None, :])
    cnt = np.zeros(table.shape, dtype=np.int64)
    for k in range(thr.shape[1]):
        cnt += r >= thr[None, :, k]
    bad = reach & (cnt != table)
    if np.any(bad):
        rr, cc = np.argwhere(bad)[0]
        raise ThresholdCheckError(
            f"{where}: thresholds disagree with the float sub-graph at channel {cc}, integer "
            f"{int(rr) + base}: threshold count {int(cnt[rr, cc])}, float gives {int(table[rr, cc])}"
        )
