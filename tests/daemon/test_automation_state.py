"""Automations across a restart of a real `orc up`: pauses and proactive deadlines are kept."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)


def automations(project: Project) -> dict[str, dict[str, Any]]:
    listed = project.orc("automations", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    return {a["name"]: a for a in json.loads(listed.stdout)}


def events(project: Project, name: str) -> list[Any]:
    with project.client() as client:
        return client.events(name=name, limit=500)


def emit(project: Project, name: str, resource: str) -> str:
    emitted = project.orc("emit", name, "--resource", resource)
    assert emitted.returncode == 0, emitted.stderr
    return emitted.stdout.strip()


def test_a_paused_automation_is_still_paused_after_a_restart(project: Project) -> None:
    project.write(
        "flows.toml",
        """
        [[automations]]
        name = "alarm"
        trigger = { event = "acme.file.arrived" }
        actions = [{ type = "emit-event", event = "acme.alarm", resource = { "orc.resource.id" = "acme.pager" } }]
    """,
    )
    project.up()
    paused = project.orc("automations", "pause", "alarm")
    assert paused.returncode == 0, paused.stderr
    assert project.stop() == 0
    project.up()
    assert automations(project)["alarm"]["enabled"] is False
    ignored = emit(project, "acme.file.arrived", "acme.bucket.raw")
    assert project.orc("automations", "resume", "alarm").returncode == 0
    heard = emit(project, "acme.file.arrived", "acme.bucket.raw")
    [triggered] = wait_for(lambda: events(project, "orc.automation.triggered"), 30, "the alarm")
    assert triggered.payload["triggering_events"] == [heard] != [ignored]


def test_a_proactive_window_opened_before_a_restart_fires_at_its_deadline(project: Project) -> None:
    project.write(
        "flows.toml",
        """
        [[automations]]
        name = "stuck-job"
        trigger = { posture = "proactive", after = "acme.job.started", event = "acme.job.finished", within = "6s", for_each = ["orc.resource.id"] }
        actions = [{ type = "emit-event", event = "acme.job.stuck", resource = { "orc.resource.id" = "{{ event.resource.id }}" } }]
    """,
    )
    project.up()
    emit(project, "acme.job.started", "acme.job.1")
    [started] = events(project, "acme.job.started")
    deadline = started.occurred + 6
    assert automations(project)["stuck-job"]["next_deadline"] == pytest.approx(deadline, abs=1e-3)
    assert project.stop() == 0
    # orc up stays down for half the window: a window opened afresh at the restart would
    # fire at least 3 s after the deadline, which leaves a loaded machine 3 s to be late in
    wait_for(lambda: time.time() >= started.occurred + 3, 10, "orc up down for 3 s")
    down_until = time.time()
    project.up()
    pending = automations(project)["stuck-job"]["next_deadline"]
    if time.time() < deadline:  # answered before the deadline: it must be pending still
        assert pending == pytest.approx(deadline, abs=1e-3)
    [stuck] = wait_for(lambda: events(project, "acme.job.stuck"), 30, "the stuck-job alarm")
    assert stuck.resource["orc.resource.id"] == "acme.job.1"
    [triggered] = events(project, "orc.automation.triggered")
    # at the deadline (or right after the start, had the restart outlasted the window), and
    # before a window opened afresh by the restart could have closed
    assert deadline <= triggered.occurred < down_until + 6


def test_a_corrupt_state_file_is_reported_and_the_daemon_starts(project: Project) -> None:
    project.write(
        "flows.toml",
        """
        [[automations]]
        name = "alarm"
        enabled = false
        trigger = { event = "acme.file.arrived" }
        actions = [{ type = "emit-event", event = "acme.alarm" }]
    """,
    )
    project.write(".orc/automations.json", "{ this is not json")
    project.up()
    assert automations(project)["alarm"]["enabled"] is False
    assert "automations.json is unreadable" in project.daemon_log()
    assert project.orc("automations", "resume", "alarm").returncode == 0
    assert project.stop() == 0
    saved = json.loads((project.root / ".orc" / "automations.json").read_text())
    assert saved["automations"]["alarm"]["active"] is True


def test_a_firing_is_saved_before_its_action_so_a_kill_does_not_fire_it_again(
    project: Project,
) -> None:
    """Two arrivals within a minute fire once. Killed right after the action, `orc up` must
    not come back remembering one arrival, which would fire again at the next."""
    project.write(
        "flows.toml",
        """
        [[automations]]
        name = "twice"
        trigger = { event = "acme.file.arrived", threshold = 2, within = "1m" }
        actions = [{ type = "emit-event", event = "acme.alarm" }]

        [[automations]]
        name = "marker"
        trigger = { event = "acme.marker" }
        actions = [{ type = "emit-event", event = "acme.marker.seen" }]
    """,
    )
    state_file = project.root / ".orc" / "automations.json"
    project.up()
    emit(project, "acme.file.arrived", "acme.bucket.raw")

    def saved_with_one_arrival() -> str | None:
        text = state_file.read_text() if state_file.exists() else ""
        return text if "acme.file.arrived" in text else None

    first_save = wait_for(saved_with_one_arrival, 30, "the first arrival saved")
    emit(project, "acme.file.arrived", "acme.bucket.raw")
    wait_for(lambda: events(project, "acme.alarm"), 30, "the alarm")
    assert project.stop(sig=signal.SIGKILL) == -signal.SIGKILL
    assert state_file.read_text() != first_save  # the firing reached the file before the alarm

    project.up()
    emit(project, "acme.file.arrived", "acme.bucket.raw")
    emit(project, "acme.marker", "acme.bucket.raw")  # heard after the third arrival
    wait_for(lambda: events(project, "acme.marker.seen"), 30, "the marker")
    assert len(events(project, "acme.alarm")) == 1
