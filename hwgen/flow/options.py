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
    pipeline: int | str = 0  # extra register stages per layer, or "auto": chosen for the clock and family
    family: str | None = None  # timing family (hwgen.dataflow.stages.FAMILIES); None: the board's, if any

    def timing_family(self) -> str | None:
        """The family whose timing the build targets: ``family``, else the board's flow (None for none)."""
        if self.family is not None:
            return self.family
        if self.board in (None, "none"):
            return None
        from hwgen.boards import get_board

        flow = getattr(get_board(self.board), "flow", "")
        return {"vivado": "xc7"}.get(flow, flow) or None

    def pipeline_stages(self) -> int:
        """The pipeline setting: ``pipeline``, or for "auto" the fewest stages rated for the clock on the
        timing family (:func:`hwgen.dataflow.stages.choose_pipeline`)."""
        if self.pipeline != "auto":
            return int(self.pipeline)
        from hwgen.dataflow.stages import choose_pipeline

        return choose_pipeline(self.clock_mhz, self.timing_family())

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
            family=getattr(args, "family", None),
        )
