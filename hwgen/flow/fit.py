# amaranth: UnusedElaboratable=no
# (candidate accelerators are priced from their stages and never elaborated)
"""Fit first: the folding of a build for a board (``hwgen build --board B``).

A folding fits a board when the estimated resources of the whole accelerator (every layer, FIFO and width
converter, priced by the layers' own models for the board's family) plus the board shell's allowance stay
within the board's capacity times a stated margin: :data:`LUT_MARGIN` of the logic cells and
:data:`BRAM_MARGIN` of the block-RAM bits (memories fill whole blocks, so bits alone understate them).

- no ``--folding`` and no ``--target-fps``: the fastest folding that fits at the board's clock;
- ``--target-fps F``: the cheapest folding that meets F; if it does not fit, one line with what it needs and
  the fastest rate that does fit;
- nothing fits: one line saying what overflows (LUTs, BRAM bits) by how much at the smallest folding;
- ``--folding FILE``: used as given; the manifest records whether it fits.

The candidates are :func:`hwgen.dataflow.auto_folding` foldings for every initiation interval some layer
can have; fitting is monotone in the interval (a slower target never needs more), so a bisection finds the
fastest one that fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwgen.errors import HwgenError

__all__ = ["BRAM_MARGIN", "LUT_MARGIN", "SHELL", "FitCheck", "check_fit", "fold_for_board"]

#: Fractions of the board's LUTs and block-RAM bits the accelerator and its shell may use.
LUT_MARGIN = 0.85
BRAM_MARGIN = 0.70
#: What the board shell adds (UART shell on the open flows; PS interconnect, AXI DMA and its FIFOs on Zynq).
SHELL = {"ice40": {"luts": 250, "bram_bits": 0}, "ecp5": {"luts": 250, "bram_bits": 0}}
SHELL["vivado"] = {"luts": 3000, "bram_bits": 4 * 36864}


@dataclass(frozen=True)
class FitCheck:
    """Estimated use of one folding on one board."""

    luts: int
    bram_bits: int
    lut_limit: int
    bram_limit: int
    fps: float

    @property
    def fits(self) -> bool:
        return self.luts <= self.lut_limit and self.bram_bits <= self.bram_limit

    def overflow(self) -> str:
        parts = []
        if self.luts > self.lut_limit:
            parts.append(f"LUTs by {self.luts - self.lut_limit} ({self.luts} > {self.lut_limit})")
        if self.bram_bits > self.bram_limit:
            parts.append(
                f"BRAM bits by {self.bram_bits - self.bram_limit} ({self.bram_bits} > {self.bram_limit})"
            )
        return " and ".join(parts)

    def as_dict(self) -> dict:
        return {
            "estimated_luts": self.luts,
            "estimated_bram_bits": self.bram_bits,
            "lut_limit": self.lut_limit,
            "bram_bits_limit": self.bram_limit,
            "lut_margin": LUT_MARGIN,
            "bram_margin": BRAM_MARGIN,
            "fits": self.fits,
        }


def _estimate(hw, folding, family: str) -> dict:
    from hwgen.dataflow import Accelerator

    acc = Accelerator(hw, folding)
    tot = {"luts": 0, "bram_bits": 0}
    for st in acc.stages:
        r = st.resources(family)
        tot["luts"] += int(r.get("luts", 0))
        tot["bram_bits"] += int(r.get("bram_bits", 0))
    return tot


def check_fit(hw, folding, board, clock_mhz: float) -> FitCheck:
    """Estimated resources of ``folding`` of ``hw`` with the shell of ``board`` against its capacity."""
    est = _estimate(hw, folding, board.family)
    shell = SHELL[board.flow]
    return FitCheck(
        luts=est["luts"] + shell["luts"],
        bram_bits=est["bram_bits"] + shell["bram_bits"],
        lut_limit=math.floor(board.luts * LUT_MARGIN),
        bram_limit=math.floor(board.bram_bits * BRAM_MARGIN),
        fps=clock_mhz * 1e6 / folding.ii_cycles,
    )


def _interval_candidates(hw) -> list[int]:
    """Every initiation interval a folding of ``hw`` can have (each some layer's cycles), ascending."""
    from hwgen.dataflow.folding import _bases, _candidates

    bases = _bases(hw)
    fastest = max(min(sp.cycles for sp in _candidates(b)) for b in bases)
    return sorted({sp.cycles for b in bases for sp in _candidates(b) if sp.cycles >= fastest})


def _folded(hw, ii: int, pipeline: int):
    from hwgen.dataflow import auto_folding

    f = auto_folding(hw, target_ii=ii)
    return f.with_pipeline(pipeline) if pipeline else f


def fastest_fitting(hw, board, clock_mhz: float, pipeline: int = 0):
    """``(folding, FitCheck)`` of the fastest folding that fits, or ``(None, check of the smallest)``."""
    iis = _interval_candidates(hw)
    slow = _folded(hw, iis[-1], pipeline)
    slow_check = check_fit(hw, slow, board, clock_mhz)
    if not slow_check.fits:
        return None, slow_check
    lo, hi = 0, len(iis) - 1  # iis[hi] fits
    best = (slow, slow_check)
    while lo < hi:
        mid = (lo + hi) // 2
        f = _folded(hw, iis[mid], pipeline)
        c = check_fit(hw, f, board, clock_mhz)
        if c.fits:
            hi, best = mid, (f, c)
        else:
            lo = mid + 1
    return best


def fold_for_board(hw, options, board):
    """The folding of a ``--board`` build and its fit record for the manifest (see the module docstring)."""
    from . import steps

    clock = options.clock_mhz
    model = options.model
    if options.folding_file is not None:
        folding = steps.fold(hw, options)
        check = check_fit(hw, folding, board, clock)
        return folding, {"how": "folding file", **check.as_dict()}
    if options.target_fps is not None:
        folding = steps.fold(hw, options)
        check = check_fit(hw, folding, board, clock)
        if check.fits:
            return folding, {"how": f"cheapest folding for {options.target_fps:g} fps", **check.as_dict()}
        best, best_check = fastest_fitting(hw, board, clock, options.pipeline_stages())
        tail = (
            f"the fastest folding that fits gives {best_check.fps:.0f} fps"
            if best is not None
            else "no folding fits"
        )
        raise HwgenError(
            f"--target-fps {options.target_fps:g} does not fit {board.title} at {clock:g} MHz: it overflows "
            f"{check.overflow()} (margins {LUT_MARGIN:.0%} LUT, {BRAM_MARGIN:.0%} BRAM); {tail}"
        )
    folding, check = fastest_fitting(hw, board, clock, options.pipeline_stages())
    if folding is None:
        raise HwgenError(
            f"{model}: does not fit {board.title} at any folding: the smallest overflows {check.overflow()} "
            f"(margins {LUT_MARGIN:.0%} LUT, {BRAM_MARGIN:.0%} BRAM, shell included)"
        )
    return folding, {"how": "fastest folding that fits", **check.as_dict()}
