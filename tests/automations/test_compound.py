"""Compound (all / any / N of) and sequence triggers."""

from __future__ import annotations

from tests.automations.helpers import Clock, engine_from_toml, fired, plain_event, run_event


def test_all_fires_once_every_inner_trigger_has_fired_within_the_window(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "order-ready"
        trigger = { all = [{ event = "shop.order.paid" }, { event = "shop.order.packed" }], within = "1h" }
        actions = [{ type = "emit-event", event = "shop.order.ready" }]
        """,
        clock,
    )
    paid, packed = plain_event(clock, "shop.order.paid"), None
    assert fired(engine, paid) == []
    clock.advance(1800)
    packed = plain_event(clock, "shop.order.packed")
    [firing] = engine.on_event(packed)
    assert firing.events == (paid, packed)
    assert fired(engine, plain_event(clock, "shop.order.packed")) == []  # it starts afresh


def test_all_does_not_fire_when_the_parts_are_too_far_apart(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "order-ready"
        trigger = { all = [{ event = "shop.order.paid" }, { event = "shop.order.packed" }], within = "1h" }
        actions = [{ type = "emit-event", event = "shop.order.ready" }]
        """,
        clock,
    )
    assert fired(engine, plain_event(clock, "shop.order.paid")) == []
    clock.advance(3601)
    assert fired(engine, plain_event(clock, "shop.order.packed")) == []
    clock.advance(60)
    assert fired(engine, plain_event(clock, "shop.order.paid")) == ["order-ready"]


def test_any_and_require_n(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "any-trouble"
        trigger = { any = [{ event = "orc.flow-run.Crashed" }, { event = "orc.worker.exited" }] }
        actions = [{ type = "emit-event", event = "ops.alert" }]

        [[automations]]
        name = "two-of-three"
        trigger = { require = 2, triggers = [{ event = "a.done" }, { event = "b.done" }, { event = "c.done" }], within = "30m" }
        actions = [{ type = "emit-event", event = "ops.note" }]
        """,
        clock,
    )
    assert fired(engine, run_event(clock, "Crashed")) == ["any-trouble"]
    assert fired(engine, plain_event(clock, "orc.worker.exited")) == ["any-trouble"]
    assert fired(engine, plain_event(clock, "c.done"), plain_event(clock, "c.done")) == []
    assert fired(engine, plain_event(clock, "a.done")) == ["two-of-three"]


def test_a_compound_can_hold_a_proactive_trigger(clock: Clock) -> None:
    engine = engine_from_toml(
        """
        [[automations]]
        name = "failed-and-silent"
        trigger = { all = [
          { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" } },
          { posture = "proactive", event = "orc.flow-run.Completed", match = { deployment = "nightly-etl" }, within = "2h" },
        ], within = "3h" }
        actions = [{ type = "emit-event", event = "ops.page" }]
        """,
        clock,
    )
    assert fired(engine, run_event(clock, "Failed")) == []
    assert engine.next_deadline() == clock() + 7200
    assert [f.automation for f in engine.due(clock.advance(7200))] == ["failed-and-silent"]


SEQUENCE = """
[[automations]]
name = "paused-then-failed"
trigger = { sequence = [{ event = "orc.deployment.paused" }, { event = "orc.flow-run.Failed" }], within = "10m" }
actions = [{ type = "emit-event", event = "ops.odd" }]
"""


def test_sequence_fires_when_the_steps_come_in_order(clock: Clock) -> None:
    engine = engine_from_toml(SEQUENCE, clock)
    assert fired(engine, plain_event(clock, "orc.deployment.paused", "orc.deployment.report")) == []
    clock.advance(60)
    assert fired(engine, run_event(clock, "Failed")) == ["paused-then-failed"]


def test_sequence_does_not_fire_out_of_order_or_too_slowly(clock: Clock) -> None:
    engine = engine_from_toml(SEQUENCE, clock)
    assert fired(engine, run_event(clock, "Failed")) == []
    clock.advance(1)
    assert fired(engine, plain_event(clock, "orc.deployment.paused", "orc.deployment.report")) == []
    clock.advance(601)
    assert fired(engine, run_event(clock, "Failed")) == []
