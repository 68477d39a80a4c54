"""`--json` on run, cancel, retry, pause and resume prints what a script needs; `orc --version`."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.daemon.conftest import FLOWS, ORC, Project, wait_for

pytestmark = pytest.mark.timeout(120)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


def _json(project: Project, *args: str, code: int = 0) -> Any:
    result = project.orc(*args, "--json")
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_version_flag() -> None:
    result = subprocess.run([ORC, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert re.fullmatch(r"orc \S+\n", result.stdout)


def test_run_cancel_retry_pause_resume_print_json(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
        [[deployments]]
        name = "sleepy"
        entrypoint = "flows.py:sleepy"
    """,
    )
    project.up()
    started = _json(project, "run", "tiny")
    assert started["deployment"] == "tiny" and started["state_name"] == "Scheduled"
    assert ISO.match(started["created"])
    watched = _json(project, "run", "tiny", "--watch")
    assert watched["state_name"] == "Completed"
    assert ISO.match(watched["end_time"])
    refused = project.orc("retry", watched["id"])  # a refused request, not a run's outcome
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "completed" in refused.stderr

    sleeping = _json(project, "run", "sleepy", "-p", "seconds=600")
    wait_for(lambda: project.runs(state="RUNNING"), 30, "the sleepy run to start")
    cancelled = _json(project, "cancel", sleeping["id"], "--wait")
    assert (cancelled["id"], cancelled["state_name"]) == (sleeping["id"], "Cancelled")
    retried = _json(project, "retry", sleeping["id"])
    assert retried["id"] == sleeping["id"] and retried["state_type"] == "SCHEDULED"
    project.orc("cancel", sleeping["id"], "--wait")

    paused = _json(project, "pause", "tiny")
    assert (paused["name"], paused["paused"]) == ("tiny", True)
    assert _json(project, "resume", "tiny")["paused"] is False
