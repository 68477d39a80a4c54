"""Every read command answers from the store file and flows.toml after `orc up` has stopped."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.daemon.conftest import FLOWS, Project

pytestmark = pytest.mark.timeout(120)

CONFIG = """
    [project]
    name = "offline"
    [[deployments]]
    name = "tiny"
    entrypoint = "flows.py:tiny"
    schedules = [{ cron = "0 3 * * *" }]
    [[automations]]
    name = "after-tiny"
    trigger = { event = "orc.flow-run.Completed", match = { deployment = "tiny" } }
    actions = [{ type = "pause-deployment", deployment = "tiny" }]
"""


@pytest.fixture
def stopped(project: Project) -> tuple[Project, str]:
    """A project whose daemon ran `tiny` once, then stopped."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.up()
    ran = project.orc("run", "tiny", "-p", "x=4", "--watch")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_id = project.runs(deployment="tiny", state="COMPLETED")[0].id
    assert project.stop() == 0
    return project, run_id


def _json(project: Project, *args: str) -> object:
    result = project.orc(*args, "--json")
    assert result.returncode == 0, f"orc {' '.join(args)}: {result.stderr}"
    return json.loads(result.stdout)


def test_deployments_read_from_flows_toml_and_the_store(stopped: tuple[Project, str]) -> None:
    project, run_id = stopped
    listed = _json(project, "deployments", "ls")
    assert isinstance(listed, list)
    assert [d["name"] for d in listed] == ["tiny"]
    assert listed[0]["recent"][0]["id"] == run_id
    assert listed[0]["schedules"][0]["text"]
    shown = _json(project, "deployments", "show", "tiny")
    assert isinstance(shown, dict)
    assert len(shown["next_times"]) == 5
    text = project.orc("deployments", "show", "tiny")
    assert text.returncode == 0, text.stderr
    assert "flows.py:tiny" in text.stdout
    unknown = project.orc("deployments", "show", "nope")
    assert unknown.returncode == 3, unknown.stderr
    assert "tiny" in unknown.stderr


def test_automations_read_from_flows_toml_and_their_saved_state(
    stopped: tuple[Project, str],
) -> None:
    project, _ = stopped
    listed = _json(project, "automations", "ls")
    assert isinstance(listed, list)
    assert [(a["name"], a["fired_count"]) for a in listed] == [("after-tiny", 1)]
    shown = project.orc("automations", "show", "after-tiny")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["fired_count"] == 1
    assert project.orc("automations", "show", "nope").returncode == 3


def test_runs_logs_and_events_read_from_the_store(stopped: tuple[Project, str]) -> None:
    project, run_id = stopped
    runs = _json(project, "runs", "ls")
    assert isinstance(runs, list)
    assert run_id in [r["id"] for r in runs]
    shown = project.orc("runs", "show", run_id[:8])
    assert shown.returncode == 0, shown.stderr
    logs = project.orc("logs", run_id[:8])
    assert logs.returncode == 0, logs.stderr
    assert "tiny got x=4" in logs.stdout
    events = _json(project, "events", "ls", "--name", "orc.flow-run.*")
    assert isinstance(events, list)
    assert any(e["event"] == "orc.flow-run.Completed" for e in events)


def test_status_says_not_running_and_when_it_was_last_seen(stopped: tuple[Project, str]) -> None:
    project, _ = stopped
    result = project.orc("status")
    assert result.returncode == 5
    assert "not running" in result.stdout
    assert "last seen" in result.stdout
    info = json.loads(project.orc("status", "--json").stdout)
    assert info["running"] is False
    assert datetime.fromisoformat(info["last_seen"]).tzinfo is not None
