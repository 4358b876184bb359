"""``hwgen build MODEL.onnx -o OUT``: the accelerator's Verilog, its manifest and a report (DESIGN §5).

Options: ``--board NAME`` (a module of :mod:`hwgen.boards`; default ``none``: generic out-of-context
Verilog), ``--folding FILE`` (``{layer: {"pe": P, "simd": S}}``) or ``--target-fps F`` at ``--clock-mhz M``
(default 100 MHz; without either the balanced default folding), ``--topk K``, ``--input-dtype T
--input-scale S`` (raw integer input, quantized on chip). The folder layout and manifest keys are described
in :mod:`hwgen.flow.manifest`; the build itself is the steps of :mod:`hwgen.flow.steps`, run in order by
:func:`build`.

OUT is written as a whole or not at all: everything goes to a hidden temporary folder next to OUT, which is
renamed to OUT at the end. An existing OUT is replaced only if it is empty or a previous hwgen build that
holds nothing else (:func:`hwgen.flow.manifest.is_build`); any other existing OUT is refused (exit 2) so no
user file is ever deleted.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
from pathlib import Path

from hwgen.dataflow.stages import FAMILIES
from hwgen.errors import HwgenError

from . import steps
from .manifest import TOP, is_build, write_manifest
from .options import BuildOptions
from .progress import Progress, note

__all__ = ["TOP", "boards", "build", "register"]


def boards() -> list[str]:
    """Board names ``--board`` accepts: ``none`` and the board modules of :mod:`hwgen.boards`."""
    from hwgen.boards import board_names

    return ["none", *board_names()]


def _check_out(out: Path) -> None:
    if not out.parent.is_dir():
        raise HwgenError(f"-o {out}: folder {out.parent} does not exist")
    if out.is_symlink():
        raise HwgenError(f"-o {out}: is a symbolic link; give the build folder itself")
    if out.exists():
        if not out.is_dir():
            raise HwgenError(f"-o {out}: exists and is not a folder")
        if any(out.iterdir()) and not is_build(out):
            raise HwgenError(f"-o {out}: exists, is not empty and is not a hwgen build; not replacing it")


#: Bounds of ``--clock-mhz`` and ``--target-fps`` (beyond them cycle counts overflow, long before any real
#: FPGA or frame rate).
MAX_CLOCK_MHZ = 1e5
MIN_TARGET_FPS = 1e-3


def _check_options(options: BuildOptions) -> None:
    if options.board not in boards():
        raise HwgenError(f"--board {options.board}: unknown board (boards: {', '.join(boards())})")
    if (options.input_dtype is None) != (options.input_scale is None):
        raise HwgenError("--input-dtype and --input-scale go together")
    if not (math.isfinite(options.clock_mhz) and 0 < options.clock_mhz <= MAX_CLOCK_MHZ):
        raise HwgenError(f"--clock-mhz must be a number in (0, {MAX_CLOCK_MHZ:g}], not {options.clock_mhz:g}")
    if options.pipeline not in ("auto", 0, 1, 2, 3):
        raise HwgenError(f"--pipeline must be auto, 0, 1, 2 or 3, not {options.pipeline}")
    if options.family not in (None, *FAMILIES):
        raise HwgenError(f"--family must be one of {', '.join(FAMILIES)}, not {options.family}")
    if options.topk is not None and options.topk < 1:
        raise HwgenError(f"--topk must be at least 1, not {options.topk}")
    if options.target_fps is not None and not MIN_TARGET_FPS <= options.target_fps <= options.clock_mhz * 1e6:
        raise HwgenError(
            f"--target-fps {options.target_fps:g}: must be positive (at least {MIN_TARGET_FPS:g}) and at "
            f"most one frame per clock cycle ({options.clock_mhz:g} MHz)"
        )


def build(options: BuildOptions, out_dir: Path) -> dict:
    """Run the steps of :mod:`hwgen.flow.steps` in order, writing the whole build into ``out_dir``.

    Returns the manifest.
    """
    note("reading the model")
    graph = steps.load(options.model)
    note("streamlining")
    hw = steps.streamline(graph, options)
    note("folding search")
    extra = None
    if options.board == "none":
        folding = steps.fold(hw, options)
    else:  # fit first (hwgen.flow.fit)
        from hwgen.boards import get_board

        from .fit import fold_for_board

        board = get_board(options.board)
        folding, fit = fold_for_board(hw, options, board)
        extra = {"board_info": board_record(board, options.clock_mhz), "fit": fit}
    note("generating the layers")
    acc = steps.generate(hw, folding)
    note("exporting Verilog (yosys)")
    v = steps.export_verilog(acc, out_dir)
    note("manifest and reports")
    manifest = write_manifest(out_dir, options, graph, folding, acc, v, extra=extra)
    steps.write_report(manifest, out_dir)
    return manifest


def board_record(board, clock_mhz: float) -> dict:
    """The manifest's ``board_info``: the board and the PLL settings that make the build clock."""
    pll = board.pll(clock_mhz)
    return {
        **board.describe(),
        "pll": {"primitive": pll.primitive, "achieved_mhz": pll.achieved_mhz, **pll.params},
    }


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
    options = BuildOptions.from_args(args)
    if options.board not in boards():
        raise HwgenError(f"--board {options.board}: unknown board (boards: {', '.join(boards())})")
    if args.clock_mhz is None:  # the board's clock, or 100 MHz for generic Verilog
        clock = 100.0 if options.board == "none" else _board_clock(options.board)
        options = dataclasses.replace(options, clock_mhz=clock)
    _check_options(options)
    out = Path(args.output)
    _check_out(out)
    if not Path(options.model).is_file():
        raise HwgenError(f"{options.model}: no such file")
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would be private, unlike an ordinary folder
        with Progress("hwgen build"):
            m = build(options, tmp)
        _check_out(out)  # nothing appeared at OUT meanwhile
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    res = m["resources"]
    if "fit" in m:
        f = m["fit"]
        note = "fits" if f["fits"] else "DOES NOT FIT"
        print(
            f"{options.board}: {f['how']}: ~{f['estimated_luts']} of {f['lut_limit']} LUTs and "
            f"{f['estimated_bram_bits']} of {f['bram_bits_limit']} BRAM bits with the shell "
            f"({f['lut_margin']:.0%}/{f['bram_margin']:.0%} of the board): {note}"
        )
    print(
        f"wrote {out}: {len(m['layers'])} layers, ii {m['ii_cycles']} cycles "
        f"({m['fps']:.0f} fps at {m['clock_mhz']:g} MHz), latency {m['latency_cycles']} cycles, "
        f"~{res.get('luts', 0)} LUTs, {res.get('bram_bits', 0)} BRAM bits"
    )
    return 0


