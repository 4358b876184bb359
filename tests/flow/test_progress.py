"""Progress display (:mod:`hwgen.flow.progress`): drawn on a terminal, absent under ``--quiet`` and when
stdout is not a terminal (the command's output then is exactly its own lines)."""

from __future__ import annotations

import io

import pytest
from helpers.cli import hwgen
from helpers.onnx_models import binary_mlp

from hwgen.flow import progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _not_quiet():
    progress.configure(False)
    yield
    progress.configure(False)


def test_a_terminal_gets_a_display_and_quiet_or_a_pipe_gets_nothing():
    tty = FakeTTY()
    with progress.Progress("job", stream=tty) as p:
        assert p.shown
        p.step("long step", total=10)
        p.advance(5)
        progress.note("next step")  # library code names the step of the innermost display
    assert "\x1b[" in tty.getvalue()  # rich drew (and erased) something
    progress.configure(True)
    quiet = FakeTTY()
    with progress.Progress("job", stream=quiet) as p:
        p.step("x", total=2)
        p(1, 2)
        assert not p.shown
    assert quiet.getvalue() == ""
    progress.configure(False)
    pipe = io.StringIO()
    with progress.Progress("job", stream=pipe) as p:
        p.step("x")
        assert not p.shown
    assert pipe.getvalue() == "" and not progress.active(pipe)
    progress.note("no display open: nothing happens")


def test_build_output_is_unchanged_when_stdout_is_not_a_terminal(tmp_path, capsys):
    model = binary_mlp(tmp_path / "m.onnx")
    outs = []
    for k, extra in enumerate(([], ["--quiet"], ["-q"])):
        argv = ["build", model, "-o", tmp_path / f"o{k}", "--clock-mhz", "50", *extra]
        if extra == ["-q"]:
            argv = ["-q", *argv]  # before the command as well
        rc, so, se = hwgen(capsys, *argv)
        assert rc == 0, se
        outs.append((so, se))
    so, se = outs[0]
    assert so.count("\n") == 1 and so.startswith(f"wrote {tmp_path / 'o0'}: 2 layers") and se == ""
    assert all(c.isprintable() for c in so.strip())  # no escape sequences, no carriage returns
    assert [o[0].replace("o1", "o0").replace("o2", "o0") for o in outs] == [so] * 3
