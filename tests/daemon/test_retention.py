"""Event retention in a real `orc up`: old events leave the store on start and after an edit."""

from __future__ import annotations

import json
import time

import pytest

from orchestrate.core.project import store_path
from orchestrate.core.records import EventRecord
from orchestrate.store.writer import StoreWriter
from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

HOUR = 3600.0
DAY = 24 * HOUR


def store_events(project: Project, **ages: float) -> None:
    """Events named `acme.<key>` that occurred `age` seconds ago, stored before `orc up` starts."""
    writer = StoreWriter(store_path(project.root))
    now = time.time()
    for name, age in ages.items():
        resource = {"orc.resource.id": "acme.x"}
        writer.put(EventRecord(f"ev-{name}", now - age, f"acme.{name}", resource))
    assert writer.flush(30)
    writer.close()


def stored(project: Project) -> set[str]:
    with project.client() as client:
        return {e.event for e in client.events(name="acme.*", limit=100)}


def test_old_events_are_deleted_on_start_and_after_the_retention_is_shortened(
    project: Project,
) -> None:
    project.write("flows.toml", '[project]\nname = "kept"\n')
    store_events(project, ancient=40 * DAY, hours_old=2 * HOUR, recent=600)
    project.up()
    wait_for(lambda: stored(project) == {"acme.hours_old", "acme.recent"}, 30,
             "the 40-day-old event to leave the store (default retention 30d)")  # fmt: skip

    project.write("flows.toml", '[project]\nname = "kept"\nevent_retention = "1h"\n')
    wait_for(lambda: stored(project) == {"acme.recent"}, 30,
             "the 2-hour-old event to leave the store after the edit")  # fmt: skip
    listed = project.orc("events", "ls", "--name", "acme.*", "--json")
    assert [e["id"] for e in json.loads(listed.stdout)] == ["ev-recent"]
    assert "event retention is now 1h" in project.daemon_log()


def test_the_loop_prunes_hourly_or_24_times_per_window_when_that_is_shorter() -> None:
    from orchestrate.daemon.retention import prune_interval

    assert prune_interval(30 * DAY) == HOUR
    assert prune_interval(HOUR) == 150.0
