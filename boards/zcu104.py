"""ZCU104 (AMD): Zynq UltraScale+ ZU7EV (URAM not used), xczu7ev-ffvc1156-2-e.

The accelerator runs from the processing system's fabric clock and is fed by an AXI DMA
(Vivado Tcl project from ``rtl_templates/vivado_project.tcl``)."""

from ._board import Board

__all__ = ["ZCU104"]


class ZCU104(Board):
    name = "zcu104"
    title = "ZCU104"
    flow = "vivado"
    family = "xc7"  # LUT6 logic
    part = "xczu7ev-ffvc1156-2-e"
    package = "FFVC1156"
    speed = "2"
    clock_source = "PS IOPLL"
    osc_mhz = 1500.0
    clock_mhz = 100.0
    luts = 230400
    ffs = 460800
    bram_blocks = 312  # RAMB36
    bram_bits = 312 * 36864
    dsps = 1728
    vivado_board_part = "xilinx.com:zcu104:part0:1.1"
    ps_ip = "zynq_ultra_ps_e"
