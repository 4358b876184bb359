"""What ``hwgen build`` is asked for, as one value the build steps and the manifest share."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildOptions"]


@dataclass(frozen=True)
class BuildOptions:
    """What ``hwgen build`` is asked for (its command-line options; defaults as the CLI's)."""

    model: str | Path
    board: str = "none"
    clock_mhz: float = 100.0
    folding_file: str | Path | None = None
    target_fps: float | None = None
    topk: int | None = None
    input_dtype: str | None = None
    input_scale: float | None = None
    pipeline: int = 0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BuildOptions:
        """The options of a parsed ``hwgen build`` command line."""
        return cls(
            model=args.model,
            board=args.board,
            clock_mhz=args.clock_mhz,
            folding_file=args.folding,
            target_fps=args.target_fps,
            topk=args.topk,
            input_dtype=args.input_dtype,
            input_scale=args.input_scale,
            pipeline=getattr(args, "pipeline", 0),
        )
