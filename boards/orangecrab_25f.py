"""OrangeCrab r0.2 with the LFE5U-25F: ECP5 CSFBGA285 speed 8, 48 MHz oscillator.

The board's USB port goes straight to the FPGA (no UART bridge): the shell's UART is on Feather pins 0 (RX)
and 1 (TX), for a 3.3 V USB-serial adapter (FT232R class, up to 3 Mbaud).
"""

from amaranth.build import Attrs, Pins, Resource, Subsignal

from ._board import Board

__all__ = ["OrangeCrab25F"]


class OrangeCrab25F(Board):
    name = "orangecrab_25f"
    title = "OrangeCrab r0.2 (25F)"
    flow = "ecp5"
    family = "ecp5"
    part = "LFE5U-25F"
    package = "CSFBGA285"
    speed = "8"
    clock_source = "oscillator (A9)"
    osc_mhz = 48.0
    clock_mhz = 100.0
    luts = 24288
    ffs = 24288
    bram_blocks = 56
    bram_bits = 56 * 18432
    dsps = 28
    platform = "amaranth_boards.orangecrab_r0_2:OrangeCrabR0_2_25FPlatform"
    nextpnr_args = ("--25k", "--package", "CSFBGA285", "--speed", "8")
    uart = ("uart", 0)
    uart_bridge = "external FT232R adapter"
    uart_bauds = (3_000_000, 2_000_000, 1_000_000, 921_600, 115_200)
    led = ("rgb_led", 0, "g")
    reset_button = ("button", 0)
    extra_resources = (
        Resource(
            "uart",
            0,
            Subsignal("rx", Pins("0", dir="i", conn=("io", 0))),
            Subsignal("tx", Pins("1", dir="o", conn=("io", 0))),
            Attrs(IO_TYPE="LVCMOS33", PULLMODE="UP"),
        ),
    )
    programmer = ("openFPGALoader", "-b", "orangecrab")
    notes = "hold the button while plugging in to enter the DFU bootloader"
