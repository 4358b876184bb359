"""iCEBreaker (1BitSquared): iCE40 UP5K-SG48, 12 MHz oscillator, FT2232H USB bridge (channel B = UART)."""

from ._board import Board

__all__ = ["ICEBreaker"]


class ICEBreaker(Board):
    name = "icebreaker"
    title = "iCEBreaker"
    flow = "ice40"
    family = "ecp5"  # LUT4 logic: the ECP5 LUT4 model (carries as two LUT4) is the conservative estimate
    part = "iCE40UP5K"
    package = "SG48"
    speed = "-"  # iCE40 UltraPlus parts have one speed
    clock_source = "oscillator (pin 35)"
    osc_mhz = 12.0
    clock_mhz = 24.0
    luts = 5280
    ffs = 5280
    bram_blocks = 30  # EBR of 4 Kbit (the 1 Mbit SPRAM is not used)
    bram_bits = 30 * 4096
    dsps = 8
    platform = "amaranth_boards.icebreaker:ICEBreakerPlatform"
    nextpnr_args = ("--up5k", "--package", "sg48")
    uart = ("uart", 0)
    uart_bridge = "FT2232H"
    uart_bauds = (12_000_000, 8_000_000, 6_000_000, 4_000_000, 3_000_000, 2_000_000, 1_000_000, 115_200)
    led = ("led_g", 0)
    reset_button = ("button", 0)
    programmer = ("openFPGALoader", "-b", "icebreaker", "-f")
    notes = "bitstream written to the SPI flash by iceprog or openFPGALoader -b ice40_generic"
