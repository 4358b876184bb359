"""The bulk C++ harness (tier 4) on a small hand-written stream design and on faulty wrappers of it.

The design adds 1 to each 8-bit input beat and sends it out nine times in a 72-bit beat (a ``VlWide`` port
in Verilator), one register stage with AXI4-Stream handshakes. Wrappers break one output beat each: a
flipped data bit, a dropped beat, a duplicated beat, a wrong ``tlast``. Each is caught; pauses and sharding
never change the outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hwgen.sim.bulk import beats_to_bytes, check_shards
from hwgen.sim.harness import HarnessRun, build_harness, fill_template, run_harness
from hwgen.sim.runner import session_cache_dir

from hwgen.ir.datatypes import UINT

pytestmark = pytest.mark.verilator
BPF = 4  # beats per frame in and out
LANES = 9
FRAMES = 40

CORE = """
module core(input clk, input rst,
  input [7:0] s_axis_tdata, input s_axis_tvalid, output s_axis_tready, input s_axis_tlast,
  output reg [71:0] m_axis_tdata, output reg m_axis_tvalid, input m_axis_tready, output reg m_axis_tlast);
  assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
  always @(posedge clk) begin
    if (rst) m_axis_tvalid <= 1'b0;
    else if (s_axis_tready) begin
      m_axis_tvalid <= s_axis_tvalid;
      if (s_axis_tvalid) begin
        m_axis_tdata <= {9{s_axis_tdata + 8'd1}};
        m_axis_tlast <= s_axis_tlast;
      end
    end
  end
endmodule
"""

# hwgen_top around the core; beat 5 (frame 1, beat 1) of the core's output is the one that goes wrong.
WRAPPER = """
module hwgen_top(input clk, input rst,
  input [7:0] s_axis_tdata, input s_axis_tvalid, output s_axis_tready, input s_axis_tlast,
  output [71:0] m_axis_tdata, output m_axis_tvalid, input m_axis_tready, output m_axis_tlast);
  wire [71:0] d; wire v, l, r;
  reg [15:0] cnt = 0; reg twice = 0;
  wire hit = cnt == 16'd5;
  core c(.clk(clk), .rst(rst), .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
         .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),
         .m_axis_tdata(d), .m_axis_tvalid(v), .m_axis_tready(r), .m_axis_tlast(l));
  FAULT
  always @(posedge clk) begin
    if (rst) begin cnt <= 0; twice <= 0; end
    else begin
      if (v && r) cnt <= cnt + 16'd1;
      if (hit && v && m_axis_tready) twice <= 1'b1;
    end
  end
endmodule
"""
FAULTS = {
    "none": "assign m_axis_tdata = d; assign m_axis_tvalid = v; assign m_axis_tlast = l; "
    "assign r = m_axis_tready;",
    "flip": "assign m_axis_tdata = d ^ {71'd0, hit}; assign m_axis_tvalid = v; assign m_axis_tlast = l; "
    "assign r = m_axis_tready;",
    "drop": "assign m_axis_tdata = d; assign m_axis_tvalid = v && !hit; assign m_axis_tlast = l; "
    "assign r = m_axis_tready || hit;",
    "duplicate": "assign m_axis_tdata = d; assign m_axis_tvalid = v; assign m_axis_tlast = l; "
    "assign r = m_axis_tready && (!hit || twice);",
    "tlast": "assign m_axis_tdata = d; assign m_axis_tvalid = v; assign m_axis_tlast = l ^ hit; "
    "assign r = m_axis_tready;",
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return session_cache_dir(tmp_path_factory)


def _model(fault: str, tmp_path_factory, cache):
    d = tmp_path_factory.mktemp(f"rtl_{fault}")
    v = d / "design.v"
    v.write_text(CORE + WRAPPER.replace("FAULT", FAULTS[fault]))
    return build_harness([v], "hwgen_top", 8, 72, cache)


def _frames(n: int = FRAMES, seed: int = 0):
    x = np.random.default_rng(seed).integers(0, 255, size=(n, BPF))
    ref = np.repeat((x + 1) % 256, LANES, axis=1)  # (n, BPF * LANES) output elements
    return x, ref


def _run(model, x, ref, tmp_path, *, stall=0.0, jobs=1, seed=1):
    rows = beats_to_bytes(UINT(8).pack(x, 1), 1)
    run = HarnessRun(rows, len(x), BPF, BPF, 9, stall, stall, seed, idle_timeout=2000, extra_cycles=100)
    shards = run_harness(model, run, tmp_path / f"w{stall}-{jobs}", jobs=jobs)
    return check_shards(shards, ref, UINT(8), LANES, 72, BPF), shards


def test_template_placeholders_all_filled():
    text = fill_template("hwgen_top", 8, 72)
    assert "$" not in text and "Vhwgen_top" in text and "kOutBits = 72" in text
    with pytest.raises(ValueError, match="C\\+\\+ identifier"):
        fill_template("bad-name", 8, 8)
    with pytest.raises(ValueError, match="in_bits must be a positive int"):
        fill_template("top", 0, 8)


def test_clean_design_stalls_and_shards_agree(tmp_path_factory, tmp_path, cache):
    model = _model("none", tmp_path_factory, cache)
    x, ref = _frames()
    outs = []
    for stall, jobs in ((0.0, 1), (0.3, 1), (0.9, 1), (0.3, 3)):
        res, shards = _run(model, x, ref, tmp_path, stall=stall, jobs=jobs)
        assert res.passed, (stall, jobs, res.problems, res.first_bad)
        assert len(shards) == min(jobs, FRAMES // 16)
        outs.append(res.hardware)
        if stall == 0:
            assert res.cycles_per_frame == BPF and res.first_out_latency == 1
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    np.testing.assert_array_equal(outs[0], ref)


@pytest.mark.parametrize("fault", ["flip", "drop", "duplicate", "tlast"])
@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_faults_are_caught(fault, stall, tmp_path_factory, tmp_path, cache):
    model = _model(fault, tmp_path_factory, cache)
    x, ref = _frames()
    res, _ = _run(model, x, ref, tmp_path, stall=stall)
    assert not res.passed
    if fault == "flip":
        assert res.bad_frames.tolist() == [1] and res.first_bad == (1, 9, int(ref[1, 9]) ^ 1, int(ref[1, 9]))
        assert not res.problems
    elif fault == "drop":
        assert res.lost_beats == 1 and res.timeouts == 1 and 1 in res.bad_frames
    elif fault == "duplicate":
        assert res.extra_beats == 1 and res.bad_frames[0] == 1
    else:
        assert res.tlast_errors == 1 and not len(res.bad_frames)
        assert "1 output beats with a wrong tlast" in res.problems


# A 4-beat FIFO module named like hwgen's FIFO stages (``s<k>_fifo``, handshake ports ``i__*``/``o__*``)
# between the AXI-Stream ports, the output registered once more: the harness counts its beats.
FIFO_TOP = """
module s1_fifo(input clk, input rst, input [7:0] i__payload, input i__valid, output i__ready,
  output [7:0] o__payload, output o__valid, input o__ready);
  reg [7:0] mem [0:3]; reg [1:0] wp = 0, rp = 0; reg [2:0] count = 0;
  assign i__ready = count != 3'd4; assign o__valid = count != 3'd0; assign o__payload = mem[rp];
  wire push = i__valid && i__ready, pop = o__valid && o__ready;
  always @(posedge clk) begin
    if (rst) begin wp <= 0; rp <= 0; count <= 0; end
    else begin
      if (push) begin mem[wp] <= i__payload; wp <= wp + 2'd1; end
      if (pop) rp <= rp + 2'd1;
      count <= count + {2'd0, push} - {2'd0, pop};
    end
  end
endmodule
module hwgen_top(input clk, input rst,
  input [7:0] s_axis_tdata, input s_axis_tvalid, output s_axis_tready, input s_axis_tlast,
  output reg [7:0] m_axis_tdata, output reg m_axis_tvalid, input m_axis_tready, output reg m_axis_tlast);
  wire [7:0] d; wire v; wire take = !m_axis_tvalid || m_axis_tready;
  reg [1:0] k = 0;
  s1_fifo s1_fifo(.clk(clk), .rst(rst), .i__payload(s_axis_tdata), .i__valid(s_axis_tvalid),
    .i__ready(s_axis_tready), .o__payload(d), .o__valid(v), .o__ready(take));
  always @(posedge clk) begin
    if (rst) begin m_axis_tvalid <= 1'b0; k <= 0; end
    else if (take) begin
      m_axis_tvalid <= v;
      if (v) begin m_axis_tdata <= d; m_axis_tlast <= k == 2'd3; k <= k + 2'd1; end
    end
  end
endmodule
"""


def test_fifo_peak_occupancy_is_counted(tmp_path, cache):
    """Hand-reasoned peaks of the 4-beat FIFO: at full speed every beat leaves the cycle after it came,
    so it never holds more than 1; with the sink mostly withholding tready and the source never pausing,
    it fills up to its 4 beats; the same on every shard count."""
    v = tmp_path / "fifo.v"
    v.write_text(FIFO_TOP)
    model = build_harness([v], "hwgen_top", 8, 8, cache)
    x = np.random.default_rng(3).integers(0, 255, size=(FRAMES, BPF))
    rows = beats_to_bytes(UINT(8).pack(x, 1), 1)
    for out_pause, jobs, peak in ((0.0, 1, 1), (0.9, 1, 4), (0.9, 2, 4), (0.0, 2, 1)):
        run = HarnessRun(rows, FRAMES, BPF, BPF, 1, 0.0, out_pause, 1, idle_timeout=2000, extra_cycles=100)
        shards = run_harness(model, run, tmp_path / f"w{out_pause}-{jobs}", jobs=jobs)
        res = check_shards(shards, x, UINT(8), 1, 8, BPF)
        assert res.passed, (res.problems, res.first_bad)
        assert res.fifo_peak == {"s1_fifo": peak}, (out_pause, jobs)


def test_designs_without_fifos_report_none(tmp_path_factory, tmp_path, cache):
    model = _model("none", tmp_path_factory, cache)
    x, ref = _frames(16)
    res, _ = _run(model, x, ref, tmp_path)
    assert res.passed and res.fifo_peak == {}
