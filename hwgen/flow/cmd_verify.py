"""``hwgen verify OUT --inputs X.npy [-o Y.npy] [--stall P]``: a build's Verilog against the golden model.

The Verilog of the build folder ``OUT`` is compiled under Verilator (cached in ``OUT/sim_build``, or in a
temporary folder when OUT is not writable) and driven by the cocotb AXI-Stream bench
(:mod:`hwgen.sim.axis_bench`) with every frame of ``X.npy``; the source withholds ``tvalid`` and the sink
``tready`` with probability ``P`` per cycle. The golden model is recomputed from ``OUT/model.onnx`` with the
build's options (never from anything the build generated), and every output of the hardware is compared
with it exactly.

Prints frames, mismatching frames, the measured cycles per frame (steady state; with ``P`` > 0 it includes
the pauses) and the manifest's II. Exit 0 if every output equals the golden model, 1 on any mismatch
(missing, extra or wrong beats), 2 on bad input. ``-o`` writes the hardware's integer outputs in the shape
``hwgen run --integer`` gives.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from hwgen.errors import HwgenError

from .cmd_run import check_output, load_inputs, save_atomic
from .manifest import read_manifest, sha256_file
from .steps import graph_of_build

__all__ = ["register", "verify"]


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


def verify(out, inputs, stall: float = 0.0, seed: int = 1):
    """Simulate build ``out`` on the frames of ``inputs``.

    Returns ``(golden, hardware, run, manifest)``: the golden integer outputs (shape as ``hwgen run
    --integer``), the hardware's outputs (N, elements) or None when frames are missing, the bench's
    :class:`~hwgen.sim.runner.RunResult` and the manifest.
    """
    from hwgen.dataflow.io import host_codes, pack_frames, unpack_frames
    from hwgen.golden import execute
    from hwgen.ir.datatypes import DataType
    from hwgen.sim.runner import BenchRun, build_verilator, run_bench

    out = Path(out)
    m = read_manifest(out)
    files = _rtl_files(out, m)
    _warn_changed(out, m)
    graph, hw = graph_of_build(out, m)
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
    beats = pack_frames(codes, idt, sin["elements_per_beat"])
    expected = pack_frames(ref, odt, sout["elements_per_beat"])
    cache, tmp = _cache_dir(out)
    try:
        try:
            model = build_verilator(files, m["rtl"]["top"], cache)
        except RuntimeError as e:  # the Verilog does not compile: the build folder is broken
            first = str(e).splitlines()[0]
            raise HwgenError(f"{out}: Verilator could not build the Verilog: {first}") from None
        ii, lat = m["ii_cycles"], m["latency_cycles"]
        run = BenchRun(
            beats,
            expected,
            beats_per_frame_in=sin["beats_per_frame"],
            beats_per_frame_out=sout["beats_per_frame"],
            in_pause=stall,
            out_pause=stall,
            seed=seed,
            name="verify",
            idle_timeout=int((8 * (ii + lat) + 1000) / (1 - stall) ** 2),
        )
        with tempfile.TemporaryDirectory(prefix="run-", dir=cache) as work:
            try:
                res = run_bench(model, [run], work)
            except RuntimeError as e:
                raise HwgenError(f"{out}: the simulation did not run: {str(e).splitlines()[0]}") from None
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    r = res.runs[0]
    hw_out = None
    if len(r.received) == len(expected):
        hw_out = unpack_frames(r.received, odt, sout["elements_per_beat"], len(x))
    return golden, hw_out, r, m


def _cmd(args) -> int:
    if not 0 <= args.stall < 1:
        raise HwgenError(f"--stall must be in [0, 1), not {args.stall}")
    if args.output is not None:
        check_output(args.output)
    golden, hw_out, r, m = verify(args.out, args.inputs, args.stall, args.seed)
    n = len(golden)
    ref = golden.reshape(n, -1)
    if hw_out is None:
        got_frames = len(r.received) // m["output"]["beats_per_frame"]
        bad = np.arange(min(got_frames, n), n) if got_frames < n else np.arange(n)
    else:
        bad = np.flatnonzero((hw_out != ref).any(axis=1))
    ok = r.passed and hw_out is not None and len(bad) == 0 and r.sink_empty and r.framing_ok and not r.timeout
    cpf = "n/a" if r.cycles_per_frame is None else str(r.cycles_per_frame)
    note = f" with {args.stall:g} pauses on both ends" if args.stall else ""
    print(
        f"frames {n}, mismatching frames {len(bad)}, measured cycles per frame {cpf}{note} "
        f"(ii_cycles {m['ii_cycles']}), first output after {r.first_out_latency} cycles "
        f"(latency_cycles {m['latency_cycles']})"
    )
    if args.output is not None and hw_out is not None:
        save_atomic(args.output, hw_out.astype(golden.dtype).reshape(golden.shape))
        print(f"wrote {args.output}: hardware outputs, shape {golden.shape}")
    elif args.output is not None:  # no stale file from an earlier run may pass for this one's result
        Path(args.output).unlink(missing_ok=True)
        print(f"not written: {args.output} (the hardware's output is incomplete)")
    if ok:
        print("PASS: every output equals the golden model")
        return 0
    problems = [
        p
        for p, cond in (
            ("timeout", r.timeout),
            ("beats left in the sink", not r.sink_empty),
            ("wrong frame lengths (tlast)", not r.framing_ok),
            ("the input monitor did not see the beats sent", not r.monitor_ok),
            (f"{r.mismatches} beats wrong, missing or extra", r.mismatches and not len(bad)),
        )
        if cond
    ]
    print(
        f"FAIL: {len(bad)} of {n} frames differ from the golden model"
        + (f" ({', '.join(problems)})" if problems else "")
    )
    if len(bad):
        k = int(bad[0])
        got = hw_out[k].tolist() if hw_out is not None else "(missing)"
        print(f"first mismatching frame {k}: hardware {got}, golden {ref[k].tolist()}")
    return 1


def register(sub) -> None:
    p = sub.add_parser("verify", help="simulate a build's Verilog and compare with the golden model")
    p.add_argument("out", help="build folder written by hwgen build")
    p.add_argument("--inputs", required=True, help="float32 .npy, shape (N, C, H, W) or (N, features)")
    p.add_argument("-o", "--output", default=None, help="write the hardware's integer outputs here (.npy)")
    p.add_argument(
        "--stall",
        type=float,
        default=0.0,
        help="probability per cycle of a pause at the source and at the sink (default 0)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the pause generators (default 1)")
    p.set_defaults(func=_cmd)
