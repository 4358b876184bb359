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
    for top, mapped in (("hwgen", "hwgen"), ("sim", "hwgen.sim"), ("boards", "hwgen.boards"),
                        ("rtl_templates", "hwgen.rtl_templates")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((mapped, *rel)))
    assert found - listed == set(), f"packages missing from pyproject.toml: {sorted(found - listed)}"


def test_mapped_packages_import_from_elsewhere(tmp_path):
    code = "import hwgen.sim, hwgen.boards, hwgen.rtl_templates; print(hwgen.sim.__name__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "hwgen.sim"