def _board_clock(name: str) -> float:
    from hwgen.boards import get_board

    return get_board(name).clock_mhz


def _pipeline_arg(text: str):
    return text if text == "auto" else int(text) if text.lstrip("-").isdigit() else text


def register(sub) -> None:
    p = sub.add_parser("build", help="generate the accelerator's Verilog, manifest and report")
    p.add_argument("model", help="QONNX or FINN-ONNX model file")
    p.add_argument("-o", "--output", required=True, help="build folder (a previous build is replaced)")
    p.add_argument("--board", default="none", help="target board (default: none = generic Verilog)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--folding", default=None, help='JSON file {layer: {"pe": P, "simd": S}}')
    how.add_argument("--target-fps", type=float, default=None, help="fold for this many frames per second")
    p.add_argument(
        "--clock-mhz", type=float, default=None, help="clock frequency (default: the board's, else 100)"
    )
    p.add_argument("--topk", type=int, default=None, help="output the indices of the K largest outputs")
    p.add_argument(
        "--pipeline",
        type=_pipeline_arg,
        default="auto",
        help="extra register stages per matrix layer: 1 operands, 2 also the lane-sum trees cut in two, "
        "3 cut in three; auto (default): the fewest that meet --clock-mhz on the family",
    )
    p.add_argument("--family", default=None, help="timing family ice40|ecp5|xc7 (default: the board's)")
    p.add_argument("--input-dtype", default=None, help="raw integer input type on chip, e.g. uint8")
    p.add_argument(
        "--input-scale", type=float, default=None, help="float value of one input step, e.g. 1/255"
    )
    p.set_defaults(func=_cmd)
