"""``hwgen verify OUT --inputs X.npy | --random N [--stall P] [--jobs N] [--seed S] [-o Y.npy]``.

A build's Verilog against the golden model, in two parts that run side by side:

1. a short cocotb run (:mod:`hwgen.sim.axis_bench`: cocotbext-axi source and sink with pause generators,
   a protocol monitor on the input) on the first few frames, with pauses on both ends (``P``, or 0.25 when
   ``P`` is 0);
2. every frame through the compiled C++ harness (:mod:`hwgen.sim.harness`, tier 4), sharded over ``--jobs``
   processes of one compiled model, with ``tvalid`` gaps and ``tready`` stalls of probability ``P``; it
   checks every beat, ``tlast`` on every output beat, lost, duplicated and extra beats.

Both Verilator builds are cached per Verilog hash in ``OUT/sim_build`` (a temporary folder when OUT is not
writable). The golden model is recomputed from ``OUT/model.onnx`` with the build's options. ``--random N``
draws N frames uniformly over every input code the model can produce (:mod:`hwgen.sim.stimuli`).

Prints frames, mismatches (first bad frame and element), measured cycles per frame and first-output
latency, and the throughput (frames/s, simulated cycles/s). Exit 0 if everything equals the golden model,
1 on any mismatch, lost, duplicated or extra beat or wrong ``tlast``, 2 on bad input. ``-o`` writes the
hardware's integer outputs in the shape ``hwgen run --integer`` gives.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError

from .cmd_run import check_output, load_inputs, save_atomic
from .manifest import read_manifest, sha256_file, update_manifest
from .progress import Progress
from .steps import graph_of_build

__all__ = ["VerifyResult", "record", "register", "verify"]

COCOTB_FRAMES = 4  # frames of the cocotb run
COCOTB_PAUSE = 0.25  # its pause probability when --stall is 0


def _rtl_files(out: Path, m: dict) -> list[Path]:
    files = [out / f for f in m["rtl"]["files"]]
    if not files:
        raise HwgenError(f"{out}/manifest.json: no Verilog files listed")
    for f in files:
        if not f.is_file():
            raise HwgenError(f"{f}: Verilog file of the build is missing")
    return files


def _warn_changed(out: Path, m: dict) -> None:
    """The golden model and Verilog are taken as they are now; say so if they changed since the build."""
    if sha256_file(out / m["model"]["file"]) != m["model"].get("sha256"):
        print(
            f"hwgen: warning: {out / m['model']['file']} changed since the build (sha256 differs)",
            file=sys.stderr,
        )
    for f, digest in m["rtl"].get("sha256", {}).items():
        if (out / f).is_file() and sha256_file(out / f) != digest:
            print(f"hwgen: warning: {out / f} changed since the build (sha256 differs)", file=sys.stderr)


def _cache_dir(out: Path):
    """``OUT/sim_build`` if OUT is writable, else a temporary folder (removed afterwards)."""
    if os.access(out, os.W_OK):
        return out / "sim_build", None
    tmp = tempfile.mkdtemp(prefix="hwgen-verify-")
    return Path(tmp), tmp


@dataclass
class VerifyResult:
    """What :func:`verify` found. ``bulk`` is the harness run over every frame, ``cocotb`` the cocotb
    bench's :class:`~hwgen.sim.runner.RunResult` on the first frames (None when skipped)."""

    golden: np.ndarray  # golden integer outputs, shape as ``hwgen run --integer``
    bulk: object  # hwgen.sim.bulk.BulkResult
    cocotb: object | None
    manifest: dict
    x: np.ndarray  # the float frames
    codes: np.ndarray | None  # --random: the input codes drawn from
    jobs: int
    shards: int
    harness_seconds: float  # wall time of the harness run (all shards)
    build_seconds: float  # of the harness build (0 when cached)
    total_seconds: float

    @property
    def hardware(self) -> np.ndarray | None:
        """Hardware outputs (N, elements), or None when frames are missing."""
        return self.bulk.hardware if self.bulk.received.all() else None

    @property
    def passed(self) -> bool:
        return self.bulk.passed and (self.cocotb is None or self.cocotb.passed)


