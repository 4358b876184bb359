"""The ``hwgen`` command.

Subcommands are registered by small functions below; each one imports its implementation lazily,
so ``hwgen --help`` stays fast and a missing optional tool only affects the command that needs it.
Every error a user can cause ends as one line on stderr and exit code 2 (DESIGN.md §5; an ``OSError``
on a file the user named counts as one); NumPy floating-point problems raise inside hwgen and warnings are
kept off the terminal (printed with ``HWGEN_DEBUG=1``); any other
exception is a bug in hwgen: one line ``hwgen: internal error: ...`` and exit code 3, with the traceback
when the environment sets ``HWGEN_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings

from . import __version__
from .errors import HwgenError, InternalError

#: Exit code of an internal error (a bug in hwgen, not in the user's input).
EXIT_INTERNAL = 3


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message):  # noqa: D102 - argparse hook
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_doctor(args) -> int:
    from .toolchain import ToolchainError, find_verilator, tool_versions

    print(f"hwgen {__version__} (python {sys.version.split()[0]}, {sys.executable})")
    for name, info in tool_versions().items():
        ver = info["version"] or "not installed"
        loc = f"  {info['location']}" if info["location"] else ""
        print(f"  {name:22s} {ver:24s}{loc}")
    try:
        v = find_verilator()
        print(f"verilator root: {v.root}")
    except ToolchainError as e:
        print(f"verilator: PROBLEM: {e}")
        return 1
    return 0


def _add_doctor(sub) -> None:
    p = sub.add_parser("doctor", help="print versions and locations of the tools hwgen uses")
    p.set_defaults(func=_cmd_doctor)


def _optional_registrations():
    """Subcommands implemented elsewhere in the package; each module exposes ``register(sub)``."""
    import importlib

    for module in (
        "hwgen.flow.cmd_run",
        "hwgen.flow.cmd_build",
        "hwgen.flow.cmd_verify",
        "hwgen.flow.cmd_boards",
        "hwgen.flow.cmd_synth",
        "hwgen.flow.sweep_cmd",
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                continue  # not implemented yet
            raise
        yield mod.register


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hwgen", description="FPGA dataflow accelerators for binarized and quantized networks"
    )
    parser.add_argument("--version", action="version", version=f"hwgen {__version__}")
    quiet = "no progress display (it is shown only when stdout is a terminal)"
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_doctor(sub)
    for register in _optional_registrations():
        register(sub)
    for p in sub.choices.values():  # also after the command: hwgen build ... --quiet
        p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=quiet)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .flow.progress import configure

    configure(getattr(args, "quiet", False))
    try:
        with _quiet_numerics() as caught:
            rc = int(args.func(args) or 0)
        _debug_warnings(caught)
        return rc
    except HwgenError as e:
        print(f"hwgen: error: {_one_line(e)}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # a file hwgen was asked to read or write (permissions, name too long, disk full)
        where = f"{e.filename}: " if e.filename else ""
        print(f"hwgen: error: {_one_line(where + (e.strerror or str(e)))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - anything else is a bug in hwgen: exit 3 (DESIGN §5)
        return _internal_error(e)


@contextlib.contextmanager
def _quiet_numerics():
    """NumPy floating-point problems are errors inside hwgen (``np.errstate``: division by zero, overflow,
    invalid operations; underflow to subnormals is ordinary float32 arithmetic and stays silent), and Python
    warnings never reach the terminal: stderr carries exactly one line when a command fails. The warnings
    are collected and printed with ``HWGEN_DEBUG=1``."""
    import numpy as np

    with (
        warnings.catch_warnings(record=True) as caught,
        np.errstate(divide="raise", over="raise", invalid="raise"),
    ):
        warnings.simplefilter("always")
        yield caught


def _debug_warnings(caught) -> None:
    if _debug():
        for w in caught:
            print(f"hwgen: debug: {w.category.__name__}: {_one_line(w.message)}", file=sys.stderr)


def _one_line(msg) -> str:
    """``msg`` as one terminal line: line breaks and other control characters (a file name may hold them)
    are escaped."""
    text = str(msg)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _debug() -> bool:
    return os.environ.get("HWGEN_DEBUG", "").strip() not in ("", "0")


def _internal_error(e: Exception) -> int:
    """Report a bug: one line on stderr (after the traceback with ``HWGEN_DEBUG=1``); exit code 3."""
    first = _one_line((str(e).strip().splitlines() or [""])[0])
    what = first if isinstance(e, InternalError) else f"{type(e).__name__}" + (f": {first}" if first else "")
    if _debug():
        traceback.print_exception(e, file=sys.stderr)
        print(f"hwgen: internal error: {what}", file=sys.stderr)
    else:
        print(f"hwgen: internal error: {what} (set HWGEN_DEBUG=1 for the traceback)", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
