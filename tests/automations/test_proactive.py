"""Proactive triggers: firing on the absence of an event, and the deadline the daemon sleeps until."""

from __future__ import annotations

from tests.automations.helpers import Clock, engine_from_toml, plain_event, run_event

NIGHTLY_MUST_COMPLETE = """
[[automations]]
name = "etl-silent"
trigger = { posture = "proactive", event = "orc.flow-run.Completed", match = { deployment = "nightly-etl" }, within = "26h" }
actions = [{ type = "run-deployment", deployment = "nightly-etl" }]
"""
HOUR = 3600


def test_fires_when_the_expected_event_does_not_arrive_in_the_window(clock: Clock) -> None:
    started = clock()
    engine = engine_from_toml(NIGHTLY_MUST_COMPLETE, clock)
    assert engine.next_deadline() == started + 26 * HOUR
    assert engine.due(clock.advance(26 * HOUR - 1)) == []
    [firing] = engine.due(clock.advance(1))
    assert (firing.automation, firing.events, firing.fired_at) == (
        "etl-silent",
        (),
        started + 26 * HOUR,
    )
    # It keeps reminding, one window after the other, while the silence lasts.
    assert engine.next_deadline() == started + 52 * HOUR
    assert engine.describe("etl-silent").next_deadline == started + 52 * HOUR


def test_does_not_fire_when_the_expected_event_arrives_and_the_deadline_moves(clock: Clock) -> None:
    engine = engine_from_toml(NIGHTLY_MUST_COMPLETE, clock)
    clock.advance(20 * HOUR)
    completed_at = clock()
    assert engine.on_event(run_event(clock, "Completed")) == []
    assert engine.next_deadline() == completed_at + 26 * HOUR
    assert engine.due(clock.advance(10 * HOUR)) == []


def test_events_outside_the_filter_do_not_count(clock: Clock) -> None:
    start = clock()
    engine = engine_from_toml(NIGHTLY_MUST_COMPLETE, clock)
    clock.advance(HOUR)
    engine.on_event(run_event(clock, "Completed", deployment="report"))
    engine.on_event(run_event(clock, "Failed", deployment="nightly-etl"))
    assert engine.next_deadline() == start + 26 * HOUR
    assert [f.automation for f in engine.due(clock.advance(25 * HOUR))] == ["etl-silent"]


def test_after_opens_a_window_per_group_that_the_expected_event_closes(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "stuck-run"
        trigger = { posture = "proactive", after = "orc.flow-run.Running", event = ["orc.flow-run.Completed", "orc.flow-run.Failed"], within = "1h", for_each = ["orc.resource.id"] }
        actions = [{ type = "cancel-flow-run" }]
        """,
        clock,
    )
    assert engine.next_deadline() is None  # nothing is watched until a run starts
    started_a = run_event(clock, "Running", run_id="a")
    engine.on_event(started_a)
    clock.advance(60)
    engine.on_event(run_event(clock, "Running", run_id="b"))
    clock.advance(60)
    engine.on_event(run_event(clock, "Completed", run_id="b"))
    assert engine.next_deadline() == started_a.occurred + HOUR
    [firing] = engine.due(clock.advance(HOUR))
    assert firing.group == ("orc.flow-run.a",)
    assert firing.event is started_a
    assert engine.next_deadline() is None


def test_for_each_watches_each_group_from_its_first_event(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "each-deployment-completes"
        trigger = { posture = "proactive", event = "orc.flow-run.Completed", within = "2h", for_each = ["deployment"] }
        actions = [{ type = "run-deployment" }]
        """,
        clock,
    )
    assert engine.next_deadline() is None
    engine.on_event(run_event(clock, "Completed", deployment="nightly-etl"))
    clock.advance(HOUR)
    engine.on_event(run_event(clock, "Completed", deployment="report"))
    assert [f.group for f in engine.due(clock.advance(HOUR))] == [("nightly-etl",)]
    assert [f.group for f in engine.due(clock.advance(HOUR))] == [("report",)]


def test_a_threshold_needs_that_many_events_in_the_window(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "too-few-orders"
        trigger = { posture = "proactive", event = "shop.order.paid", threshold = 3, within = "10m" }
        actions = [{ type = "emit-event", event = "shop.alert" }]
        """,
        clock,
    )
    engine.on_event(plain_event(clock, "shop.order.paid"))
    engine.on_event(plain_event(clock, "shop.order.paid"))
    assert [f.automation for f in engine.due(clock.advance(600))] == ["too-few-orders"]
    for _ in range(3):
        engine.on_event(plain_event(clock, "shop.order.paid"))
    assert engine.due(clock.advance(599)) == []


def test_a_daemon_that_wakes_late_fires_once_not_once_per_missed_window(clock: Clock) -> None:
    engine = engine_from_toml(NIGHTLY_MUST_COMPLETE, clock)
    now = clock.advance(100 * HOUR)
    assert len(engine.due()) == 1
    assert engine.next_deadline() == now + 26 * HOUR
