"""How many pipeline stages a clock needs, per FPGA family: ``hwgen build --pipeline auto``.

A layer's ``pipeline`` setting bounds the logic between two of its registers (MVTU: 0 = weight ROM, lane
sums and accumulator in few cycles; 1 = registered ROM/BRAM outputs, operands and threshold words;
2 = also the compressor trees cut in the middle; 3 = cut in three). The streams between layers are the same
at every setting (registered ``valid``, ``ready`` and payload: shift queues, register FIFOs, registered
width-converter flags), so the setting alone decides the longest register-to-register path.

:data:`LUT_LEVELS` is that path's depth in LUTs per setting (read off nextpnr's critical paths of the
example accelerators, ``benchmarks/fmax.py``), :data:`NS_PER_LEVEL` and :data:`FIXED_NS` what one level
(a LUT and its routing) and the register (clock to out, setup) cost on each family at nextpnr's default
speed grade; :func:`stage_fmax_mhz` is the clock a setting is rated for, :func:`choose_pipeline` the fewest
stages whose rating meets the clock (the deepest setting if none does; a family left open takes the most
any family needs). The ratings are checked against place and route by ``benchmarks/fmax.py`` and by the
slow test in ``tests/flow/test_pnr.py``.
"""

from __future__ import annotations

from hwgen.errors import HwgenError

__all__ = ["FAMILIES", "FIXED_NS", "LUT_LEVELS", "NS_PER_LEVEL", "choose_pipeline", "stage_fmax_mhz"]

#: Timing families: iCE40 (LUT4), ECP5 (LUT4), Xilinx 7-series and later (LUT6).
FAMILIES = ("ice40", "ecp5", "xc7")
#: LUTs on the longest register-to-register path per setting and family (a block-RAM read counts as one).
LUT_LEVELS = {
    "ice40": {0: 7, 1: 6, 2: 5, 3: 4},
    # 1: SFC-W1A1 on the ULX3S board flow, 98.1 MHz (a 16-bit popcount), one level more for wider lanes;
    # 2: CNV-W1A1's 48-lane sums cut in two keep six LUTs and a carry chain per stage (synth_ecp5)
    "ecp5": {0: 8, 1: 7, 2: 6, 3: 3},
    "xc7": {0: 6, 1: 4, 2: 3, 3: 3},
}
#: One level: a LUT and the routing to the next (nanoseconds).
NS_PER_LEVEL = {"ice40": 2.9, "ecp5": 1.62, "xc7": 0.75}
#: Clock to out plus setup of the registers at both ends, and the skew (nanoseconds).
FIXED_NS = {"ice40": 2.2, "ecp5": 0.6, "xc7": 1.0}
#: Settings from the shallowest to the deepest.
SETTINGS = (0, 1, 2, 3)


def stage_fmax_mhz(family: str, pipeline: int) -> float:
    """The clock (MHz) setting ``pipeline`` is rated for on ``family``."""
    if family not in FAMILIES:
        raise HwgenError(f"unknown FPGA family {family!r}; expected one of {', '.join(FAMILIES)}")
    ns = FIXED_NS[family] + LUT_LEVELS[family][pipeline] * NS_PER_LEVEL[family]
    return round(1000.0 / ns, 1)


def choose_pipeline(clock_mhz: float, family: str | None = None) -> int:
    """The fewest extra stages whose rating on ``family`` meets ``clock_mhz`` (the deepest if none does);
    ``family`` None: the most that any family needs."""
    if family is None:
        return max(choose_pipeline(clock_mhz, f) for f in FAMILIES)
    for p in SETTINGS:
        if stage_fmax_mhz(family, p) >= clock_mhz:
            return p
    return SETTINGS[-1]
