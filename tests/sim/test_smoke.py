"""Issue #2 acceptance: a tiny stream component through amaranth.sim, Verilog export, Verilator and cocotb.

Every result is compared with NumPy (``hwgen.sim.smoke.reference``), and the deliberately broken
variants must be caught by both simulators.
"""

import os
import subprocess
import sys

import pytest
from hwgen.sim.amaranth_bench import run_stream_sim
from hwgen.sim.runner import session_cache_dir
from hwgen.sim.smoke import XnorPopcount, pack, random_words, reference, run_verilator


def test_reference_by_hand():
    # 0x00FF ^ 0x0F0F = 0x0FF0: 8 bits differ, 8 are equal
    assert reference([0x00FF, 0xFFFF, 0x0000], [0x0F0F, 0xFFFF, 0xFFFF]).tolist() == [8, 16, 0]


@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_amaranth_sim_matches_numpy(stall):
    a, b = random_words(150, seed=3)
    got = run_stream_sim(XnorPopcount(), pack(a, b), 150, gap_prob=stall, stall_prob=stall, seed=5)
    assert got == reference(a, b).tolist()


@pytest.mark.parametrize("bug", ["drop_bit", "ignore_ready"])
def test_amaranth_sim_catches_broken_variant(bug):
    a, b = random_words(150, seed=3)
    got = run_stream_sim(XnorPopcount(bug=bug), pack(a, b), 150, gap_prob=0.3, stall_prob=0.3, seed=5)
    assert got != reference(a, b).tolist()


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"'bug' must be one of"):
        XnorPopcount(bug="typo")
    with pytest.raises(ValueError, match=r"'width' must be a positive integer"):
        XnorPopcount(width=0)


@pytest.fixture(scope="session")
def vl_cache(tmp_path_factory):
    return session_cache_dir(tmp_path_factory)


@pytest.mark.verilator
def test_verilator_matches_numpy(tmp_path, vl_cache):
    res = run_verilator(tmp_path, n=200, stall=0.3, seed=2, cache=vl_cache)
    a, b = random_words(200, seed=2)
    want = reference(a, b).tolist()
    for run in res["bench"].runs:
        assert run.passed, (run, res["bench"].log_tail())
        assert run.received == want  # independent of the bench's own comparison
        assert run.sink_empty and run.framing_ok and not run.timeout
    full = res["bench"]["full_speed"]
    assert full.cycles_per_frame == 4  # one beat per cycle, 4 beats per frame
    assert set(full.intervals) == {4}
    assert full.first_out_latency == 1  # one register stage
    patterns = res["bench"]["patterns"]  # the source offers a beat every third cycle
    assert set(patterns.intervals) == {12}


@pytest.mark.verilator
@pytest.mark.parametrize("bug", ["drop_bit", "ignore_ready"])
def test_verilator_bench_reports_broken_variant(tmp_path, vl_cache, bug):
    res = run_verilator(tmp_path, n=120, stall=0.3, seed=2, bug=bug, cache=vl_cache)
    bench = res["bench"]
    assert not bench.passed and not res["ok"]
    stalls = bench["stalls"]
    assert not stalls.passed and stalls.mismatches > 0 and stalls.first_mismatches
    a, b = random_words(120, seed=2)
    assert stalls.received != reference(a, b).tolist()
    if bug == "ignore_ready":  # loses beats only when the sink stalls
        assert stalls.n_received < 120
        assert bench["full_speed"].passed


@pytest.mark.verilator
@pytest.mark.slow
def test_entry_point_one_line(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "hwgen.sim.smoke", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smoke OK"), out.stdout
    assert "200/200 beats" in lines[0]


@pytest.mark.verilator
def test_concurrent_builds_share_one_folder(tmp_path):
    """Two processes build the same Verilog into one cache: one compiles, the other waits and reuses;
    a second design then reuses the Verilator runtime objects; two benches run side by side."""
    from concurrent.futures import ProcessPoolExecutor

    from hwgen.sim.runner import BenchRun, build_verilator, run_bench

    from hwgen.flow.verilog import export_stream_verilog

    cache = tmp_path / "cache"  # its own cache: no other test may have built this design before
    src = export_stream_verilog(XnorPopcount(), tmp_path / "a.v", "smoke_top", 2)["path"]
    with ProcessPoolExecutor(2) as pool:
        models = list(pool.map(build_verilator, [src, src], ["smoke_top"] * 2, [cache] * 2))
    assert sorted(m.cached for m in models) == [False, True]
    assert models[0].build_dir == models[1].build_dir

    other = export_stream_verilog(XnorPopcount(bug="drop_bit"), tmp_path / "b.v", "smoke_top", 2)["path"]
    second = build_verilator(other, "smoke_top", cache)
    assert not second.cached and second.build_dir != models[0].build_dir
    assert "verilated_vpi.cpp" not in (second.build_dir / "build.log").read_text()

    a, b = random_words(8, seed=4)
    runs = [BenchRun(pack(a, b), reference(a, b).tolist(), 2, 2, name="r")]
    with ProcessPoolExecutor(2) as pool:
        work = [tmp_path / "w1", tmp_path / "w2"]
        results = list(pool.map(run_bench, [models[0], second], [runs, runs], work))
    assert results[0].passed and not results[1].passed
