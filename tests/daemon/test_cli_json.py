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


#: Keys that hold a moment in orc's JSON; user data (parameters, payloads) is not walked.
TIME_KEYS = {
    "created", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time",
    "timestamp", "ts", "occurred", "started_at", "next_run_time", "next_times", "next_due_time",
    "last_fired", "last_seen",
}  # fmt: skip


def _times(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every (key, value) in `value` under a time key, lists of times one by one."""
    if isinstance(value, dict):
        return [
            t
            for k, v in value.items()
            if k not in ("parameters", "payload", "data")
            for t in _times(v, k)
        ]
    if isinstance(value, list):
        return [t for v in value for t in _times(v, key)]
    return [(key, value)] if key in TIME_KEYS and value is not None else []


def test_every_time_in_json_is_iso_8601_with_an_offset(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
        schedules = [{ cron = "0 2 * * *" }]
        [[automations]]
        name = "again"
        trigger = { event = "orc.flow-run.Completed", match = { deployment = "tiny" }, threshold = 1000, within = "1m" }
        actions = [{ type = "run-deployment", deployment = "tiny" }]
    """,
    )
    commands = [("deployments", "ls", "--json"), ("deployments", "show", "tiny", "--json"),
                ("events", "ls", "--json"), ("automations", "ls", "--json"),
                ("automations", "show", "again"), ("runs", "ls", "--json"), ("status", "--json")]  # fmt: skip
    project.up()
    assert _json(project, "run", "tiny", "--watch")["state_name"] == "Completed"
    seen: list[tuple[str, Any]] = []
    for args in [*commands, ("pause", "tiny", "--json"), ("resume", "tiny", "--json")]:
        seen += _times(json.loads(project.orc(*args).stdout))
    assert project.stop() == 0
    for args in commands:
        seen += _times(json.loads(project.orc(*args).stdout))
    keys = {k for k, _ in seen}
    assert {"next_run_time", "next_times", "occurred", "started_at", "created"} <= keys
    wrong = [(k, v) for k, v in seen if not (isinstance(v, str) and ISO.match(v))]
    assert wrong == []
