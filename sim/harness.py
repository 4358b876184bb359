"""The bulk AXI-Stream harness (verification tier 4): a compiled C++ main per design, no Python per cycle.

- :func:`build_harness` fills ``rtl_templates/axis_harness.cpp`` for a design, verilates the design with it
  (``verilator --cc --exe``, DESIGN.md §6 flags) and compiles the result, once per (Verilog, top, widths,
  template, tool versions, flags) into a hashed, file-locked folder of a cache folder, like
  :func:`hwgen.sim.runner.build_verilator`. The model and the harness compile as one translation unit
  (measured on TFC-W1A1: 4.6 s against 8.5 s for Verilator's make with its two precompiled headers); the
  Verilator runtime objects are compiled once per environment (:func:`hwgen.toolchain.runtime_cache`), in
  parallel with the model. Should the
  single translation unit not compile, Verilator's own makefile builds it.
- :func:`run_harness` runs a build on packed input beats, split into shards over processes; every shard
  starts from reset and draws its own seeded pauses. It returns each shard's output beats, per-frame
  completion cycles and what the harness detected (timeouts, tlast errors, output instability).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np
from hwgen.sim.fifo_monitor import FIFO_VLT, fifo_members, monitors

from hwgen.toolchain import find_verilator, runtime_cache, verilator_env

__all__ = ["HarnessModel", "HarnessRun", "ShardResult", "build_harness", "fill_template", "run_harness"]

TEMPLATE = "axis_harness.cpp"
_VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")
_PLACEHOLDERS = ("top", "in_bits", "out_bits", "monitor_decl", "monitor_step", "monitor_report")


def template_text() -> str:
    return resources.files("hwgen.rtl_templates").joinpath(TEMPLATE).read_text()


def fill_template(top: str, in_bits: int, out_bits: int, fifos: dict[str, str] | None = None) -> str:
    """The harness source for a design; every placeholder must be filled (``Template.substitute``).

    ``fifos``: instance name -> the Verilated member prefix of its handshake signals
    (:func:`hwgen.sim.fifo_monitor.fifo_members`); the harness then prints the peak occupancy of each."""
    if not top.isidentifier():
        raise ValueError(f"top module name {top!r} is not a C++ identifier")
    for name, bits in (("in_bits", in_bits), ("out_bits", out_bits)):
        if not isinstance(bits, int) or bits < 1:
            raise ValueError(f"{name} must be a positive int, not {bits!r}")
    text = template_text()
    found = {m.group("named") or m.group("braced") for m in Template.pattern.finditer(text)} - {None}
    if found != set(_PLACEHOLDERS):
        raise ValueError(f"{TEMPLATE}: placeholders {sorted(found)}, expected {sorted(_PLACEHOLDERS)}")
    return Template(text).substitute(
        top=top, in_bits=in_bits, out_bits=out_bits, **monitors(top, fifos or {})
    )


@dataclass(frozen=True)
class HarnessModel:
    """A compiled harness: ``exe`` runs one stimulus file (see the template's usage line)."""

    exe: Path
    build_dir: Path
    cached: bool  # True when an earlier build was reused
    build_seconds: float  # of the build that made it
    unity: bool  # built as one translation unit (False: Verilator's makefile)


def _env(opt: str) -> dict[str, str]:
    env = verilator_env(standalone=True)
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt}".strip()
    return env


def _key(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p + b"\0")
    return h.hexdigest()[:16]


def _run(cmd, cwd, env, log: Path, what: str) -> None:
    with open(log, "a") as fh:
        fh.write("$ " + shlex.join(str(c) for c in cmd) + "\n")
        fh.flush()
        r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if r.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{what} failed (exit {r.returncode}); log {log}:\n{tail}")


def _make_commands(obj: Path, prefix: str, env) -> tuple[list[str], list[str]]:
    """Compile command of the user main and the link command, as Verilator's makefile would run them."""
    r = subprocess.run(
        ["make", "-n", "-C", str(obj), "-f", f"{prefix}.mk"], env=env, capture_output=True, text=True
    )
    lines = []
    for x in r.stdout.splitlines():
        try:
            lines.append(shlex.split(x))
        except ValueError:  # shell control lines of the archive rule
            pass
    lines = [c for c in lines if c]
    main = next(c for c in lines if "-c" in c and c[-1].endswith("harness_main.cpp"))
    link = next(c for c in lines if "-c" not in c and "-o" in c and c[c.index("-o") + 1] == "harness")
    return main, link


def _classes(obj: Path, prefix: str) -> list[str]:
    """The generated .cpp files of the model (every VM_CLASSES_* and VM_SUPPORT_* list of the makefile)."""
    names, take = [], False
    for line in (obj / f"{prefix}_classes.mk").read_text().splitlines():
        s = line.strip()
        if s.startswith(("VM_CLASSES_", "VM_SUPPORT_")):
            take = s.endswith("\\")
            continue
        if take:
            take = s.endswith("\\")
            name = s.rstrip("\\").strip()
            if name:
                names.append(name)
    return [f"{n}.cpp" for n in names]


