"""The daemon pushes `status` and `deployment` when they change, so no client has to poll them.

A real `orc up`; the changes are made the way a user makes them (`orc pause`,
editing flows.toml, `orc run`) and read from one subscription.
"""

from __future__ import annotations

import time
from typing import Any

from orchestrate.client import Subscription
from orchestrate.client.protocol import DeploymentInfo, Status
from tests.daemon.conftest import FLOWS, Project

WAIT = 20.0  # the watcher's debounce, a busy machine

TOML = """
[[deployments]]
name = "one"
entrypoint = "flows.py:tiny"

[[deployments]]
name = "nap"
entrypoint = "flows.py:sleepy"
parameters = { seconds = 30.0 }
"""


def next_matching(subscription: Subscription, topic: str, check: Any, what: str) -> Any:
    """The first push of `topic` whose data passes `check`, within `WAIT` seconds."""
    model = {"status": Status, "deployment": DeploymentInfo}[topic]
    deadline = time.monotonic() + WAIT
    while (left := deadline - time.monotonic()) > 0:
        note = subscription.get(timeout=left)
        if note.topic == topic and check(found := model.model_validate(note.data)):
            return found
    raise AssertionError(f"no {topic} push with {what} within {WAIT}s")


def test_pause_resume_and_flows_toml_edits_are_pushed(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    with project.client() as client, client.subscribe(["status", "deployment"]) as pushed:
        assert project.orc("pause", "one").returncode == 0
        next_matching(pushed, "deployment", lambda d: d.name == "one" and d.paused, "one paused")
        assert project.orc("resume", "one").returncode == 0
        next_matching(pushed, "deployment", lambda d: d.name == "one" and not d.paused, "resumed")

        project.write(
            "flows.toml", TOML + '\n[[deployments]]\nname = "added"\nentrypoint = "flows.py:tiny"\n'
        )
        next_matching(pushed, "deployment", lambda d: d.name == "added", "the added one")
        next_matching(pushed, "status", lambda s: s.deployments == 3, "3 deployments")

        project.write("flows.toml", TOML + "\n[[deployments]]\nname = 3\n")
        bad = next_matching(pushed, "status", lambda s: s.config_error, "the config error")
        assert "flows.toml" in bad.config_error

        project.write("flows.toml", TOML)  # "added" leaves, the error is gone
        gone = next_matching(pushed, "deployment", lambda d: d.name == "added", "added removed")
        assert gone.removed
        next_matching(pushed, "status", lambda s: s.config_error is None, "no config error")


def test_a_run_that_starts_and_ends_is_pushed_in_the_status(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    with project.client() as client, client.subscribe(["status"]) as pushed:
        run = client.create_run("nap")
        next_matching(pushed, "status", lambda s: [r.id for r in s.running] == [run.id], "running")
        client.cancel_run(run.id)
        next_matching(pushed, "status", lambda s: not s.running, "nothing running")


def test_runs_can_ask_for_the_upcoming_scheduled_runs(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        '[[deployments]]\nname = "later"\nentrypoint = "flows.py:tiny"\n'
        'schedules = [{ interval = "1h", anchor = "2020-01-01T00:30:00" }]\ncatchup = "none"\n',
    )
    project.up()
    with project.client() as client:
        assert client.runs() == []  # not due yet: left out by default
        upcoming = client.runs(upcoming=True)
    assert upcoming and {r.state.name for r in upcoming} == {"Scheduled"}


def test_a_finished_runs_pushes_count_its_task_runs(project: Project) -> None:
    """A script following `flow_run` pushes sees how the run's tasks ended, in its final
    snapshot and in the push that says the run has settled."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    with project.client() as client, client.subscribe(["flow_run"]) as pushed:
        run = client.create_run("one")
        final, settled = None, None
        deadline = time.monotonic() + WAIT
        while settled is None and (left := deadline - time.monotonic()) > 0:
            note = pushed.get(timeout=left)
            if note.data.get("id") != run.id:
                continue
            if note.data.get("settled"):
                settled = note.data
            elif note.data["state"]["type"] == "COMPLETED":
                final = note.data
    assert final is not None and settled is not None, "no final and settled pushes"
    assert final["task_counts"] == {"Completed": 1}
    assert settled["task_counts"] == {"Completed": 1}


def test_a_deployments_runs_starting_and_ending_push_it_a_burst_as_one(project: Project) -> None:
    """A dashboard's deployment row follows its runs (running count, last outcomes); twenty runs
    asked for at once are pushed as a few deployment pushes, not one per state change."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    with project.client() as client, client.subscribe(["deployment"]) as pushed:
        run = client.create_run("nap")
        next_matching(pushed, "deployment", lambda d: d.name == "nap" and d.running == 1, "nap ⟳")
        client.cancel_run(run.id)
        cancelled = next_matching(
            pushed,
            "deployment",
            lambda d: d.name == "nap" and not d.running and d.recent[0].state_type == "CANCELLED",
            "nap's cancelled run, newest first",
        )
        assert cancelled.recent[0].id == run.id

        runs = [client.create_run("one").id for _ in range(20)]  # 80 state changes
        pushes, deadline = [], time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                pushes.append(DeploymentInfo.model_validate(pushed.get(timeout=left).data))
            except TimeoutError:
                continue
            last = pushes[-1]
            newest = [r.id for r in last.recent] == runs[::-1][:10]
            done = all(r.state_type == "COMPLETED" for r in last.recent) and not last.running
            if last.name == "one" and newest and done:
                break
        else:
            seen = [(p.name, [(r.id, r.state_name) for r in p.recent], p.running) for p in pushes]
            raise AssertionError(f"no push of one's last ten runs Completed within {WAIT}s: {seen}")
    assert len(pushes) < 20, f"{len(pushes)} pushes for 20 runs: not coalesced"
