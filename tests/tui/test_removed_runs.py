"""`flow_runs_removed` in the dashboard: asked for only where announced, applied to every list.

A daemon refuses a whole subscription that names a topic it does not know, so
the dashboard follows removals only on a daemon whose `hello` lists the topic;
one older than that list keeps working as before.
"""

from __future__ import annotations

from orchestrate.client.protocol import (
    BASE_TOPICS,
    TOPICS,
    DeploymentInfo,
    Hello,
    Notification,
    RunBrief,
)
from tests.tui.fake_daemon import NOW, flow_run
from tui.feed import DASHBOARD_TOPICS, REMOVALS, batch_messages, dashboard_topics
from tui.messages import RunsChanged, RunsRemoved
from tui.state import Dashboard


def hello(topics: list[str] | None = None) -> Hello:
    fields = {"topics": topics} if topics is not None else {}
    return Hello(
        protocol=1, version="0", pid=1, project="p", project_root="/p", started_at=NOW, **fields
    )


def test_removals_are_followed_only_where_the_daemon_announces_them() -> None:
    assert dashboard_topics(hello()) == DASHBOARD_TOPICS  # an older daemon: no `topics`
    assert dashboard_topics(None) == DASHBOARD_TOPICS
    assert dashboard_topics(hello(list(BASE_TOPICS))) == DASHBOARD_TOPICS
    assert dashboard_topics(hello(list(TOPICS))) == [*DASHBOARD_TOPICS, REMOVALS]


def test_a_run_changed_then_removed_in_one_batch_ends_removed() -> None:
    run = flow_run("a1", "brave-owl", "Completed", "COMPLETED", NOW, 1.0)
    notes = [
        Notification(subscription=1, topic="flow_run", data=run.model_dump()),
        Notification(
            subscription=1, topic=REMOVALS, data={"ids": ["a1", "b2"], "reason": "pruned"}
        ),
        Notification(subscription=1, topic=REMOVALS, data={"ids": ["c3"], "reason": "withdrawn"}),
    ]
    changed, removed = batch_messages(notes)
    assert isinstance(changed, RunsChanged) and isinstance(removed, RunsRemoved)
    assert removed.removed == {"a1": "pruned", "b2": "pruned", "c3": "withdrawn"}


def test_removed_runs_leave_the_runs_their_counts_and_the_deployments_latest() -> None:
    dashboard = Dashboard()
    kept = flow_run("k", "kept", "Completed", "COMPLETED", NOW - 60, 1.0)
    done = flow_run("d", "done", "Completed", "COMPLETED", NOW - 30, 1.0)
    planned = [
        flow_run(f"p{i}", f"plan{i}", "Scheduled", "SCHEDULED", NOW + i, None) for i in range(3)
    ]
    dashboard.runs.replace_all([kept, done, *planned])
    recent = [
        RunBrief(id=r.id, state_type="COMPLETED", state_name="Completed") for r in (done, kept)
    ]
    dashboard.set_deployments([DeploymentInfo(name="nightly-etl", entrypoint="e:f", recent=recent)])
    assert dashboard.runs.counts() == (0, 3)

    assert dashboard.remove_runs({"d", "p0", "p1", "p2", "elsewhere"})
    assert dashboard.runs.view() == ["k"]
    assert dashboard.runs.get("d") is None and dashboard.runs.counts() == (0, 0)
    assert [b.id for b in dashboard.deployments["nightly-etl"].recent] == ["k"]
    assert not dashboard.remove_runs({"d"})  # told twice: nothing left to drop
