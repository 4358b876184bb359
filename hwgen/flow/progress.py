"""Progress of long steps on the terminal (rich): a spinner with the current step, or a bar with a count.

Shown only when standard output is a terminal and the command was not given ``--quiet``
(:func:`configure`); otherwise every method is a no-op and rich is not even imported, so the output of a
command whose stdout is a pipe or a file is exactly what it would be without progress. The display is
transient: it is erased when the step ends, leaving the command's own lines.

::

    with Progress("hwgen build") as p:
        p.step("streamlining")
        ...
        p.step("harness", total=1000)
        p.advance(250)              # 250 of 1000 done
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "active", "configure", "note"]

_quiet = False
_open: list[Progress] = []  # displays entered and not yet left, innermost last


def note(text: str) -> None:
    """Name the step now running on the innermost open :class:`Progress` (nothing if there is none):
    library code marks its long steps without being handed a display."""
    if _open:
        _open[-1].step(text)


def configure(quiet: bool) -> None:
    """Set by the CLI from ``--quiet``: no progress display at all."""
    global _quiet
    _quiet = bool(quiet)


def active(stream=None) -> bool:
    """True if a progress display goes to ``stream`` (default: the current ``sys.stdout``)."""
    stream = sys.stdout if stream is None else stream
    if _quiet:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file
        return False


class Progress:
    """One live display for a job of several steps (see the module docstring); a context manager."""

    def __init__(self, label: str, stream=None):
        self._label = label
        self._stream = sys.stdout if stream is None else stream
        self._live = None
        self._task = None
        self._t0 = time.monotonic()

    @property
    def shown(self) -> bool:
        return self._live is not None

    def __enter__(self) -> Progress:
        _open.append(self)
        if not active(self._stream):
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as _Rich

        console = Console(file=self._stream, force_terminal=True)
        self._live = _Rich(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._live.start()
        self._task = self._live.add_task(self._label, total=None)
        return self

    def step(self, text: str, total: int | None = None) -> None:
        """Start step ``text`` (a spinner, or a bar of ``total`` units)."""
        if self._live is not None:
            self._live.update(self._task, description=f"{self._label}: {text}", total=total, completed=0)

    def advance(self, done: int, total: int | None = None) -> None:
        """``done`` units of the current step are finished (absolute, not an increment)."""
        if self._live is not None:
            kw = {} if total is None else {"total": total}
            self._live.update(self._task, completed=done, **kw)

    def __call__(self, done: int, total: int) -> None:
        """The ``progress(done, total)`` callback form (:func:`hwgen.flow.cmd_verify.verify`)."""
        self.advance(done, total)

    def __exit__(self, *exc) -> None:
        if self in _open:
            _open.remove(self)
        if self._live is not None:
            self._live.stop()
            self._live = None
