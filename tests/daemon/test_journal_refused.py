"""A run starts only once its attempt's journal is written: with the disk refusing it (full,
read-only), a run that started anyway could, after a kill of `orc up`, be run again or
recorded as never run. The run waits, the log says why, and it starts once the disk
takes the journal again."""

from __future__ import annotations

import shutil

import pytest

from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)


def test_a_run_waits_while_its_journal_cannot_be_written_then_starts(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
        """,
    )
    project.up()
    journals = project.root / ".orc" / "runs"
    shutil.rmtree(journals, ignore_errors=True)
    journals.write_text("not a folder: every journal of this project is refused")

    started = project.orc("run", "tiny")
    assert started.returncode == 0, started.stderr
    wait_for(lambda: "cannot write" in project.daemon_log(), 30, "the log to say why")
    [run] = project.runs(deployment="tiny")
    assert (run.state.name, run.run_count) == ("Scheduled", 0)  # waiting, no attempt spent
    assert "started" not in project.daemon_log().split("cannot write", 1)[1]
    status = project.orc("status")
    assert "RUNS HELD: cannot write run journals" in status.stdout, status.stdout

    journals.unlink()
    journals.mkdir()
    [done] = wait_for(lambda: project.completed("tiny"), 60, "the run, once journals are written")
    assert done.run_count == 1
    assert "RUNS HELD" not in project.orc("status").stdout
