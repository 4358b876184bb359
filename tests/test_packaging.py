"""The package layout: every package directory is listed in pyproject, and the mapped folders import."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = set()
    for top, mapped in (
        ("hwgen", "hwgen"),
        ("sim", "hwgen.sim"),
        ("boards", "hwgen.boards"),
        ("rtl_templates", "hwgen.rtl_templates"),
    ):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((mapped, *rel)))
    assert found - listed == set(), f"packages missing from pyproject.toml: {sorted(found - listed)}"


def test_mapped_packages_import_from_elsewhere(tmp_path):
    code = "import hwgen.sim, hwgen.boards, hwgen.rtl_templates; print(hwgen.sim.__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "hwgen.sim"


def test_non_editable_install_ships_mapped_folders(tmp_path):
    """``pip install .`` (not editable) puts sim/, boards/, rtl_templates/ inside the hwgen package."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    for sub in ("sim", "boards", "rtl_templates", "ir", "golden", "driver"):
        assert (target / "hwgen" / sub / "__init__.py").is_file(), sub
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", "import hwgen.sim, hwgen.cli; print(hwgen.sim.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().startswith(str(target))
