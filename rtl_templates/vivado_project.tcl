# Vivado project for the hwgen accelerator ${top} on ${board_title} (${part}), written by `hwgen synth`
# from rtl_templates/vivado_project.tcl (string.Template; every placeholder filled).
#
#   vivado -mode batch -source ${script_name}
#
# Builds a block design: the processing system (${ps_ip}) with its DDR and fixed I/O, an AXI DMA in simple
# mode (MM2S -> accelerator -> S2MM, register port on the PS master AXI port, memory ports on a high
# performance slave port), the accelerator as an RTL module (${wrapper} around ${top}), clocked at
# ${clock_mhz} MHz by the PS fabric clock. Then synthesis, implementation and the bitstream; the .bit and the
# .hwh (for the PYNQ overlay) are copied next to this script as ${overlay}.bit / ${overlay}.hwh.
set here [file normalize [file dirname [info script]]]
set project ${project}
create_project -force $$project [file join $$here $$project] -part ${part}
if {[lsearch -exact [get_board_parts -quiet] ${board_part}] >= 0} {
    set_property board_part ${board_part} [current_project]
}
foreach f [list ${rtl_files}] {
    if {![file exists $$f]} { error "hwgen: missing RTL file $$f" }
    add_files -norecurse $$f
}
update_compile_order -fileset sources_1

create_bd_design ${overlay}
set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:${ps_ip} ps]
${ps_config}

set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma dma]
set_property -dict [list \
    CONFIG.c_include_sg {0} \
    CONFIG.c_sg_include_stscntrl_strm {0} \
    CONFIG.c_sg_length_width {26} \
    CONFIG.c_m_axis_mm2s_tdata_width {${dma_in_bits}} \
    CONFIG.c_s_axis_s2mm_tdata_width {${dma_out_bits}} \
    CONFIG.c_mm2s_burst_size {16} \
    CONFIG.c_s2mm_burst_size {16} \
] $$dma
set acc [create_bd_cell -type module -reference ${wrapper} accel]
connect_bd_intf_net [get_bd_intf_pins dma/M_AXIS_MM2S] [get_bd_intf_pins accel/s_axis]
connect_bd_intf_net [get_bd_intf_pins accel/m_axis] [get_bd_intf_pins dma/S_AXIS_S2MM]

apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Master "/ps/${ps_master}" Clk "/ps/${ps_clock}"} [get_bd_intf_pins dma/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Slave "/ps/${ps_slave}" Clk "/ps/${ps_clock}"} [get_bd_intf_pins dma/M_AXI_MM2S]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Slave "/ps/${ps_slave}" Clk "/ps/${ps_clock}"} [get_bd_intf_pins dma/M_AXI_S2MM]
connect_bd_net [get_bd_pins ps/${ps_clock}] [get_bd_pins accel/aclk]
connect_bd_net [get_bd_pins [get_bd_cells -filter {VLNV =~ "*proc_sys_reset*"}]/peripheral_aresetn] \
    [get_bd_pins accel/aresetn]
assign_bd_address
validate_bd_design
save_bd_design

set bd [get_files ${overlay}.bd]
make_wrapper -files $$bd -top
add_files -norecurse [file join $$here $$project $$project.gen sources_1 bd ${overlay} hdl ${overlay}_wrapper.v]
set_property top ${overlay}_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs ${jobs}
wait_on_run impl_1
open_run impl_1
set wns [get_property SLACK [get_timing_paths -max_paths 1 -setup]]
report_utilization -file [file join $$here ${overlay}_utilization.txt]
report_timing_summary -file [file join $$here ${overlay}_timing.txt]
if {$$wns < 0} {
    puts "hwgen: timing FAILED at ${clock_mhz} MHz (worst negative slack $$wns ns)"
}
file copy -force [file join $$here $$project $$project.runs impl_1 ${overlay}_wrapper.bit] \
    [file join $$here ${overlay}.bit]
set hwh [glob -nocomplain [file join $$here $$project $$project.gen sources_1 bd ${overlay} hw_handoff ${overlay}.hwh] \
    [file join $$here $$project $$project.srcs sources_1 bd ${overlay} hw_handoff ${overlay}.hwh]]
if {[llength $$hwh] == 0} { error "hwgen: no .hwh was written" }
file copy -force [lindex $$hwh 0] [file join $$here ${overlay}.hwh]
puts "hwgen: wrote [file join $$here ${overlay}.bit] and ${overlay}.hwh"
