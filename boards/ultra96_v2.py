"""Ultra96-V2 (Avnet): Zynq UltraScale+ ZU3EG, xczu3eg-sbva484-1-i.

The accelerator runs from the processing system's fabric clock and is fed by an AXI DMA
(Vivado Tcl project from ``rtl_templates/vivado_project.tcl``)."""

from ._board import Board

__all__ = ["Ultra96V2"]


class Ultra96V2(Board):
    name = "ultra96_v2"
    title = "Ultra96-V2"
    flow = "vivado"
    family = "xc7"  # LUT6 logic
    part = "xczu3eg-sbva484-1-i"
    package = "SBVA484"
    speed = "1"
    clock_source = "PS IOPLL"
    osc_mhz = 1500.0
    clock_mhz = 100.0
    luts = 70560
    ffs = 141120
    bram_blocks = 216  # RAMB36
    bram_bits = 216 * 36864
    dsps = 360
    vivado_board_part = "avnet.com:ultra96v2:part0:1.2"
    ps_ip = "zynq_ultra_ps_e"
