"""`orc … | head -1`: a reader that leaves after the first line ends orc quietly, with exit 1,
on both paths a command can take (the quick one, and the full one through click:
`ORC_LEAN_CLI=0`).

When `head` leaves depends on the scheduler, so a real pipe fails orc's second write only
sometimes (`orc status | head -1` with `orc up` running did 5 times in 5 on a loaded
machine, with a traceback). Here stdout is a stand-in that fails every write after its
first line, in a real `orc` process asking a real `orc up`.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.daemon.conftest import FLOWS, Project

READER_LEAVES = """
import errno, io, sys

class HeadOne(io.TextIOBase):
    def __init__(self):
        self.lines = 0
    def writable(self):
        return True
    def write(self, text):
        if self.lines:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        self.lines += text.count("\\n")
        return len(text)
    def fileno(self):
        return sys.__stdout__.fileno()

sys.stdout = HeadOne()
sys.argv = ["orc", *sys.argv[1:]]
from orchestrate.cli import main
main()
"""


@pytest.mark.parametrize("lean", ["1", "0"], ids=["quick path", "full path"])
def test_orc_status_whose_reader_leaves_after_one_line_ends_with_no_traceback(
    project: Project, lean: str
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", '[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n')
    project.up()
    done = subprocess.run(
        [sys.executable, "-c", READER_LEAVES, "status", "--project", str(project.root)],
        env={**os.environ, "ORC_LEAN_CLI": lean}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
