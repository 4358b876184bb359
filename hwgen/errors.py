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
