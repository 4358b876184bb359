// AXI DMA side of the hwgen accelerator ${top} (filled by hwgen.flow.vivado with string.Template).
// The DMA moves ${dma_in_bits}-bit words to the accelerator and ${dma_out_bits}-bit words back: one word
// per beat, the beat in the low ${in_bits} / ${out_bits} bits, the rest zero. Interface attributes let the
// Vivado block design infer the two AXI4-Stream interfaces, the clock and the active-low reset.
//
// tlast: the DMA's S2MM transfer ends at the first tlast, so the output carries tlast only on the last beat
// of the frame that answers the input frame which ended an MM2S transfer (one transfer in flight at a time,
// as the PYNQ driver does): a batch of frames is one transfer each way.
`timescale 1ns / 1ps
module ${wrapper} (
    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 aclk CLK" *)
    (* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF s_axis:m_axis, ASSOCIATED_RESET aresetn, FREQ_HZ ${clock_hz}" *)
    input wire aclk,
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 aresetn RST" *)
    (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
    input wire aresetn,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s_axis TDATA" *)
    input wire [${dma_in_bits}-1:0] s_axis_tdata,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s_axis TVALID" *)
    input wire s_axis_tvalid,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s_axis TREADY" *)
    output wire s_axis_tready,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s_axis TLAST" *)
    input wire s_axis_tlast,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 m_axis TDATA" *)
    output wire [${dma_out_bits}-1:0] m_axis_tdata,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 m_axis TVALID" *)
    output wire m_axis_tvalid,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 m_axis TREADY" *)
    input wire m_axis_tready,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 m_axis TLAST" *)
    output wire m_axis_tlast
);
    wire [${out_bits}-1:0] beat_out;
    wire acc_tlast;
    reg [31:0] in_beats, in_frames, out_frames, end_frame;
    reg end_valid;
    wire in_take = s_axis_tvalid & s_axis_tready;
    wire in_frame_end = in_take & (in_beats == ${beats_in} - 1);
    wire out_frame_end = m_axis_tvalid & m_axis_tready & acc_tlast;
    always @(posedge aclk) begin
        if (!aresetn) begin
            in_beats <= 0; in_frames <= 0; out_frames <= 0; end_frame <= 0; end_valid <= 0;
        end else begin
            if (in_take) in_beats <= in_frame_end ? 0 : in_beats + 1;
            if (in_frame_end) in_frames <= in_frames + 1;
            if (in_frame_end & s_axis_tlast) begin end_frame <= in_frames + 1; end_valid <= 1; end
            if (out_frame_end) out_frames <= out_frames + 1;
            if (out_frame_end & m_axis_tlast) end_valid <= in_frame_end & s_axis_tlast;
        end
    end
    assign m_axis_tlast = acc_tlast & end_valid & (out_frames + 1 == end_frame);
    ${top} accel (
        .clk(aclk),
        .rst(~aresetn),
        .s_axis_tdata(s_axis_tdata[${in_bits}-1:0]),
        .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(beat_out),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready),
        .m_axis_tlast(acc_tlast)
    );
    ${out_assign}
endmodule
