"""Running a sweep: finished points skipped, the rest on a local process pool or a Dask cluster.

Both executors call the same :func:`hwgen.flow.sweep.run_point` on the same task dicts; results are saved
(``DIR/points/<key>/result.json``) and ``DIR/sweep.json`` / ``sweep.csv`` / ``sweep.html`` rewritten as each
point finishes, so an interrupted sweep (Ctrl-C, a lost machine) keeps every finished point and a rerun
runs only the others. Dask reschedules the task of a worker that dies on another worker (the scheduler's
``allowed-failures``); a task is also retried ``RETRIES`` times if it raises.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from hwgen.errors import HwgenError

from .sweep import SweepSpec, load_result, plan, run_point, save_result
from .sweep_report import write_outputs

__all__ = ["RETRIES", "run_sweep"]

RETRIES = 2


def _local(tasks: list[dict], jobs: int):
    """Results of ``tasks`` as they finish, from ``jobs`` worker processes (spawned: no inherited threads)."""
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = {pool.submit(run_point, t) for t in tasks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    finally:  # interrupted: drop what has not started, leave the finished results saved
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(tasks: list[dict], scheduler):
    """Results of ``tasks`` as they finish on the Dask scheduler at ``scheduler`` (an address)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise HwgenError("--executor dask needs dask distributed: pip install 'hwgen[dask]'") from None
    if not scheduler:
        raise HwgenError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as e:
        raise HwgenError(f"--scheduler {scheduler}: cannot connect ({e})") from None
    try:
        keys = [f"hwgen-sweep-{t['key']}" for t in tasks]
        futures = [
            client.submit(run_point, t, key=k, pure=False, retries=RETRIES)
            for t, k in zip(tasks, keys, strict=True)
        ]
        for f in as_completed(futures):
            yield f.result()
    finally:
        client.close()


def run_sweep(spec: SweepSpec, jobs: int = 1, executor: str = "local", scheduler=None, progress=None) -> dict:
    """Run sweep ``spec``; returns ``{"points": [results], "ran": n, "skipped": n}``.

    ``progress``: a :class:`hwgen.flow.progress.Progress` (or None)."""
    if executor not in ("local", "dask"):
        raise HwgenError(f"--executor must be local or dask, not {executor}")
    if jobs < 1:
        raise HwgenError(f"--jobs must be at least 1, not {jobs}")
    if executor == "dask" and not scheduler:
        raise HwgenError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    out = Path(spec.out)
    if out.exists() and not out.is_dir():
        raise HwgenError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress.step("folding search")
    tasks = plan(spec, progress=None if progress is None else progress.advance)
    results = {}
    for t in tasks:
        r = load_result(out, t["key"])
        if r is not None:
            results[t["key"]] = r
    todo = [t for t in tasks if t["key"] not in results]
    skipped = len(tasks) - len(todo)
    write_outputs(out, spec, tasks, results)
    if progress is not None:
        progress.step(f"{len(todo)} points ({skipped} done before)", total=len(todo))
    run = _local(todo, jobs) if executor == "local" else _dask(todo, scheduler)
    for k, r in enumerate(run, start=1):
        save_result(out, r)
        results[r["key"]] = r
        write_outputs(out, spec, tasks, results)
        if progress is not None:
            progress.advance(k)
    return {"points": [results[t["key"]] for t in tasks], "ran": len(todo), "skipped": skipped}
