"""Reactive triggers: which events match, thresholds in a window, for_each groups, cooldown, loops."""

from __future__ import annotations

from orchestrate.core.records import EventRecord
from tests.automations.helpers import Clock, engine_from_toml, fired, plain_event, run_event

ON_FAILURE = """
[[automations]]
name = "by-deployment"
trigger = { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" } }
actions = [{ type = "run-deployment", deployment = "cleanup" }]

[[automations]]
name = "by-flow"
trigger = { event = "orc.flow-run.Failed", match = { flow = "etl" } }
actions = [{ type = "run-deployment", deployment = "cleanup" }]

[[automations]]
name = "by-tag"
trigger = { event = "orc.flow-run.Failed", match = { tags = ["prod", "critical"] } }
actions = [{ type = "run-deployment", deployment = "cleanup" }]

[[automations]]
name = "by-label-glob"
trigger = { event = "orc.*-run.*", match = { "orc.state-type" = ["FAILED", "CRASHED"] } }
actions = [{ type = "run-deployment", deployment = "cleanup" }]
"""


def test_a_failure_fires_the_automations_whose_filters_it_meets(clock: Clock) -> None:
    engine = engine_from_toml(ON_FAILURE, clock)
    failed = run_event(clock, "Failed", deployment="nightly-etl", flow="etl", tags=["prod"])
    assert fired(engine, failed) == ["by-deployment", "by-flow", "by-tag", "by-label-glob"]


def test_events_outside_the_filters_fire_nothing_or_only_what_matches(clock: Clock) -> None:
    engine = engine_from_toml(ON_FAILURE, clock)
    assert fired(engine, run_event(clock, "Completed")) == []
    other = run_event(clock, "Failed", deployment="report", flow="reporting", tags=["dev"])
    assert fired(engine, other) == ["by-label-glob"]
    crashed_task = run_event(clock, "Crashed", kind="task-run", deployment=None, flow="reporting")
    assert fired(engine, crashed_task) == ["by-label-glob"]


def test_a_deployment_filter_also_matches_the_deployments_own_events(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "paused"
        trigger = { event = "orc.deployment.paused", match = { deployment = "nightly-*" } }
        actions = [{ type = "resume-deployment" }]
        """,
        clock,
    )
    paused = EventRecord(
        "e1", clock(), "orc.deployment.paused", {"orc.resource.id": "orc.deployment.nightly-etl"}
    )
    other = EventRecord(
        "e2", clock(), "orc.deployment.paused", {"orc.resource.id": "orc.deployment.report"}
    )
    assert fired(engine, paused, other) == ["paused"]


def test_negated_values_and_match_related(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "not-dev"
        trigger = { event = "orc.flow-run.Failed", match = { tags = "!dev" } }
        actions = [{ type = "run-deployment", deployment = "cleanup" }]

        [[automations]]
        name = "related"
        trigger = { event = "orc.flow-run.Failed", match_related = { "orc.resource.role" = "deployment", "orc.resource.name" = "hourly-*" } }
        actions = [{ type = "run-deployment", deployment = "cleanup" }]
        """,
        clock,
    )
    assert fired(engine, run_event(clock, tags=["dev"])) == []
    assert fired(engine, run_event(clock, tags=["prod"])) == ["not-dev"]
    assert fired(engine, run_event(clock, deployment="hourly-sync")) == ["not-dev", "related"]


THREE_IN_A_MINUTE = """
[[automations]]
name = "three-failures"
trigger = { event = "orc.flow-run.Failed", threshold = 3, within = "1m" }
actions = [{ type = "pause-deployment" }]
"""


def test_threshold_fires_once_on_the_third_event_in_the_window(clock: Clock) -> None:
    engine = engine_from_toml(THREE_IN_A_MINUTE, clock)
    outcomes = []
    for _ in range(5):
        outcomes.append(fired(engine, run_event(clock)))
        clock.advance(10)
    assert outcomes == [[], [], ["three-failures"], [], []]
    firing_events = engine.describe("three-failures")
    assert firing_events.fired_count == 1


def test_the_threshold_firing_carries_all_counted_events(clock: Clock) -> None:
    engine = engine_from_toml(THREE_IN_A_MINUTE, clock)
    events = [run_event(clock) for _ in range(3)]
    [firing] = [f for e in events for f in engine.on_event(e)]
    assert firing.events == tuple(events)
    assert firing.event is events[-1]


def test_events_older_than_the_window_do_not_count(clock: Clock) -> None:
    engine = engine_from_toml(THREE_IN_A_MINUTE, clock)
    assert fired(engine, run_event(clock), run_event(clock)) == []
    clock.advance(61)
    assert fired(engine, run_event(clock)) == []  # the first two fell out of the window
    clock.advance(30)
    assert fired(engine, run_event(clock)) == []
    clock.advance(29)
    assert fired(engine, run_event(clock)) == ["three-failures"]


