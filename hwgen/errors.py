"""Exceptions that the command line turns into exit codes (DESIGN.md §5)."""

from __future__ import annotations


class HwgenError(Exception):
    """Bad input or arguments: the CLI prints ``hwgen: error: <message>`` on one line and exits 2.

    The message names the file, node or option and says why.
    """

    exit_code = 2


class VerificationMismatch(HwgenError):
    """Simulation disagreed with the golden model: exit 1."""

    exit_code = 1


class InternalError(Exception):
    """A bug in hwgen (an invariant broken), not in the user's input: the CLI prints ``hwgen: internal error:
    <message>`` on one line and exits 3 (the traceback with ``HWGEN_DEBUG=1``). Any other unexpected exception
    is reported the same way."""

    exit_code = 3
