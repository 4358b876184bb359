"""ULX3S with the LFE5U-85F (Radiona): ECP5 CABGA381 speed 6, 25 MHz oscillator, FT231X USB UART."""

from ._board import Board

__all__ = ["ULX3S85F"]


class ULX3S85F(Board):
    name = "ulx3s_85f"
    title = "ULX3S-85F"
    flow = "ecp5"
    family = "ecp5"
    part = "LFE5U-85F"
    package = "CABGA381"
    speed = "6"
    clock_source = "oscillator (G2)"
    osc_mhz = 25.0
    clock_mhz = 100.0
    luts = 83640
    ffs = 83640
    bram_blocks = 208  # DP16KD, 18 Kbit
    bram_bits = 208 * 18432
    dsps = 156
    platform = "amaranth_boards.ulx3s:ULX3S_85F_Platform"
    nextpnr_args = ("--85k", "--package", "CABGA381", "--speed", "6")
    uart = ("uart", 0)
    uart_bridge = "FT231X"
    uart_bauds = (3_000_000, 2_000_000, 1_500_000, 1_000_000, 921_600, 115_200)
    led = ("led", 0)
    reset_button = ("button_fire", 0)
    programmer = ("openFPGALoader", "-b", "ulx3s")