def _cocotb_part(files, m, codes, ref, idt, odt, pause, seed, cache, box):
    """The short cocotb run; stores the RunResult (or the exception) in ``box``."""
    from hwgen.dataflow.io import pack_frames
    from hwgen.sim.runner import BenchRun, build_verilator, run_bench

    try:
        sin, sout = m["input"], m["output"]
        model = build_verilator(files, m["rtl"]["top"], cache)
        ii, lat = m["ii_cycles"], m["latency_cycles"]
        run = BenchRun(
            pack_frames(codes, idt, sin["elements_per_beat"]),
            pack_frames(ref, odt, sout["elements_per_beat"]),
            beats_per_frame_in=sin["beats_per_frame"],
            beats_per_frame_out=sout["beats_per_frame"],
            in_pause=pause,
            out_pause=pause,
            seed=seed,
            name="verify",
            idle_timeout=int((8 * (ii + lat) + 1000) / (1 - pause) ** 2),
        )
        with tempfile.TemporaryDirectory(prefix="run-", dir=cache) as work:
            box["result"] = run_bench(model, [run], work).runs[0]
    except BaseException as e:  # noqa: BLE001 - handed to the main thread
        box["error"] = e


def verify(
    out,
    inputs=None,
    stall: float = 0.0,
    seed: int = 1,
    *,
    random: int | None = None,
    jobs: int | None = None,
    cocotb_frames: int = COCOTB_FRAMES,
    progress=None,
    cache_dir=None,
) -> VerifyResult:
    """Simulate build ``out`` on the frames of ``inputs`` (a .npy path) or ``random`` random frames.

    The Verilator builds are cached in ``cache_dir`` (shared by the points of ``hwgen sweep``; builds are
    keyed by the Verilog's hash and file-locked), by default ``OUT/sim_build``."""
    from hwgen.dataflow.io import host_codes
    from hwgen.golden import execute
    from hwgen.ir.datatypes import DataType
    from hwgen.sim.bulk import check_shards, input_rows
    from hwgen.sim.harness import HarnessRun, build_harness, run_harness
    from hwgen.sim.stimuli import random_frames

    t_start = time.monotonic()
    if (inputs is None) == (random is None):
        raise HwgenError("give exactly one of --inputs and --random")
    if not 0 <= stall < 1:
        raise HwgenError(f"--stall must be in [0, 1), not {stall}")
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise HwgenError(f"--jobs must be at least 1, not {jobs}")
    out = Path(out)
    m = read_manifest(out)
    files = _rtl_files(out, m)
    _warn_changed(out, m)
    _step(progress, "golden model")
    graph, hw = graph_of_build(out, m)
    drawn = None
    if random is not None:
        x, drawn = random_frames(hw, graph.meta["input_shape"], random, seed)
    else:
        x = load_inputs(inputs, graph.meta["input_shape"])
    golden = execute(hw, x)[1]
    ref = golden.reshape(len(x), -1)
    sin, sout = m["input"], m["output"]
    idt, odt = DataType.from_name(sin["dtype"]), DataType.from_name(sout["dtype"])
    codes = host_codes(hw, x)
    if codes.shape[1] != sin["elements_per_frame"] or ref.shape[1] != sout["elements_per_frame"]:
        raise HwgenError(
            f"{out}: the model copy gives {codes.shape[1]} input / {ref.shape[1]} output "
            f"elements per frame, the Verilog takes {sin['elements_per_frame']} / "
            f"{sout['elements_per_frame']} (the build folder was modified)"
        )
    rows = input_rows(codes, idt, sin["elements_per_beat"], sin["tdata_bits"])
    cache, tmp = (Path(cache_dir), None) if cache_dir is not None else _cache_dir(out)
    box: dict = {}
    k = min(cocotb_frames, len(x))
    cocotb = None
    if k:
        pause = stall or COCOTB_PAUSE
        args = (files, m, codes[:k], ref[:k], idt, odt, pause, seed, cache, box)
        cocotb = threading.Thread(target=_cocotb_part, args=args, daemon=True)
        cocotb.start()
    try:
        _step(progress, "Verilator: building the simulation models")
        try:
            model = build_harness(files, m["rtl"]["top"], sin["tdata_bits"], sout["tdata_bits"], cache)
        except RuntimeError as e:  # the Verilog does not compile: the build folder is broken
            raise HwgenError(
                f"{out}: Verilator could not build the Verilog: {str(e).splitlines()[0]}"
            ) from None
        ii, lat = m["ii_cycles"], m["latency_cycles"]
        run = HarnessRun(
            rows,
            len(x),
            sin["beats_per_frame"],
            sout["beats_per_frame"],
            (sout["tdata_bits"] + 7) // 8,
            in_pause=stall,
            out_pause=stall,
            seed=seed,
            idle_timeout=int((8 * (ii + lat) + 1000) / (1 - stall) ** 2),
            extra_cycles=int((2 * (ii + lat) + 64) / (1 - stall)),
        )
        with tempfile.TemporaryDirectory(prefix="harness-", dir=cache) as work:
            t0 = time.monotonic()
            _step(progress, f"simulating {len(x)} frames", total=len(x))
            try:
                tick = None if progress is None else (lambda done: progress(done, len(x)))
                shards = run_harness(model, run, work, jobs=jobs, progress=tick)
            except RuntimeError as e:
                raise HwgenError(f"{out}: the simulation did not run: {str(e).splitlines()[0]}") from None
            harness_seconds = time.monotonic() - t0
        if cocotb is not None:
            cocotb.join()
            if "error" in box:
                e = box["error"]
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                if isinstance(e, RuntimeError) and "Verilator build" in first:
                    raise HwgenError(f"{out}: Verilator could not build the Verilog: {first}") from None
                raise HwgenError(f"{out}: the cocotb run did not complete: {first}") from None
    finally:
        if cocotb is not None:
            cocotb.join()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    bulk = check_shards(
        shards, ref, odt, sout["elements_per_beat"], sout["bits_per_beat"], sout["beats_per_frame"]
    )
    return VerifyResult(
        golden=golden,
        bulk=bulk,
        cocotb=box.get("result"),
        manifest=m,
        x=x,
        codes=drawn,
        jobs=jobs,
        shards=len(shards),
        harness_seconds=harness_seconds,
        build_seconds=0.0 if model.cached else model.build_seconds,
        total_seconds=time.monotonic() - t_start,
    )