def _runtime(cache_dir: Path, cc: list[str], env, log: Path) -> list[Path]:
    """verilated*.o for standalone models, compiled once per cache folder and flags (file-locked); the
    folder is :func:`hwgen.toolchain.runtime_cache`, shared by every build of the environment."""
    include = find_verilator().root / "include"
    rdir = cache_dir / f"_harness-runtime-{_key([a.encode() for a in cc])}"
    objs = [rdir / "verilated.o", rdir / "verilated_threads.o"]
    with open(cache_dir / f"{rdir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (rdir / "complete").is_file():
            return objs
        tmp = Path(tempfile.mkdtemp(prefix=rdir.name + ".tmp", dir=cache_dir))
        cmds = [[*cc, "-c", "-o", tmp / o.name, include / o.with_suffix(".cpp").name] for o in objs]
        with ThreadPoolExecutor(len(cmds)) as pool:
            for f in [pool.submit(_run, c, tmp, env, log, "compiling the Verilator runtime") for c in cmds]:
                f.result()
        (tmp / "complete").write_text("")
        shutil.rmtree(rdir, ignore_errors=True)
        tmp.rename(rdir)
    return objs


def build_harness(sources, toplevel: str, in_bits: int, out_bits: int, cache_dir, *, opt: str = "-O1"):
    """Compile the bulk harness for ``sources`` (Verilog) with top ``toplevel``, or reuse a build.

    ``in_bits`` / ``out_bits`` are the widths of ``s_axis_tdata`` / ``m_axis_tdata``. ``opt``: C++
    optimisation (``-O1`` runs TFC-W1A1 10 % faster than Verilator's ``-Os`` and compiles as fast).
    Raises RuntimeError with the log's tail when Verilator or the compiler fails.
    """
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    sources = [Path(s).resolve() for s in sources]
    for src in sources:
        if not src.is_file():
            raise FileNotFoundError(f"Verilog source not found: {src}")
    main_text = fill_template(toplevel, in_bits, out_bits)
    env = _env(opt)
    parts = [toplevel.encode(), main_text.encode(), repr(_VERILATOR_ARGS).encode(), opt.encode()]
    parts.append(FIFO_VLT.encode())
    parts += [find_verilator().version.encode(), env["CXXFLAGS"].encode()]
    parts += [s.name.encode() + b"\0" + s.read_bytes() for s in sources]
    key = _key(parts)
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    build_dir = cache_dir / f"harness-{toplevel}-{key}"
    done = build_dir / "hwgen-build.json"
    with open(cache_dir / f"harness-{toplevel}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            d = json.loads(done.read_text())
            return HarnessModel(build_dir / "obj" / "harness", build_dir, True, d["seconds"], d["unity"])
        shutil.rmtree(build_dir, ignore_errors=True)  # a half-finished build of a killed run
        build_dir.mkdir(parents=True)
        t0 = time.monotonic()
        log = build_dir / "build.log"
        (build_dir / "harness_main.cpp").write_text(main_text)
        (build_dir / "fifos.vlt").write_text(FIFO_VLT)
        obj = build_dir / "obj"
        prefix = f"V{toplevel}"
        verilate = [
            find_verilator().executable,
            "--cc",
            "--exe",
            "--top-module",
            toplevel,
            *_VERILATOR_ARGS,
            build_dir / "fifos.vlt",
            "-Mdir",
            obj,
            "-o",
            "harness",
            *sources,
            build_dir / "harness_main.cpp",
        ]
        _run(verilate, build_dir, env, log, f"verilating {toplevel}")
        fifos = fifo_members((obj / f"{prefix}___024root.h").read_text())
        (build_dir / "harness_main.cpp").write_text(fill_template(toplevel, in_bits, out_bits, fifos))
        main_cmd, link_cmd = _make_commands(obj, prefix, env)
        unity = True
        k = main_cmd.index("-o")
        cc = [main_cmd[0], opt, *(a for a in main_cmd[1:k] if a != "-c" and not a.startswith("-O"))]
        with ThreadPoolExecutor(1) as pool:
            runtime = pool.submit(_runtime, runtime_cache(cache_dir), cc, env, log)
            src = obj / "hwgen_unity.cpp"
            src.write_text(
                "".join(f'#include "{c}"\n' for c in [*_classes(obj, prefix), "../harness_main.cpp"])
            )
            try:
                _run([*cc, "-w", "-c", "-o", "hwgen_unity.o", src.name], obj, env, log, "one-unit compile")
            except RuntimeError:
                unity = False
            objs = runtime.result()
        if unity:
            link = [a for a in link_cmd if not a.endswith((".o", ".a"))]
            k = link.index("-o")
            _run(
                [*link[:k], "hwgen_unity.o", *objs, *link[k:]],
                obj,
                env,
                log,
                f"linking the harness of {toplevel}",
            )
        else:  # Verilator's own makefile, with the runtime objects copied in
            for o in objs:  # fresh timestamps: make rebuilds objects older than the makefile
                shutil.copyfile(o, obj / o.name)
                os.utime(obj / o.name)
            jobs = str(max(1, os.cpu_count() or 1))
            make = ["make", "-C", obj, "-f", f"{prefix}.mk", "-j", jobs, "CFG_CXXFLAGS_PCH_I=-include"]
            _run(make, build_dir, env, log, f"compiling the harness of {toplevel}")
        seconds = time.monotonic() - t0
        done.write_text(
            json.dumps({"seconds": seconds, "unity": unity, "sources": [str(s) for s in sources]})
        )
    return HarnessModel(obj / "harness", build_dir, False, seconds, unity)


@dataclass
class HarnessRun:
    """A stimulus: packed input beats (``uint8`` array (beats, bytes per beat)) of ``frames`` frames."""

    in_beats: np.ndarray
    frames: int
    beats_per_frame_in: int
    beats_per_frame_out: int
    out_bytes: int  # bytes per output beat (ceil of the m_axis_tdata width / 8)
    in_pause: float = 0.0  # probability per cycle of a tvalid gap at the source
    out_pause: float = 0.0  # probability per cycle that the sink withholds tready
    seed: int = 1
    idle_timeout: int = 100_000  # cycles without a handshake before a shard gives up
    extra_cycles: int = 1000  # cycles with tready high after the last expected beat


@dataclass
class ShardResult:
    """What one harness process saw on frames ``first .. first + frames - 1`` (cycles from its reset)."""

    first: int
    frames: int
    out_beats: np.ndarray  # uint8 (beats received, bytes per beat), extra beats included
    frame_end_cycles: np.ndarray  # uint64, one per complete output frame
    cycles: int
    seconds: float
    timeout: bool
    first_in: int | None
    first_out: int | None
    tlast_errors: int
    first_tlast_error: int | None  # output beat index within the shard
    unstable: int  # cycles in which tvalid, tdata or tlast changed while the sink withheld tready
    first_unstable: int | None
    expected_beats: int = 0
    stats: dict = field(default_factory=dict)

    @property
    def beats_out(self) -> int:
        return len(self.out_beats)


def _opt(v: str) -> int | None:
    return None if int(v) < 0 else int(v)


def _shards(frames: int, jobs: int, min_frames: int = 16) -> list[tuple[int, int]]:
    n = max(1, min(jobs, frames // min_frames))
    bounds = np.linspace(0, frames, n + 1).round().astype(int)
    return [(int(a), int(b - a)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def run_harness(model: HarnessModel, run: HarnessRun, work_dir, *, jobs: int = 1, progress=None):
    """Run ``run`` on ``model`` split into up to ``jobs`` shards (each at least 16 frames), in parallel.

    Shard ``k`` draws its pauses from seed ``run.seed * 1000003 + k``. ``progress``, if given, is called
    now and then with the number of output frames taken so far (all shards). Failures of the design do not
    raise; a harness that cannot run raises RuntimeError.
    """
    beats = np.ascontiguousarray(run.in_beats, dtype=np.uint8)
    if beats.ndim != 2 or len(beats) != run.frames * run.beats_per_frame_in:
        raise ValueError(f"in_beats: expected {run.frames * run.beats_per_frame_in} beats, got {beats.shape}")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    procs = []
    for k, (first, n) in enumerate(_shards(run.frames, jobs)):
        stem = work / f"shard{k}"
        bpi = run.beats_per_frame_in
        beats[first * bpi : (first + n) * bpi].tofile(f"{stem}.in")
        argv = [
            model.exe,
            f"{stem}.in",
            f"{stem}.out",
            f"{stem}.stamps",
            n,
            bpi,
            run.beats_per_frame_out,
            repr(float(run.in_pause)),
            repr(float(run.out_pause)),
            run.seed * 1000003 + k,
            run.idle_timeout,
            run.extra_cycles,
            f"{stem}.progress",
        ]
        p = subprocess.Popen(
            [str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        procs.append((first, n, stem, p))
    if progress is not None:
        while any(p.poll() is None for *_, p in procs):
            time.sleep(0.2)
            done = 0
            for *_, stem, _p in procs:
                try:
                    done += int(Path(f"{stem}.progress").read_text() or 0)
                except (OSError, ValueError):
                    pass
            progress(done)
    results = []
    for first, n, stem, p in procs:
        so, se = p.communicate()
        if p.returncode:
            raise RuntimeError(f"the harness exited with {p.returncode}: {se.strip()[-2000:]}")
        d = dict(line.split(" ", 1) for line in so.splitlines() if " " in line)
        out = np.fromfile(f"{stem}.out", dtype=np.uint8).reshape(-1, run.out_bytes)
        results.append(
            ShardResult(
                first=first,
                frames=n,
                out_beats=out,
                frame_end_cycles=np.fromfile(f"{stem}.stamps", dtype="<u8"),
                cycles=int(d["cycles"]),
                seconds=float(d["seconds"]),
                timeout=d["timeout"] == "1",
                first_in=_opt(d["first_in"]),
                first_out=_opt(d["first_out"]),
                tlast_errors=int(d["tlast_errors"]),
                first_tlast_error=_opt(d["first_tlast_error"]),
                unstable=int(d["unstable"]),
                first_unstable=_opt(d["first_unstable"]),
                expected_beats=n * run.beats_per_frame_out,
                stats=d,
            )
        )
    return results
