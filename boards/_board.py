"""What hwgen knows about a board: the FPGA, its capacity, its clock and how to reach the build clock.

Every board module of :mod:`hwgen.boards` exports one subclass of :class:`Board` with everything as class
attributes (the amaranth-boards style). Boards of the open flows (``flow`` = ``"ice40"`` or ``"ecp5"``) name
their amaranth-boards platform (``platform``, imported lazily) and the resources the UART shell uses; Zynq
boards (``flow`` = ``"vivado"``) get a processing system and an AXI DMA from the Vivado Tcl template instead.

The PLL settings that turn the board oscillator into the build clock are computed here, from the devices'
data-sheet limits: :func:`ice40_pll` (SB_PLL40, simple feedback) and :func:`ecp5_pll` (EHXPLLL, feedback
from CLKOP); :func:`zynq_fclk` for the processing system's fabric clock.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

from hwgen.errors import HwgenError

__all__ = ["Board", "PllSettings", "ecp5_pll", "ice40_pll", "zynq_fclk"]


@dataclass(frozen=True)
class PllSettings:
    """Dividers of one PLL and the frequency they give (``achieved_mhz``; exact, from the dividers)."""

    primitive: str  # "SB_PLL40_PAD", "EHXPLLL", "PS FCLK", or "none" (the oscillator is used directly)
    input_mhz: float
    achieved_mhz: float
    params: dict

    def describe(self) -> str:
        if self.primitive == "none":
            return f"oscillator {self.input_mhz:g} MHz used directly"
        p = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.primitive} {self.input_mhz:g} -> {self.achieved_mhz:.4g} MHz ({p})"


#: Relative error accepted between the requested and the achieved clock.
PLL_TOLERANCE = 0.005


def _filter_range(pfd_mhz: float) -> int:
    # SB_PLL40 loop filter range by phase-detector frequency (iCE40 sysCLOCK PLL design guide)
    for k, top in enumerate((17, 26, 44, 66, 101), start=1):
        if pfd_mhz < top:
            return k
    return 6


def ice40_pll(input_mhz: float, target_mhz: float) -> PllSettings:
    """SB_PLL40 dividers for ``target_mhz`` from ``input_mhz`` (f = f_in·(DIVF+1) / ((DIVR+1)·2^DIVQ)).

    Limits: phase detector 10-133 MHz, VCO 533-1066 MHz, output 16-275 MHz. The oscillator itself is used
    when it is the target. HwgenError when no setting is within :data:`PLL_TOLERANCE`.
    """
    if math.isclose(input_mhz, target_mhz):
        return PllSettings("none", input_mhz, input_mhz, {})
    best = None
    for divr in range(16):
        pfd = input_mhz / (divr + 1)
        if not 10 <= pfd <= 133:
            continue
        for divq in range(1, 7):
            divf = round(target_mhz * (1 << divq) / pfd) - 1
            if not 0 <= divf <= 127:
                continue
            vco = pfd * (divf + 1)
            out = vco / (1 << divq)
            if not (533 <= vco <= 1066 and 16 <= out <= 275):
                continue
            err = abs(out - target_mhz)
            if best is None or err < best[0]:
                params = {"DIVR": divr, "DIVF": divf, "DIVQ": divq, "FILTER_RANGE": _filter_range(pfd)}
                best = (err, out, params)
    return _settings("SB_PLL40_PAD", input_mhz, target_mhz, best, "16-275")


def ecp5_pll(input_mhz: float, target_mhz: float) -> PllSettings:
    """EHXPLLL dividers for ``target_mhz`` from ``input_mhz`` (f = f_in·CLKFB_DIV / CLKI_DIV, feedback from
    CLKOP; VCO = f·CLKOP_DIV). Limits: phase detector 3.125-400 MHz, VCO 400-800 MHz, output 3.125-400 MHz."""
    if math.isclose(input_mhz, target_mhz):
        return PllSettings("none", input_mhz, input_mhz, {})
    best = None
    for clki in range(1, 129):
        pfd = input_mhz / clki
        if not 3.125 <= pfd <= 400:
            continue
        for clkfb in range(1, 81):
            out = pfd * clkfb
            if not 3.125 <= out <= 400:
                continue
            clkop = math.ceil(400 / out)
            if not (1 <= clkop <= 128 and 400 <= out * clkop <= 800):
                continue
            err = abs(out - target_mhz)
            if best is None or err < best[0] - 1e-9:
                params = {"CLKI_DIV": clki, "CLKFB_DIV": clkfb, "CLKOP_DIV": clkop, "CLKOP_CPHASE": clkop - 1}
                best = (err, out, params)
    return _settings("EHXPLLL", input_mhz, target_mhz, best, "3.125-400")


def zynq_fclk(iopll_mhz: float, target_mhz: float) -> PllSettings:
    """The two 6-bit dividers of a Zynq-7000 fabric clock (FCLK_CLK0 = IO PLL / (DIVISOR0·DIVISOR1))."""
    best = None
    for d0 in range(1, 64):
        for d1 in range(1, 64):
            out = iopll_mhz / (d0 * d1)
            err = abs(out - target_mhz)
            if out <= 250 and (best is None or err < best[0] - 1e-9):
                best = (err, out, {"DIVISOR0": d0, "DIVISOR1": d1})
    return _settings("PS FCLK", iopll_mhz, target_mhz, best, "up to 250")


def _settings(primitive, input_mhz, target_mhz, best, limits) -> PllSettings:
    if best is None or best[0] > PLL_TOLERANCE * target_mhz:
        near = f" (nearest {best[1]:.4g} MHz)" if best else ""
        raise HwgenError(
            f"{primitive} cannot make {target_mhz:g} MHz from {input_mhz:g} MHz within "
            f"{PLL_TOLERANCE:.1%}{near}; output range {limits} MHz"
        )
    return PllSettings(primitive, input_mhz, round(best[1], 6), best[2])


class Board:
    """A board hwgen builds for. Subclasses set the class attributes below."""

    name: str = ""  # the --board name (module name)
    title: str = ""
    flow: str = ""  # "ice40" | "ecp5" | "vivado"
    family: str = ""  # resource-model family of hwgen.layers ("ecp5" for LUT4 parts, "xc7" for LUT6)
    part: str = ""
    package: str = ""
    speed: str = ""
    clock_source: str = ""  # oscillator or PS clock the design runs from
    osc_mhz: float = 0.0
    clock_mhz: float = 0.0  # default build clock
    luts: int = 0  # LUT4 logic cells (iCE40/ECP5) or LUT6 (Xilinx)
    ffs: int = 0
    bram_bits: int = 0  # block RAM usable by the accelerator (iCE40 EBR, ECP5 DP16KD, Xilinx RAMB36)
    bram_blocks: int = 0
    dsps: int = 0
    #: amaranth-boards platform as "module:Class" (open-flow boards)
    platform: str | None = None
    #: nextpnr arguments that select the device, package and speed grade
    nextpnr_args: tuple[str, ...] = ()
    #: UART of the shell: amaranth-boards resource name and number, the bridge and its fastest baud rates
    uart: tuple[str, int] = ("uart", 0)
    uart_bridge: str = ""
    uart_bauds: tuple[int, ...] = ()  # rates the bridge supports exactly, fastest first
    led: tuple[str, int] = ("led", 0)
    reset_button: tuple[str, int] | None = None
    #: resources the platform lacks (added before the shell requests them), as amaranth Resource arguments
    extra_resources: tuple = ()
    programmer: tuple[str, ...] = ()  # command line before the bitstream, e.g. ("openFPGALoader", "-b", "x")
    #: Vivado flow: board part (used when Vivado has its board files) and processing-system IP
    vivado_board_part: str = ""
    ps_ip: str = ""  # "processing_system7" | "zynq_ultra_ps_e"
    notes: str = ""

    # -- derived --------------------------------------------------------------------------------
    @classmethod
    def pll(cls, clock_mhz: float | None = None) -> PllSettings:
        """The PLL settings that make ``clock_mhz`` (default: the board's build clock)."""
        target = cls.clock_mhz if clock_mhz is None else clock_mhz
        if cls.flow == "ice40":
            return ice40_pll(cls.osc_mhz, target)
        if cls.flow == "ecp5":
            return ecp5_pll(cls.osc_mhz, target)
        if cls.part.startswith("xc7z"):
            return zynq_fclk(cls.osc_mhz, target)
        # Zynq UltraScale+: Vivado chooses the PL0_REF_CTRL dividers from the requested frequency
        return PllSettings("PS PL0", cls.osc_mhz, target, {"PL0_REF_CTRL__FREQMHZ": target})

    @classmethod
    def uart_baud(cls, clock_mhz: float | None = None, min_cycles: int = 4) -> int:
        """The fastest baud rate of the bridge that the shell makes within 1 % with at least ``min_cycles``
        clock cycles per bit."""
        clk = (cls.clock_mhz if clock_mhz is None else clock_mhz) * 1e6
        for baud in cls.uart_bauds:
            div = round(clk / baud)
            if div >= min_cycles and abs(clk / div - baud) <= 0.01 * baud:
                return baud
        raise HwgenError(f"{cls.name}: no baud rate of the {cls.uart_bridge} fits a {clk / 1e6:g} MHz clock")

    @classmethod
    def make_platform(cls):
        """A new amaranth-boards platform instance with :attr:`extra_resources` added."""
        if cls.platform is None:
            raise HwgenError(f"board {cls.name}: the {cls.flow} flow has no Amaranth platform")
        module, _, klass = cls.platform.partition(":")
        plat = getattr(importlib.import_module(module), klass)()
        if cls.extra_resources:
            plat.add_resources(list(cls.extra_resources))
        return plat

    @classmethod
    def capacity(cls) -> dict:
        return {"luts": cls.luts, "ffs": cls.ffs, "bram_bits": cls.bram_bits}

    @classmethod
    def describe(cls) -> dict:
        """The board as the manifest records it."""
        return {
            "name": cls.name,
            "title": cls.title,
            "flow": cls.flow,
            "part": cls.part,
            "package": cls.package,
            "speed": cls.speed,
            "clock_source": f"{cls.clock_source} {cls.osc_mhz:g} MHz",
            "capacity": {**cls.capacity(), "bram_blocks": cls.bram_blocks, "dsps": cls.dsps},
        }