def _step(progress, text: str, total: int | None = None) -> None:
    """Name the next step on a :class:`~hwgen.flow.progress.Progress` (other callbacks only count)."""
    if hasattr(progress, "step"):
        progress.step(text, total)


def record(out, r: VerifyResult, stall: float) -> dict | None:
    """Add what the simulation measured to build ``out``'s manifest (section ``verify``) and rewrite its
    reports; None (nothing written) when OUT is not writable. ``fifo_peak``: the most beats each FIFO held
    (the harness counts the handshakes on its ports), by the manifest's buffer name."""
    out = Path(out)
    if not os.access(out, os.W_OK):
        return None
    b = r.bulk
    section = {
        "frames": int(b.frames),
        "mismatching_frames": len(b.bad_frames),
        "passed": bool(r.passed),
        "cycles_per_frame": None if b.cycles_per_frame is None else int(b.cycles_per_frame),
        "mean_cycles_per_frame": None if b.mean_cycles_per_frame is None else float(b.mean_cycles_per_frame),
        "first_out_latency": None if b.first_out_latency is None else int(b.first_out_latency),
        "stall": float(stall),
        "inputs": "random" if r.codes is not None else "file",
    }
    names = {b.get("instance"): b["name"] for b in r.manifest.get("buffers") or [] if b.get("kind") == "FIFO"}
    peak = {names[k]: int(v) for k, v in b.fifo_peak.items() if k in names}
    if peak:
        section["fifo_peak"] = peak
    return update_manifest(out, verify=section)


