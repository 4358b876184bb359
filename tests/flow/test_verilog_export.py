"""Verilog export behind AXI4-Stream names: ports, byte padding, tlast generation, error messages."""

import re

import pytest
from amaranth.hdl import Module, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from hwgen.flow.verilog import AxisTop, export_stream_verilog, stream_widths


class Reg(wiring.Component):
    """One-stage stream register: payload ``shape`` in (bits or a layout), ``out_shape`` out (truncated or
    zero-extended; default the same)."""

    def __init__(self, shape, out_shape=None):
        shape = unsigned(shape) if isinstance(shape, int) else shape
        out_shape = shape if out_shape is None else unsigned(out_shape)
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(out_shape))})

    def elaborate(self, platform):
        m = Module()
        with m.If(self.o.ready | ~self.o.valid):
            m.d.comb += self.i.ready.eq(1)
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        return m


def test_ports_and_widths_in_verilog(tmp_path):
    info = export_stream_verilog(Reg(32, 5), tmp_path / "rtl" / "reg.v", "reg_top", 4)
    text = (tmp_path / "rtl" / "reg.v").read_text()
    assert re.search(r"^module reg_top\(", text, re.M)
    for decl in (
        "input [31:0] s_axis_tdata",
        "input s_axis_tvalid",
        "output s_axis_tready",
        "input s_axis_tlast",
        "output [7:0] m_axis_tdata",
        "output m_axis_tvalid",
        "input m_axis_tready",
        "output m_axis_tlast",
        "input clk",
        "input rst",
    ):
        assert re.search(rf"^\s*{re.escape(decl)};", text, re.M), decl
    assert info == {
        "path": str(tmp_path / "rtl" / "reg.v"),
        "top": "reg_top",
        "in_bits": 32,
        "out_bits": 5,
        "s_tdata_bits": 32,
        "m_tdata_bits": 8,
        "beats_per_frame_out": 4,
    }


@pytest.mark.parametrize(("bits", "padded"), [(1, 8), (5, 8), (8, 8), (9, 16), (33, 40), (784, 784)])
def test_tdata_padded_to_bytes(bits, padded):
    core = Reg(bits)
    top = AxisTop(core)
    assert stream_widths(core) == (bits, bits)
    assert len(top.s_axis_tdata) == len(top.m_axis_tdata) == padded
    top._MustUse__silence = core._MustUse__silence = True  # only the signatures are checked here


def _simulate(top, beats, ready_pattern):
    """Send ``beats`` into ``top``; returns (tdata, tlast) of every accepted output beat."""
    out = []

    async def bench(ctx):
        k, cycle = 0, 0
        while len(out) < len(beats) and cycle < 200:
            ctx.set(top.s_axis_tvalid, k < len(beats))
            ctx.set(top.s_axis_tdata, beats[k] if k < len(beats) else 0)
            ready = ready_pattern[cycle % len(ready_pattern)]
            ctx.set(top.m_axis_tready, ready)
            _, _, s_ready, m_valid, data, last = await ctx.tick().sample(
                top.s_axis_tready, top.m_axis_tvalid, top.m_axis_tdata, top.m_axis_tlast
            )
            if s_ready and k < len(beats):
                k += 1
            if m_valid and ready:
                out.append((data, last))
            cycle += 1

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out


@pytest.mark.parametrize("ready_pattern", [[1], [1, 0, 0, 1, 0]])
def test_tlast_counts_output_beats(ready_pattern):
    beats = [0x15, 0x02, 0x1F, 0x00, 0x11, 0x07, 0x1A]
    out = _simulate(AxisTop(Reg(5), beats_per_frame_out=3), beats, ready_pattern)
    assert [d for d, _ in out] == beats  # payload in the low bits, padding zero
    assert [last for _, last in out] == [0, 0, 1, 0, 0, 1, 0]


def test_tlast_every_beat_by_default():
    out = _simulate(AxisTop(Reg(5)), [1, 2, 3], [1, 0])
    assert out == [(1, 1), (2, 1), (3, 1)]


def test_rejects_what_is_not_a_stream_component(tmp_path):
    with pytest.raises(TypeError, match=r"has no 'i' port"):
        AxisTop(object())

    class NoStream(wiring.Component):
        i: In(8)
        o: Out(8)

        def elaborate(self, platform):
            return Module()

    bad = NoStream()
    with pytest.raises(TypeError, match=r"port 'i' of .* must be In\(stream.Signature"):
        AxisTop(bad)
    bad._MustUse__silence = True
    core = Reg(8)
    with pytest.raises(ValueError, match=r"'beats_per_frame_out' must be a positive integer or None, not 0"):
        AxisTop(core, beats_per_frame_out=0)
    with pytest.raises(ValueError, match=r"'name' must be a Verilog identifier"):
        export_stream_verilog(core, tmp_path / "x.v", "bad name")
    core._MustUse__silence = True


def test_struct_payload_is_flattened_lsb_first():
    # a struct payload (a data byte and a last flag, as Glasgow streams carry frame boundaries)
    top = AxisTop(Reg(data.StructLayout({"data": 8, "last": 1})), beats_per_frame_out=2)
    assert len(top.s_axis_tdata) == 16
    out = _simulate(top, [0x1AB, 0x0CD], [1])
    assert out == [(0x1AB, 0), (0x0CD, 1)]  # data in bits 0..7, last in bit 8
