"""``hwgen build MODEL.onnx -o OUT``: the accelerator's Verilog, its manifest and a report (DESIGN §5).

Options: ``--board NAME`` (a module of :mod:`hwgen.boards`; default ``none``: generic out-of-context
Verilog), ``--folding FILE`` (``{layer: {"pe": P, "simd": S}}``) or ``--target-fps F`` at ``--clock-mhz M``
(default 100 MHz; without either the balanced default folding), ``--topk K``, ``--input-dtype T
--input-scale S`` (raw integer input, quantized on chip). The folder layout and manifest keys are described
in :mod:`hwgen.flow.manifest`.

OUT is written as a whole or not at all: everything goes to a hidden temporary folder next to OUT, which is
renamed to OUT at the end. An existing OUT is replaced only if it is empty or a previous hwgen build (it
has a hwgen manifest); any other existing OUT is refused (exit 2) so no user file is ever deleted.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pkgutil
import shutil
import tempfile
from pathlib import Path

from hwgen.errors import HwgenError

from .manifest import FORMAT, FORMAT_VERSION, MANIFEST, MODEL_COPY, is_build, sha256_file, write_report

__all__ = ["TOP", "boards", "build", "register"]

TOP = "hwgen_top"  # name of the top Verilog module
LAYOUT = "NHWC, channels fastest; element 0 in the least significant bits of a beat"


def boards() -> list[str]:
    """Board names ``--board`` accepts: ``none`` and the modules of :mod:`hwgen.boards`."""
    import hwgen.boards

    return ["none", *sorted(m.name for m in pkgutil.iter_modules(hwgen.boards.__path__) if not m.ispkg)]


def _check_out(out: Path) -> None:
    if not out.parent.is_dir():
        raise HwgenError(f"-o {out}: folder {out.parent} does not exist")
    if out.exists():
        if not out.is_dir():
            raise HwgenError(f"-o {out}: exists and is not a folder")
        if any(out.iterdir()) and not is_build(out):
            raise HwgenError(f"-o {out}: exists, is not empty and is not a hwgen build; not replacing it")


def _check_options(args) -> None:
    if args.board not in boards():
        raise HwgenError(f"--board {args.board}: unknown board (boards: {', '.join(boards())})")
    if (args.input_dtype is None) != (args.input_scale is None):
        raise HwgenError("--input-dtype and --input-scale go together")
    if not (math.isfinite(args.clock_mhz) and args.clock_mhz > 0):
        raise HwgenError(f"--clock-mhz must be a positive number, not {args.clock_mhz}")
    if args.topk is not None and args.topk < 1:
        raise HwgenError(f"--topk must be at least 1, not {args.topk}")
    if args.target_fps is not None and not 0 < args.target_fps <= args.clock_mhz * 1e6:
        raise HwgenError(
            f"--target-fps {args.target_fps:g}: must be positive and at most one frame per "
            f"clock cycle ({args.clock_mhz:g} MHz)"
        )


def _stream(desc: dict, tdata_bits: int, shape=None) -> dict:
    d = {
        "dtype": desc["dtype"],
        "elements_per_beat": desc["lanes"],
        "bits_per_beat": desc["payload_bits"],
        "tdata_bits": tdata_bits,
        "beats_per_frame": desc["beats_per_frame"],
        "elements_per_frame": desc["lanes"] * desc["beats_per_frame"],
        "layout": LAYOUT,
    }
    if shape is not None:
        d["onnx_shape"] = list(shape)
    return d


def _totals(items) -> dict:
    tot: dict = {}
    for it in items:
        for k, v in (it.get("resources") or {}).items():
            if isinstance(v, int | float):
                tot[k] = tot.get(k, 0) + v
    return tot


def _folding(args, hw):
    from hwgen.dataflow import auto_folding, default_folding, load_folding

    if args.folding is not None:
        return load_folding(hw, args.folding), {"folding_file": str(args.folding)}
    if args.target_fps is not None:
        return (
            auto_folding(hw, target_fps=args.target_fps, clock_mhz=args.clock_mhz),
            {"target_fps": args.target_fps},
        )
    return default_folding(hw), {"folding": "default"}


def build(args, tmp: Path) -> dict:
    """Write the whole build into ``tmp``; returns the manifest."""
    from hwgen import __version__
    from hwgen.dataflow import Accelerator
    from hwgen.frontend import load
    from hwgen.passes import streamline

    from .verilog import export_stream_verilog

    graph = load(args.model)
    try:
        hw = streamline(graph, input_dtype=args.input_dtype, input_scale=args.input_scale, topk=args.topk)
    except (ValueError, KeyError, IndexError, TypeError) as e:  # a structure the passes do not expect
        raise HwgenError(f"{args.model}: could not be mapped to hardware ({type(e).__name__}: {e})") from None
    folding, how = _folding(args, hw)
    acc = Accelerator(hw, folding)
    desc = acc.describe()
    shutil.copyfile(args.model, tmp / MODEL_COPY)
    (tmp / "folding.json").write_text(json.dumps(folding.to_dict(), indent=1) + "\n")
    v = export_stream_verilog(acc, tmp / "rtl" / f"{TOP}.v", TOP, acc.beats_per_frame_out)
    rtl = [f"rtl/{TOP}.v"]
    ii = desc["ii_cycles"]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hwgen_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "model": {
            "file": MODEL_COPY,
            "source": str(Path(args.model).resolve()),
            "sha256": sha256_file(tmp / MODEL_COPY),
        },
        "board": args.board,
        "clock_mhz": args.clock_mhz,
        "options": {
            "input_dtype": args.input_dtype,
            "input_scale": args.input_scale,
            "topk": args.topk,
            **how,
        },
        "ii_cycles": ii,
        "latency_cycles": desc["latency_cycles"],
        "fps": args.clock_mhz * 1e6 / ii,
        "input": _stream(desc["input"], v["s_tdata_bits"], graph.meta.get("input_shape")),
        "output": {
            **_stream(desc["output"], v["m_tdata_bits"]),
            "values": "label indices (top-k)" if args.topk else "last layer's integer dot products",
        },
        "layers": desc["layers"],
        "buffers": desc["buffers"],
        "resources": _totals(desc["layers"] + desc["buffers"]),
        "folding": folding.to_dict(),
        "rtl": {"top": TOP, "files": rtl, "sha256": {f: sha256_file(tmp / f) for f in rtl}},
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    write_report(manifest, tmp / "report.md")
    return manifest


def _replace(tmp: Path, out: Path) -> None:
    """Put ``tmp`` in place of ``out`` (an absent, empty or previous build folder)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        out.rename(old / "build")
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _cmd(args) -> int:
    _check_options(args)
    out = Path(args.output)
    _check_out(out)
    if not Path(args.model).is_file():
        raise HwgenError(f"{args.model}: no such file")
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would be private, unlike an ordinary folder
        m = build(args, tmp)
        _check_out(out)  # nothing appeared at OUT meanwhile
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    res = m["resources"]
    print(
        f"wrote {out}: {len(m['layers'])} layers, ii {m['ii_cycles']} cycles "
        f"({m['fps']:.0f} fps at {m['clock_mhz']:g} MHz), latency {m['latency_cycles']} cycles, "
        f"~{res.get('luts', 0)} LUTs, {res.get('bram_bits', 0)} BRAM bits"
    )
    return 0


def register(sub) -> None:
    p = sub.add_parser("build", help="generate the accelerator's Verilog, manifest and report")
    p.add_argument("model", help="QONNX or FINN-ONNX model file")
    p.add_argument("-o", "--output", required=True, help="build folder (a previous build is replaced)")
    p.add_argument("--board", default="none", help="target board (default: none = generic Verilog)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--folding", default=None, help='JSON file {layer: {"pe": P, "simd": S}}')
    how.add_argument("--target-fps", type=float, default=None, help="fold for this many frames per second")
    p.add_argument("--clock-mhz", type=float, default=100.0, help="clock frequency (default 100)")
    p.add_argument("--topk", type=int, default=None, help="output the indices of the K largest outputs")
    p.add_argument("--input-dtype", default=None, help="raw integer input type on chip, e.g. uint8")
    p.add_argument(
        "--input-scale", type=float, default=None, help="float value of one input step, e.g. 1/255"
    )
    p.set_defaults(func=_cmd)
