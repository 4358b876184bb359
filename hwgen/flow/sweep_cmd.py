"""``hwgen sweep MODEL -o DIR [--board B] [--fps LIST | --points N] [--clock-mhz LIST] [--random N]
[--jobs N] [--executor local|dask --scheduler ADDR] [--pnr DEVICE]`` (see :mod:`hwgen.flow.sweep`)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _floats(option: str):
    def parse(text: str) -> list[float]:
        try:
            return [float(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{option} must be comma-separated numbers, not {text!r}"
            ) from None

    return parse


def _cmd(args) -> int:
    from .progress import Progress
    from .sweep import SweepSpec
    from .sweep_run import run_sweep

    spec = SweepSpec(
        args.model, args.output, board=args.board, fps=args.fps, points=args.points,
        clocks=args.clock_mhz or [100.0], random=args.random, pnr=args.pnr, seed=args.seed,
        max_lanes=args.max_lanes,
    )  # fmt: skip
    with Progress("hwgen sweep") as p:
        r = run_sweep(spec, jobs=args.jobs, executor=args.executor, scheduler=args.scheduler, progress=p)
    pts = r["points"]
    bad = [x for x in pts if x.get("error") or not x.get("passed")]
    for x in pts:
        what = f"error: {x['error']}" if x.get("error") else ("PASS" if x.get("passed") else "FAIL")
        fmax = f", Fmax {x['fmax_mhz']:g} MHz" if x.get("fmax_mhz") is not None else ""
        print(
            f"{x['key']}: {x['clock_mhz']:g} MHz, ii {x['ii_cycles']}, measured {x.get('cycles_per_frame')} "
            f"cycles/frame, ~{x.get('est_luts')} LUTs, {x.get('est_bram_bits')} BRAM bits{fmax}: {what}"
        )
    print(
        f"wrote {args.output}/sweep.json, sweep.csv, sweep.html: {len(pts)} points "
        f"({r['ran']} run, {r['skipped']} finished before), {len(bad)} failed"
    )
    return 1 if bad else 0


def register(sub) -> None:
    p = sub.add_parser("sweep", help="build, verify (and place and route) a set of foldings in parallel")
    p.add_argument("model", help="QONNX or FINN-ONNX model file")
    p.add_argument("-o", "--output", required=True, help="sweep folder (reruns skip its finished points)")
    p.add_argument("--board", default="none", help="board whose capacity the points are checked against")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--fps", type=_floats("--fps"), default=None, help="target rates, e.g. 1000,10000")
    how.add_argument("--points", type=int, default=None, help="points on the Pareto front (default 6)")
    p.add_argument(
        "--max-lanes", type=int, default=256, help="PE·SIMD per matrix layer on the front (default 256)"
    )
    p.add_argument("--clock-mhz", type=_floats("--clock-mhz"), default=None, help="clocks (default 100)")
    p.add_argument("--random", type=int, default=200, help="random frames verified per point (default 200)")
    p.add_argument("--jobs", type=int, default=1, help="points at a time on the local pool (default 1)")
    p.add_argument("--executor", choices=("local", "dask"), default="local", help="local pool or Dask")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --executor dask)")
    p.add_argument("--pnr", default=None, metavar="DEVICE", help="place and route each point (e.g. ecp5-85k)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random frames and of nextpnr")
    p.set_defaults(func=_cmd)
