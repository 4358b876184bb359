"""Run rewrites to a fixed point."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import HwgenError
from ..ir.graph import Graph

__all__ = ["Pass", "run_to_fixed_point"]

#: A pass rewrites a graph in place and says whether it changed anything.
Pass = Callable[[Graph], bool]


def run_to_fixed_point(graph: Graph, passes: Sequence[Pass], max_rounds: int = 200) -> Graph:
    """Apply ``passes`` in order, again and again, until a whole round changes nothing.

    Raises HwgenError naming the pass that still changed the graph after ``max_rounds`` rounds.
    """
    for _ in range(max_rounds):
        changed_by = [p.__name__ for p in passes if p(graph)]
        if not changed_by:
            return graph
    raise HwgenError(
        f"streamlining did not converge after {max_rounds} rounds; still changing: {', '.join(changed_by)}"
    )
