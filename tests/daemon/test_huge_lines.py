"""A run that logs or prints a huge line: the daemon stores its start with a marker, not all of it."""

from __future__ import annotations

import pytest

from orchestrate.daemon.recorder import MAX_LOG_MESSAGE
from orchestrate.daemon.worker_pipes import MAX_LOG_LINE, MAX_OUTPUT_LINE
from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

FLOWS = """
    import sys

    from orchestrate import flow, get_run_logger


    @flow
    def logs_huge(size: int) -> None:
        get_run_logger().info("y" * size)
        get_run_logger().info("after")


    @flow
    def prints_huge(size: int) -> None:
        sys.stdout.write("z" * size + "\\n")
        sys.stdout.flush()
        print("after", flush=True)
"""

TOML = """
    [[deployments]]
    name = "logs-huge"
    entrypoint = "flows.py:logs_huge"

    [[deployments]]
    name = "prints-huge"
    entrypoint = "flows.py:prints_huge"
"""


def _messages(project: Project, deployment: str, size: int) -> list[str]:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    with project.client() as client:
        run = client.create_run(deployment, {"size": size})
        wait_for(
            lambda: client.run(run.id).run.state.type == "COMPLETED", 60, "the run to complete"
        )
        return [line.message for line in client.logs(run.id)]


def test_a_logged_5_mb_line_is_stored_cut_with_a_marker_naming_its_size(project: Project) -> None:
    messages = _messages(project, "logs-huge", 5_000_000)
    huge = [m for m in messages if m.startswith("y")]
    assert len(huge) == 1
    assert huge[0].startswith("y" * MAX_LOG_MESSAGE + " … [line cut by orc: 5,000,000 characters")
    assert len(huge[0]) < MAX_LOG_MESSAGE + 100
    assert "after" in messages


def test_a_printed_3_mb_line_keeps_its_first_mb_and_a_line_naming_its_size(
    project: Project,
) -> None:
    messages = _messages(project, "prints-huge", 3_000_000)
    kept = [m for m in messages if m.startswith("z")]
    assert "".join(kept) == "z" * MAX_OUTPUT_LINE
    assert max(map(len, kept)) <= MAX_LOG_LINE
    last_kept = max(i for i, m in enumerate(messages) if m.startswith("z"))
    # stdout and the records channel are two pipes: lines of the other may come in between
    later = messages[last_kept + 1 :]
    assert f"[line cut by orc: 3,000,000 bytes, the first {MAX_OUTPUT_LINE:,} kept]" in later
    assert "after" in later
