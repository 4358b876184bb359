"""``hwgen sweep`` on a small binary MLP: the planned points against a brute-force Pareto front, the local
pool and a Dask ``LocalCluster`` giving the same results, reruns skipping finished points, a killed worker's
task retried, and one-line errors for bad options."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import threading
import time

import pytest
from helpers.cli import hwgen
from helpers.html_page import Page, decode_images
from helpers.onnx_models import binary_mlp

from hwgen.flow.sweep import SweepSpec, plan

SIZES = (16, 8, 4)  # fc0: MH 8 x MW 16, fc1: MH 4 x MW 8
FPS = "4000000,12000000,40000000"  # at 100 MHz: II <= 25, 8, 2 cycles


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return binary_mlp(tmp_path_factory.mktemp("model") / "mlp.onnx", sizes=SIZES)


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def test_points_lie_on_the_brute_force_pareto_front(model, tmp_path):
    from hwgen.dataflow.folding import folding_from_dict
    from hwgen.flow import steps

    hw = steps.streamline(steps.load(model), steps.BuildOptions(model=model))
    every = []  # every folding of both layers: (LUTs, BRAM bits, II)
    for p0, s0, p1, s1 in itertools.product(_divisors(8), _divisors(16), _divisors(4), _divisors(8)):
        f = folding_from_dict(hw, {"fc0": {"pe": p0, "simd": s0}, "fc1": {"pe": p1, "simd": s1}})
        luts = sum(lf.resources["luts"] for lf in f.layers)
        bram = sum(lf.resources["bram_bits"] for lf in f.layers)
        ii = max((8 // p0) * (16 // s0), (4 // p1) * (8 // s1))  # hand cycle model
        every.append((luts, bram, ii))
    tasks = plan(SweepSpec(model, tmp_path / "s", points=4))
    assert len(tasks) == 4 and len({t["key"] for t in tasks}) == 4
    for t in tasks:
        (p0, s0), (p1, s1) = ((t["folding"][n]["pe"], t["folding"][n]["simd"]) for n in ("fc0", "fc1"))
        ii = max((8 // p0) * (16 // s0), (4 // p1) * (8 // s1))
        assert t["ii_cycles"] == ii and t["fps"] == pytest.approx(100e6 / ii)
        mine = (t["est_luts"], t["est_bram_bits"], ii)
        assert mine in every
        dominated = [e for e in every if all(a <= b for a, b in zip(e, mine, strict=True)) and e != mine]
        assert not dominated, (t["folding"], dominated[:3])
    iis = [t["ii_cycles"] for t in tasks]
    assert iis == sorted(iis) and iis[0] == min(e[2] for e in every)  # the fastest end is included


@pytest.mark.parametrize(
    "argv, what",
    [
        (["--fps", "1e6,x"], "--fps"),
        (["--fps", "1e6", "--points", "3"], "not allowed with"),
        (["--points", "0"], "--points"),
        (["--clock-mhz", "-5"], "--clock-mhz"),
        (["--pnr", "xc9000"], "--pnr xc9000"),
        (["--board", "nosuch"], "--board nosuch"),
        (["--executor", "dask"], "--scheduler"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_bad_options_are_one_line_exit_2(model, tmp_path, capsys, argv, what):
    rc, so, se = hwgen(capsys, "sweep", model, "-o", tmp_path / "s", "--random", "5", *argv)
    assert rc == 2 and what in se and se.count("\n") == 1 and "Traceback" not in se


def _points(out):
    d = json.loads((out / "sweep.json").read_text())
    return {p["key"]: p for p in d["points"]}


SAME = (
    "ii_cycles",
    "cycles_per_frame",
    "latency_cycles",
    "passed",
    "frames",
    "est_luts",
    "est_bram_bits",
    "fps",
)


def _check_sweep(out):
    pts = _points(out)
    assert len(pts) == 3
    for p in pts.values():
        assert p["status"] == "done" and p["passed"] and p["frames"] == 24 and p["mismatching_frames"] == 0
        assert p["cycles_per_frame"] == p["ii_cycles"]  # measured = computed II
        assert p["measured_fps"] == pytest.approx(100e6 / p["ii_cycles"])
        m = json.loads((out / "points" / p["key"] / "build" / "manifest.json").read_text())
        assert m["verify"]["cycles_per_frame"] == p["cycles_per_frame"]  # recorded in the build, too
        assert m["ii_cycles"] == p["ii_cycles"] and m["folding"] == p["folding"]
    assert sorted(p["ii_cycles"] for p in pts.values()) == [2, 8, 16]  # cheapest foldings for 2, 8, 25
    rows = list(csv.DictReader((out / "sweep.csv").read_text().splitlines()))
    assert {r["key"]: int(r["cycles_per_frame"]) for r in rows} == {
        k: p["cycles_per_frame"] for k, p in pts.items()
    }
    page = Page((out / "sweep.html").read_text())
    table = page.tables["points-table"]
    assert {r[0]: int(r[3]) for r in table[1:]} == {k: p["cycles_per_frame"] for k, p in pts.items()}
    assert len(decode_images(page)) == 2
    return pts


@pytest.mark.verilator
def test_local_pool_rerun_skips_and_dask_gives_the_same_results(model, tmp_path, capsys):
    out = tmp_path / "local"
    argv = ["sweep", model, "-o", out, "--fps", FPS, "--random", "24"]
    rc, so, se = hwgen(capsys, *argv, "--jobs", "2")
    assert rc == 0, se + so
    assert "3 points (3 run, 0 finished before), 0 failed" in so
    local = _check_sweep(out)
    assert len({p["worker_pid"] for p in local.values()} - {os.getpid()}) >= 1  # ran in worker processes
    # an interrupted sweep: one point's result lost; the rerun runs that one only
    victim = sorted(local)[0]
    (out / "points" / victim / "result.json").unlink()
    rc, so, se = hwgen(capsys, *argv)
    assert rc == 0 and "3 points (1 run, 2 finished before)" in so
    again = _check_sweep(out)
    assert {k: [p[f] for f in SAME] for k, p in again.items()} == {
        k: [p[f] for f in SAME] for k, p in local.items()
    }

    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        dout = tmp_path / "dask"
        rc, so, se = hwgen(capsys, "sweep", model, "-o", dout, "--fps", FPS, "--random", "24", "--executor",
                           "dask", "--scheduler", c.scheduler_address)  # fmt: skip
        assert rc == 0, se + so
    remote = _check_sweep(dout)
    assert set(remote) == set(local)  # same keys: same model, foldings, settings and tools
    assert {k: [p[f] for f in SAME] for k, p in remote.items()} == {
        k: [p[f] for f in SAME] for k, p in local.items()
    }


@pytest.mark.verilator
@pytest.mark.slow
def test_a_killed_workers_task_is_retried(model, tmp_path):
    distributed = pytest.importorskip("distributed")
    from hwgen.flow.sweep_run import run_sweep

    spec = SweepSpec(model, tmp_path / "s", fps=[float(f) for f in FPS.split(",")], random=24)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        box = {}
        th = threading.Thread(
            target=lambda: box.update(r=run_sweep(spec, executor="dask", scheduler=c.scheduler_address))
        )
        th.start()
        with distributed.Client(c.scheduler_address) as client:
            killed = None
            deadline = time.monotonic() + 300
            while killed is None and time.monotonic() < deadline:
                busy = {w: ts for w, ts in client.processing().items() if ts}
                if busy:
                    worker, tasks = next(iter(busy.items()))
                    time.sleep(1.0)  # let it start working on the point
                    pid = client.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    killed = (pid, tasks[0])
                time.sleep(0.1)
        th.join(timeout=600)
    assert killed is not None and not th.is_alive()
    pts = {p["key"]: p for p in box["r"]["points"]}
    assert len(pts) == 3 and all(
        p["passed"] and p["cycles_per_frame"] == p["ii_cycles"] for p in pts.values()
    )
    key = killed[1].removeprefix("hwgen-sweep-")
    assert (
        key in pts and pts[key]["worker_pid"] != killed[0]
    )  # finished elsewhere (or on the restarted worker)
    assert _points(tmp_path / "s")[key]["status"] == "done"


@pytest.mark.verilator
@pytest.mark.slow
def test_place_and_route_per_point(model, tmp_path, capsys):
    """``--pnr hx8k``: every point also placed and routed out of context; utilisation and Fmax in its
    result, the CSV and its build's manifest, timing judged against the point's clock."""
    out = tmp_path / "pnr"
    rc, so, se = hwgen(capsys, "sweep", model, "-o", out, "--fps", "400000,4000000", "--random", "16",
                       "--pnr", "hx8k", "--clock-mhz", "12", "--jobs", "2")  # fmt: skip
    assert rc == 0, se + so
    pts = _points(out)
    assert len(pts) == 2
    rows = {r["key"]: r for r in csv.DictReader((out / "sweep.csv").read_text().splitlines())}
    for key, p in pts.items():
        assert p["status"] == "done" and p["passed"] and p["pnr_luts"] > 0 and p["fmax_mhz"] > 0
        assert p["meets_timing"] == (p["fmax_mhz"] >= 12)
        m = json.loads((out / "points" / key / "build" / "manifest.json").read_text())
        assert m["pnr"]["device"] == "hx8k" and m["pnr"]["luts"] == p["pnr_luts"]
        assert float(rows[key]["fmax_mhz"]) == pytest.approx(p["fmax_mhz"], abs=0.01)
    luts = sorted((p["ii_cycles"], p["pnr_luts"]) for p in pts.values())
    assert luts[0][1] > luts[1][1]  # the faster point (more lanes) takes more LUTs