def test_for_each_keeps_separate_counts_per_deployment(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "per-deployment"
        trigger = { event = "orc.flow-run.Failed", threshold = 2, within = "1m", for_each = ["deployment"] }
        actions = [{ type = "pause-deployment" }]
        """,
        clock,
    )
    a, b = "nightly-etl", "report"
    assert [f.group for f in engine.on_event(run_event(clock, deployment=a))] == []
    assert [f.group for f in engine.on_event(run_event(clock, deployment=b))] == []
    assert [f.group for f in engine.on_event(run_event(clock, deployment=a))] == [(a,)]
    assert [f.group for f in engine.on_event(run_event(clock, deployment=b))] == [(b,)]


def test_cooldown_drops_firings_until_it_has_passed(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "page-once"
        trigger = { event = "orc.flow-run.Failed" }
        actions = [{ type = "pause-deployment" }]
        cooldown = "10m"
        """,
        clock,
    )
    assert fired(engine, run_event(clock)) == ["page-once"]
    clock.advance(300)
    assert fired(engine, run_event(clock)) == []
    clock.advance(301)
    assert fired(engine, run_event(clock)) == ["page-once"]


def test_after_opens_counting_for_its_group(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "fail-after-pause"
        trigger = { event = "orc.flow-run.Failed", after = "orc.deployment.paused", within = "5m", for_each = ["deployment"] }
        actions = [{ type = "resume-deployment" }]
        """,
        clock,
    )
    assert fired(engine, run_event(clock)) == []
    paused = EventRecord(
        "p1", clock(), "orc.deployment.paused", {"orc.resource.id": "orc.deployment.nightly-etl"}
    )
    assert fired(engine, paused) == []
    assert fired(engine, run_event(clock, deployment="report")) == []
    assert fired(engine, run_event(clock)) == ["fail-after-pause"]
    assert fired(engine, run_event(clock)) == []  # the window closed when it fired


def test_an_automation_never_reacts_to_its_own_outcome_events(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "echo"
        trigger = { event = "orc.automation.*" }
        actions = [{ type = "emit-event", event = "echo.said" }]

        [[automations]]
        name = "watcher"
        trigger = { event = "orc.automation.*" }
        actions = [{ type = "emit-event", event = "watch.saw" }]
        """,
        clock,
    )
    own = EventRecord(
        "o1", clock(), "orc.automation.action.executed", {"orc.resource.id": "orc.automation.echo"}
    )
    assert fired(engine, own) == ["watcher"]
    emitted = EventRecord(
        "o2", clock(), "orc.automation.note", {"orc.resource.id": "x.y"},
        related=[{"orc.resource.id": "orc.automation.watcher", "orc.resource.role": "automation"}],
    )  # fmt: skip
    assert fired(engine, emitted) == ["echo"]


def test_event_name_lists_and_a_missing_event_key_match_any_listed_or_any_event(
    clock: Clock,
) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "listed"
        trigger = { event = ["shop.order.paid", "shop.order.refunded"] }
        actions = [{ type = "emit-event", event = "x" }]

        [[automations]]
        name = "everything-for-order-7"
        trigger = { match = { "orc.resource.id" = "shop.order.7" } }
        actions = [{ type = "emit-event", event = "x" }]
        """,
        clock,
    )
    assert fired(engine, plain_event(clock, "shop.order.refunded")) == ["listed"]
    assert fired(engine, plain_event(clock, "shop.order.shipped", "shop.order.7")) == [
        "everything-for-order-7"
    ]
    assert fired(engine, plain_event(clock, "shop.order.paidx")) == []


def test_a_trigger_grouped_without_a_window_keeps_a_bounded_number_of_groups(
    clock: Clock,
) -> None:
    """Two failures of the same resource, with no `within`: every resource that failed once
    (a flow run, say) used to keep its group for good, and in the state file: one per run
    the daemon ever saw. Past `MAX_GROUPS`, the group heard from longest ago goes."""
    from orchestrate.automations import triggers

    engine = engine_from_toml(
        """
        [[automations]]
        name = "twice"
        trigger = { event = "shop.failed", threshold = 2, for_each = ["orc.resource.id"] }
        actions = [{ type = "run-deployment", deployment = "cleanup" }]
        """,
        clock,
    )
    evaluator = engine._automations["twice"].evaluator
    groups = triggers.MAX_GROUPS + 500
    for n in range(groups):
        assert fired(engine, plain_event(clock, "shop.failed", f"shop.order.{n}")) == []
    assert len(evaluator.windows) == triggers.MAX_GROUPS  # type: ignore[attr-defined]
    last, first = f"shop.order.{groups - 1}", "shop.order.0"
    assert fired(engine, plain_event(clock, "shop.failed", last)) == ["twice"]  # counted on
    assert fired(engine, plain_event(clock, "shop.failed", first)) == []  # let go: counts afresh
