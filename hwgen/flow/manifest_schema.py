"""The schema of ``manifest.json``: types, ranges and paths checked before any value of it is used.

A build folder is trusted only as far as it is checked (DESIGN §5): :func:`validate` refuses, with one
:class:`~hwgen.errors.HwgenError` line naming the manifest and the key, a value of the wrong type, a count
out of range (zero ``elements_per_beat``, negative ``ii_cycles``), inconsistent stream sizes, and any path
(``model.file``, ``rtl.files``) that is absolute or resolves outside the build folder. Only
:mod:`hwgen.flow.manifest` calls it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from hwgen.errors import HwgenError

__all__ = ["MAX_COUNT", "inside", "validate"]

#: Upper bound of every cycle, beat and element count (far beyond any real build; keeps timeouts finite).
MAX_COUNT = 1 << 40
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class _Check:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, why: str):
        raise HwgenError(f"{self.path}: {key} {why} (the build folder is damaged; rebuild it)")

    def get(self, d: dict, key: str, where: str):
        if not isinstance(d, dict):
            self.fail(where, "must be an object")
        if key not in d:
            self.fail(f"{where}.{key}" if where else key, "is missing")
        return d[key]

    def obj(self, d, key, where=""):
        v = self.get(d, key, where)
        if not isinstance(v, dict):
            self.fail(f"{where}.{key}" if where else key, f"must be an object, not {type(v).__name__}")
        return v

    def text(self, d, key, where="", pattern=None, optional=False):
        name = f"{where}.{key}" if where else key
        if optional and d.get(key) is None:
            return None
        v = self.get(d, key, where)
        if not isinstance(v, str) or not v or "\0" in v:
            self.fail(name, f"must be a non-empty string, not {v!r:.40}")
        if pattern is not None and not pattern.fullmatch(v):
            self.fail(name, f"has an unexpected form: {v!r:.80}")
        return v

    def count(self, d, key, where="", lo=1, optional=False):
        name = f"{where}.{key}" if where else key
        if optional and d.get(key) is None:
            return None
        v = self.get(d, key, where)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(name, f"must be an integer, not {v!r:.40}")
        if not lo <= v <= MAX_COUNT:
            self.fail(name, f"= {v} is out of range ({lo}..{MAX_COUNT})")
        return v

    def number(self, d, key, where="", optional=False, positive=True):
        name = f"{where}.{key}" if where else key
        if optional and d.get(key) is None:
            return None
        v = self.get(d, key, where)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self.fail(name, f"must be a finite number, not {v!r:.40}")
        if positive and not v > 0:
            self.fail(name, f"= {v} must be positive")
        return v


def inside(out: Path, rel, key: str, check: _Check) -> Path:
    """``out / rel`` if ``rel`` is a relative path that resolves inside ``out`` (symlinks followed)."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        check.fail(key, f"must be a relative file name, not {rel!r:.40}")
    p = Path(rel)
    root = out.resolve()
    if p.is_absolute() or not (root / p).resolve().is_relative_to(root):
        check.fail(key, f"names {rel!r:.80}, which is outside the build folder; refusing to use it")
    return out / p


def _stream(c: _Check, m: dict, section: str) -> None:
    from hwgen.ir.datatypes import DataType

    s = c.obj(m, section)
    dtype = c.text(s, "dtype", section)
    try:
        DataType.from_name(dtype)
    except ValueError:
        c.fail(f"{section}.dtype", f"{dtype!r:.40} is not a datatype")
    epb = c.count(s, "elements_per_beat", section)
    bpf = c.count(s, "beats_per_frame", section)
    epf = c.count(s, "elements_per_frame", section)
    if epb * bpf != epf:
        c.fail(f"{section}.elements_per_frame", f"= {epf} is not elements_per_beat x beats_per_frame")
    c.count(s, "bits_per_beat", section, optional=True)
    c.count(s, "tdata_bits", section, optional=True)
    shape = s.get("onnx_shape")
    if shape is not None and (
        not isinstance(shape, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_COUNT for d in shape)
    ):
        c.fail(f"{section}.onnx_shape", "must be a list of positive integers")


