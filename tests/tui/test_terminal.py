"""`orc tui` in a real terminal (a pty) that asks for no colour: `NO_COLOR`, or `TERM=dumb`.

Textual paints `NO_COLOR` in greys and a dumb terminal in 24-bit colour;
orc sends neither any colour code. The screen read here is the bytes the
real `orc tui` process writes (no daemon runs: its first screen says so).
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.tui.conftest import ROOT
from tui.terminal import wants_no_colour

SGR = re.compile(rb"\x1b\[([0-9;]*)m")  # select graphic rendition: the only codes that colour
COLOURS = {
    *range(30, 39),
    *range(40, 49),
    *range(90, 98),
    *range(100, 108),
}  # 38/48: 256 and 24-bit


def colour_codes(output: bytes) -> list[bytes]:
    """The SGR sequences in `output` that set a colour (the defaults, 39 and 49, set none)."""
    return [
        code
        for code in SGR.findall(output)
        if any(int(p) in COLOURS for p in code.split(b";") if p.isdigit())
    ]


SHOWN = b"daemon"  # the no-daemon screen has drawn


def tui_output(project: Path, **env: str) -> bytes:
    """What `orc tui` writes to a 100x30 pty until its first screen shows (then it is told to quit)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLORTERM", "TERM")}
    environ.update(PYTHONPATH=str(ROOT), ORC_HOME=str(project), LINES="30", COLUMNS="100", **env)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, in the project folder
        os.chdir(project)
        os.execve(sys.executable, [sys.executable, "-m", "orchestrate.cli", "tui"], environ)
    output, deadline = b"", time.monotonic() + 30
    try:
        while SHOWN not in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", output):
            assert time.monotonic() < deadline, f"orc tui drew nothing readable: {output[-500:]!r}"
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                output += os.read(fd, 65536)
        os.write(fd, b"q")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return output


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"TERM": "dumb", "COLORTERM": "truecolor"}, id="TERM=dumb"),
        pytest.param({"TERM": "xterm-256color", "NO_COLOR": "1"}, id="NO_COLOR"),
    ],
)
def test_a_terminal_that_wants_no_colour_gets_no_colour_codes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The no-daemon screen drawn (its text read), and not one colour code on the way."""
    output = tui_output(tmp_path, **env)
    assert not colour_codes(output), colour_codes(output)[:5]


def test_a_colour_terminal_still_gets_colour(tmp_path: Path) -> None:
    assert colour_codes(tui_output(tmp_path, TERM="xterm-256color", COLORTERM="truecolor"))


def test_which_environments_want_no_colour() -> None:
    assert wants_no_colour({"NO_COLOR": ""})  # set to anything, even empty (no-color.org)
    assert wants_no_colour({"TERM": "dumb"}) and wants_no_colour({"TERM": "unknown"})
    assert not wants_no_colour({"TERM": "xterm-256color"})
