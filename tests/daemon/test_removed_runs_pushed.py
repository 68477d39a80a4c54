"""Runs the daemon deletes are pushed as `flow_runs_removed`, once the store no longer has them.

A dashboard lists runs from `runs.list` and then follows pushes; a run the
daemon deleted (a planned run withdrawn by a flows.toml edit, a finished run
`orc prune` or run retention removed) pushed nothing before, so it stayed
listed until the dashboard reconnected. A real `orc up`, changed the way a user
changes it, read from one subscription; the daemon announces the topic in its
`hello`, so a client subscribes to it only where it is known.
"""

from __future__ import annotations

import time

from orchestrate.client import Subscription
from orchestrate.client.protocol import FlowRunsRemoved
from tests.daemon.conftest import FLOWS, Project, wait_for

WAIT = 30.0  # the watcher's debounce, a worker's first start, a busy machine

KEPT = """
[[deployments]]
name = "one"
entrypoint = "flows.py:tiny"
"""

PLANNED = (
    KEPT
    + """
[[deployments]]
name = "often"
entrypoint = "flows.py:tiny"
schedules = [{ interval = "1h", anchor = "2020-01-01T00:30:00" }]
catchup = "none"
"""
)


def removed_ids(subscription: Subscription, reason: str, wanted: set[str]) -> set[str]:
    """The ids of `flow_runs_removed` pushes for `reason` until `wanted` are all among them."""
    seen: set[str] = set()
    pushes = 0
    deadline = time.monotonic() + WAIT
    while not wanted <= seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{sorted(wanted - seen)} not pushed as removed in {WAIT}s")
        note = subscription.get(timeout=left)
        assert note.topic == "flow_runs_removed"
        removed = FlowRunsRemoved.model_validate(note.data)
        assert removed.reason == reason
        seen |= set(removed.ids)
        pushes += 1
    assert pushes <= 2, f"{len(wanted)} removed runs took {pushes} pushes"
    return seen


def test_the_daemon_announces_the_topic_in_its_hello(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", KEPT)
    project.up()
    with project.client() as client:
        assert client.server is not None
        assert "flow_runs_removed" in client.server.topics
        assert "flow_run" in client.server.topics


def test_planned_runs_withdrawn_by_a_flows_toml_edit_are_pushed_once_gone(
    project: Project,
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", PLANNED)
    project.up()
    with project.client() as client:
        planned = wait_for(
            lambda: {r.id for r in client.runs(limit=500, scheduled=True)}, WAIT, "planned runs"
        )
        with client.subscribe(["flow_runs_removed"]) as pushed:
            project.write("flows.toml", KEPT)
            assert removed_ids(pushed, "withdrawn", planned) == planned
            # pushed once the store has them removed: a listing asked now has none of them
            assert not planned & {r.id for r in client.runs(limit=500, scheduled=True)}


def test_finished_runs_orc_prune_removes_are_pushed_once_gone(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", KEPT)
    project.up()
    with project.client() as client:
        made = {client.create_run("one").id for _ in range(3)}
        done = wait_for(lambda: len(project.completed("one")) == 3, WAIT, "3 runs completed")
        assert done
        ended = max(r.end_time for r in project.completed("one"))
        wait_for(lambda: time.time() > ended + 1.5, 5, "the runs to be over a second old")
        with client.subscribe(["flow_runs_removed"]) as pushed:
            answer = project.orc("prune", "--older-than", "1s")
            assert answer.returncode == 0, answer.stdout + answer.stderr
            assert removed_ids(pushed, "pruned", made) == made
            assert not made & {r.id for r in client.runs(limit=500)}
