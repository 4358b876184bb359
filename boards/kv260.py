"""Kria KV260 (AMD): Kria K26 SOM (URAM not used), xck26-sfvc784-2LV-c.

The accelerator runs from the processing system's fabric clock and is fed by an AXI DMA
(Vivado Tcl project from ``rtl_templates/vivado_project.tcl``)."""

from ._board import Board

__all__ = ["KV260"]


class KV260(Board):
    name = "kv260"
    title = "Kria KV260"
    flow = "vivado"
    family = "xc7"  # LUT6 logic
    part = "xck26-sfvc784-2LV-c"
    package = "SFVC784"
    speed = "2LV"
    clock_source = "PS IOPLL"
    osc_mhz = 1500.0
    clock_mhz = 100.0
    luts = 117120
    ffs = 234240
    bram_blocks = 144  # RAMB36
    bram_bits = 144 * 36864
    dsps = 1248
    vivado_board_part = "xilinx.com:kv260_som:part0:1.3"
    ps_ip = "zynq_ultra_ps_e"
