"""Board definitions, one module per board (installed as ``hwgen.boards``).

Each module exports one :class:`~hwgen.boards._board.Board` subclass; :func:`get_board` finds it by the
module's name (the ``--board`` name) and :func:`all_boards` lists them all.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["all_boards", "board_names", "get_board"]


def board_names() -> list[str]:
    """The board modules (names starting with ``_`` are helpers, not boards)."""
    return sorted(
        m.name for m in pkgutil.iter_modules(__path__) if not m.ispkg and not m.name.startswith("_")
    )


def get_board(name: str):
    """The Board class of board module ``name``; HwgenError (one line) for an unknown name."""
    from hwgen.errors import HwgenError

    from ._board import Board

    if name not in board_names():
        raise HwgenError(f"unknown board {name!r} (boards: {', '.join(board_names())})")
    mod = importlib.import_module(f"{__name__}.{name}")
    found = [getattr(mod, n) for n in mod.__all__ if isinstance(getattr(mod, n), type)]
    found = [c for c in found if issubclass(c, Board) and c is not Board]
    if len(found) != 1 or found[0].name != name:
        raise RuntimeError(f"board module {name} must export one Board subclass named {name!r}")
    return found[0]


def all_boards() -> list:
    return [get_board(n) for n in board_names()]