def _verify(c: _Check, m: dict) -> None:
    """The ``verify`` section ``hwgen verify`` adds: what the simulation measured."""
    if m.get("verify") is None:
        return
    v = c.obj(m, "verify")
    c.count(v, "frames", "verify")
    c.count(v, "mismatching_frames", "verify", lo=0)
    if not isinstance(v.get("passed"), bool):
        c.fail("verify.passed", "must be true or false")
    c.count(v, "cycles_per_frame", "verify", optional=True)
    c.number(v, "mean_cycles_per_frame", "verify", optional=True)
    c.count(v, "first_out_latency", "verify", lo=0, optional=True)
    c.number(v, "stall", "verify", optional=True, positive=False)
    peak = v.get("fifo_peak")
    if peak is not None and not (
        isinstance(peak, dict) and all(isinstance(x, int) and not isinstance(x, bool) for x in peak.values())
    ):
        c.fail("verify.fifo_peak", "must map FIFO names to integers")


def _synth(c: _Check, m: dict) -> None:
    """The per-layer counts ``hwgen synth`` adds to its ``synth`` section."""
    layers = (m.get("synth") or {}).get("layers") if isinstance(m.get("synth"), dict) else None
    if layers is not None and not (
        isinstance(layers, dict)
        and all(
            isinstance(v, dict) and all(isinstance(x, int) and not isinstance(x, bool) for x in v.values())
            for v in layers.values()
        )
    ):
        c.fail("synth.layers", "must map layer names to counts")


def _pnr(c: _Check, m: dict) -> None:
    """The ``pnr`` section ``hwgen sweep --pnr`` adds: out-of-context place and route on one device."""
    if m.get("pnr") is None:
        return
    p = c.obj(m, "pnr")
    c.text(p, "device", "pnr")
    c.number(p, "freq_mhz", "pnr")
    c.number(p, "fmax_mhz", "pnr", positive=False)
    for key in ("luts", "ffs", "brams"):
        c.count(p, key, "pnr", lo=0)
    if not isinstance(p.get("meets_timing"), bool):
        c.fail("pnr.meets_timing", "must be true or false")


def validate(m, out: Path, path: Path) -> None:
    """Check manifest ``m`` of build folder ``out`` (read from ``path``); HwgenError on the first problem."""
    from hwgen.ir.datatypes import DataType

    c = _Check(path)
    if not isinstance(m, dict):
        c.fail("the manifest", "must be a JSON object")
    model = c.obj(m, "model")
    inside(out, c.text(model, "file", "model"), "model.file", c)
    c.text(model, "sha256", "model", pattern=_SHA256)
    c.text(m, "board", optional=True)
    c.number(m, "clock_mhz", optional=True)
    opts = c.obj(m, "options")
    dtype = c.text(opts, "input_dtype", "options", optional=True)
    if dtype is not None:
        try:
            DataType.from_name(dtype)
        except ValueError:
            c.fail("options.input_dtype", f"{dtype!r:.40} is not a datatype")
    c.number(opts, "input_scale", "options", optional=True)
    if (dtype is None) != (opts.get("input_scale") is None):
        c.fail("options.input_dtype", "and options.input_scale go together")
    c.count(opts, "topk", "options", optional=True)
    c.count(opts, "pipeline", "options", lo=0, optional=True)
    c.count(m, "ii_cycles")
    c.count(m, "latency_cycles", lo=0)
    c.number(m, "fps", optional=True)
    _stream(c, m, "input")
    _stream(c, m, "output")
    for key in ("layers", "buffers"):
        v = m.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            c.fail(key, "must be a list of objects")
    rtl = c.obj(m, "rtl")
    c.text(rtl, "top", "rtl", pattern=_IDENT)
    files = c.get(rtl, "files", "rtl")
    if not isinstance(files, list) or not files:
        c.fail("rtl.files", "must be a non-empty list of file names")
    for k, f in enumerate(files):
        inside(out, f, f"rtl.files[{k}]", c)
    digests = rtl.get("sha256", {})
    if not isinstance(digests, dict) or not all(
        isinstance(v, str) and _SHA256.fullmatch(v) for v in digests.values()
    ):
        c.fail("rtl.sha256", "must map file names to sha256 digests")
    for f in digests:
        inside(out, f, "rtl.sha256", c)
    _verify(c, m)
    _synth(c, m)
    _pnr(c, m)
