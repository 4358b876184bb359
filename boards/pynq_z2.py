"""Pynq-Z2 (TUL): Zynq-7020, xc7z020clg400-1.

The accelerator runs from the processing system's fabric clock and is fed by an AXI DMA
(Vivado Tcl project from ``rtl_templates/vivado_project.tcl``)."""

from ._board import Board

__all__ = ["PynqZ2"]


class PynqZ2(Board):
    name = "pynq_z2"
    title = "Pynq-Z2"
    flow = "vivado"
    family = "xc7"  # LUT6 logic
    part = "xc7z020clg400-1"
    package = "CLG400"
    speed = "1"
    clock_source = "PS IO PLL"
    osc_mhz = 1000.0
    clock_mhz = 100.0
    luts = 53200
    ffs = 106400
    bram_blocks = 140  # RAMB36
    bram_bits = 140 * 36864
    dsps = 220
    vivado_board_part = "tul.com.tw:pynq-z2:part0:1.0"
    ps_ip = "processing_system7"