def _report(r: VerifyResult, stall: float) -> None:
    m, b = r.manifest, r.bulk
    n = b.frames
    if r.codes is not None:
        print(f"random inputs: {n} frames over {len(r.codes)} input codes {r.codes.min()}..{r.codes.max()}")
    c = r.cocotb
    if c is not None:
        frames = len(c.expected) // m["output"]["beats_per_frame"]
        verdict = "PASS" if c.passed else f"FAIL ({c.mismatches} beats wrong, missing or extra)"
        print(f"cocotb bench (cocotbext-axi, pauses, input monitor): {frames} frames, {verdict}")
    cpf = "n/a" if b.cycles_per_frame is None else str(b.cycles_per_frame)
    mean = "" if b.mean_cycles_per_frame is None else f", mean {b.mean_cycles_per_frame:.1f}"
    note = f" with {stall:g} pauses on both ends" if stall else ""
    print(
        f"frames {n}, mismatching frames {len(b.bad_frames)}, measured cycles per frame {cpf} "
        f"(ii_cycles {m['ii_cycles']}){note}{mean}, first output after {b.first_out_latency} cycles "
        f"(latency_cycles {m['latency_cycles']})"
    )
    secs = max(r.harness_seconds, 1e-9)
    built = f"harness build {r.build_seconds:.1f} s" if r.build_seconds else "harness build cached"
    print(
        f"harness: {r.shards} shards on {r.jobs} jobs, {n / secs:,.0f} frames/s, "
        f"{b.cycles / secs / 1e6:.2f} M simulated cycles/s "
        f"({b.cycles:,} cycles in {r.harness_seconds:.2f} s; "
        f"{built}; {r.total_seconds:.1f} s in all)"
    )
    fifos = [
        f for f in m.get("buffers") or [] if f.get("kind") == "FIFO" and f.get("instance") in b.fifo_peak
    ]
    if fifos:
        held = ", ".join(f"{f['name']} {b.fifo_peak[f['instance']]}/{f['depth']}" for f in fifos)
        print(f"FIFO peak occupancy (beats held / depth): {held}")


def _cmd(args) -> int:
    if args.output is not None:
        check_output(args.output)
    if args.random is not None and args.random < 1:
        raise HwgenError(f"--random must be at least 1, not {args.random}")
    with Progress("hwgen verify") as bar:
        r = verify(
            args.out,
            args.inputs,
            args.stall,
            args.seed,
            random=args.random,
            jobs=args.jobs,
            cocotb_frames=args.cocotb_frames,
            progress=bar,
        )
    _report(r, args.stall)
    record(args.out, r, args.stall)
    b, golden = r.bulk, r.golden
    n = b.frames
    hw_out = r.hardware
    if args.output is not None and hw_out is not None:
        save_atomic(args.output, hw_out.astype(golden.dtype).reshape(golden.shape))
        print(f"wrote {args.output}: hardware outputs, shape {golden.shape}")
    elif args.output is not None:  # no stale file from an earlier run may pass for this one's result
        Path(args.output).unlink(missing_ok=True)
        print(f"not written: {args.output} (the hardware's output is incomplete)")
    if r.passed:
        print("PASS: every output equals the golden model")
        return 0
    problems = list(b.problems)
    if r.cocotb is not None and not r.cocotb.passed:
        problems.append("the cocotb bench failed")
    print(
        f"FAIL: {len(b.bad_frames)} of {n} frames differ from the golden model"
        + (f" ({', '.join(problems)})" if problems else "")
    )
    if b.first_bad is not None:
        k, e, got, want = b.first_bad
        ref = golden.reshape(n, -1)
        if got is None:
            print(f"first mismatching frame {k}: not received (golden {ref[k].tolist()})")
        else:
            print(
                f"first mismatching frame {k}, element {e}: hardware {got}, golden {want}; "
                f"frame: hardware {b.hardware[k].tolist()}, golden {ref[k].tolist()}"
            )
    return 1


def register(sub) -> None:
    p = sub.add_parser("verify", help="simulate a build's Verilog and compare with the golden model")
    p.add_argument("out", help="build folder written by hwgen build")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--inputs", help="float32 .npy, shape (N, C, H, W) or (N, features)")
    src.add_argument(
        "--random", type=int, metavar="N", help="N seeded random frames over the whole input code range"
    )
    p.add_argument("-o", "--output", default=None, help="write the hardware's integer outputs here (.npy)")
    p.add_argument(
        "--stall",
        type=float,
        default=0.0,
        help="probability per cycle of a pause at the source and at the sink (default 0)",
    )
    p.add_argument("--jobs", type=int, default=None, help="harness processes (default: the CPU count)")
    p.add_argument("--seed", type=int, default=1, help="seed of the pauses and of --random (default 1)")
    p.add_argument(
        "--cocotb-frames",
        type=int,
        default=COCOTB_FRAMES,
        help=f"frames of the cocotb run before the harness (default {COCOTB_FRAMES}; 0 skips it)",
    )
    p.set_defaults(func=_cmd)
