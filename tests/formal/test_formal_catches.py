"""The formal checks can fail: deliberately broken stream stages are caught, each by the property it
breaks."""

from __future__ import annotations

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from hwgen.sim.smoke import XnorPopcount

from hwgen.flow.formal import PROPERTIES, StreamHarness, prove_stream
from hwgen.flow.verilog import AxisTop
from hwgen.layers.fifo import FIFO


class BrokenStage(wiring.Component):
    """A one-register stream stage, correct or with a bug.

    ``"drop"``: ``i.ready`` is always high, so a beat offered while the register is full is taken and lost
    (valid and payload still hold); ``"duplicate"``: every beat is sent twice.
    """

    def __init__(self, bug=None):
        self._bug = bug
        super().__init__({"i": In(stream.Signature(4)), "o": Out(stream.Signature(4))})

    def elaborate(self, platform):
        m = Module()
        free = self.o.ready | ~self.o.valid
        m.d.comb += self.i.ready.eq(1 if self._bug == "drop" else free)
        second = Signal()  # "duplicate": the copy of the beat in the register is still to be sent
        with m.If(free):
            if self._bug == "duplicate":
                with m.If(self.o.valid & ~second):
                    m.d.sync += second.eq(1)
                    m.d.comb += self.i.ready.eq(0)
                with m.Else():
                    m.d.sync += second.eq(0)
                    m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
            else:
                m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        return m


def _check(dut, tmp_path, *, n_in=1, n_out=1, mode="bmc", depth=12, properties=None):
    return prove_stream(
        dut, tmp_path, name="dut", in_beats=n_in, out_beats=n_out, drain=6, mode=mode, depth=depth,
        properties=properties,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["prove", "bmc"])
def test_correct_stage_passes(mode, tmp_path):
    r = _check(BrokenStage(), tmp_path, mode=mode, properties=["o_hold"] if mode == "prove" else None)
    assert r.status == "PASS", r.summary()


@pytest.mark.parametrize(
    ("bug", "caught"),
    [("drop", ["drained"]), ("duplicate", ["no_extra"])],
)
def test_broken_stage_is_caught(bug, caught, tmp_path):
    r = _check(BrokenStage(bug), tmp_path)
    assert r.status == "FAIL", r.summary()
    assert r.failed == caught, r.summary()
    assert r.trace is not None and r.trace.is_file()


def test_smoke_component_ignoring_ready_is_caught(tmp_path):
    """sim/smoke.py's ``XnorPopcount(bug="ignore_ready")`` overwrites its output while the sink stalls."""
    assert _check(XnorPopcount(4), tmp_path / "ok").status == "PASS"
    r = _check(XnorPopcount(4, "ignore_ready"), tmp_path / "bug")
    assert r.status == "FAIL" and "o_hold" in r.failed, r.summary()


def test_wrong_tlast_is_caught(tmp_path):
    """An AxisTop that counts 3 beats per frame around a stream of 2-beat frames."""
    top = AxisTop(FIFO(4, 2, beats_per_frame=2), 3)
    r = _check(top, tmp_path, n_in=2, n_out=2, depth=10)
    assert r.status == "FAIL" and r.failed == ["tlast"], r.summary()


def test_harness_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown properties"):
        StreamHarness(BrokenStage(), in_beats=1, out_beats=1, drain=1, properties=["o_hold", "fairness"])
    with pytest.raises(ValueError, match="'tlast' needs an AxisTop"):
        StreamHarness(BrokenStage(), in_beats=1, out_beats=1, drain=1, properties=PROPERTIES)
    with pytest.raises(ValueError, match="'drain' must be a positive integer"):
        StreamHarness(BrokenStage(), in_beats=1, out_beats=1, drain=0)
