"""Snapshot and restore: what each trigger kind remembers survives a restart of the daemon.

Each test feeds one engine, carries its snapshot through JSON text (as the
state file does), restores it into a second engine built from the same specs
(the restarted daemon), and checks that the second one fires exactly when the
first would have.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrate.automations import AutomationEngine
from tests.automations.helpers import (
    Clock,
    engine_from_toml,
    fired,
    plain_event,
    run_event,
    specs_from_toml,
)

HOUR = 3600.0


def restarted(engine: AutomationEngine, text: str, clock: Clock) -> AutomationEngine:
    """A new engine for the specs in `text`, given `engine`'s state as the state file holds it."""
    saved = json.loads(json.dumps(engine.snapshot()))
    again = engine_from_toml(text, clock)
    result = again.restore(saved)
    assert result.unreadable == ()
    return again


THREE_FAILURES = """
[[automations]]
name = "three-strikes"
trigger = { event = "orc.flow-run.Failed", threshold = 3, within = "1h", for_each = ["deployment"] }
actions = [{ type = "pause-deployment" }]
"""


def test_a_reactive_count_carries_on_after_a_restart(clock: Clock) -> None:
    engine = engine_from_toml(THREE_FAILURES, clock)
    first, second = run_event(clock, "Failed"), run_event(clock, "Failed")
    assert fired(engine, first, second, run_event(clock, "Failed", deployment="report")) == []
    clock.advance(60)
    again = restarted(engine, THREE_FAILURES, clock)
    third = run_event(clock, "Failed")
    [firing] = again.on_event(third)
    assert firing.events == (first, second, third)
    assert fired(again, run_event(clock, "Failed", deployment="report")) == []  # report has 2


def test_a_reactive_window_opened_by_after_stays_open(clock: Clock) -> None:
    text = """
    [[automations]]
    name = "failed-after-pause"
    trigger = { after = "orc.deployment.paused", event = "orc.flow-run.Failed", within = "1h" }
    actions = [{ type = "emit-event", event = "ops.odd" }]
    """
    engine = engine_from_toml(text, clock)
    engine.on_event(plain_event(clock, "orc.deployment.paused", "orc.deployment.nightly-etl"))
    clock.advance(600)
    assert fired(restarted(engine, text, clock), run_event(clock, "Failed")) == [
        "failed-after-pause"
    ]
    assert fired(engine_from_toml(text, clock), run_event(clock, "Failed")) == []  # a fresh one


SILENT_ETL = """
[[automations]]
name = "etl-silent"
trigger = { posture = "proactive", event = "orc.flow-run.Completed", match = { deployment = "nightly-etl" }, within = "26h" }
actions = [{ type = "run-deployment", deployment = "nightly-etl" }]
"""


def test_a_proactive_deadline_is_kept_across_a_restart(clock: Clock) -> None:
    engine = engine_from_toml(SILENT_ETL, clock)
    engine.on_event(run_event(clock, "Completed"))
    deadline = clock() + 26 * HOUR
    clock.advance(20 * HOUR)
    again = restarted(engine, SILENT_ETL, clock)
    assert again.next_deadline() == deadline  # a fresh start would say now + 26h
    assert again.due(deadline - 1) == []
    [firing] = again.due(clock.advance(6 * HOUR))
    assert firing.automation == "etl-silent"


def test_a_deadline_that_passed_while_the_daemon_was_down_fires_at_once(clock: Clock) -> None:
    engine = engine_from_toml(SILENT_ETL, clock)
    deadline = clock() + 26 * HOUR
    saved = json.loads(json.dumps(engine.snapshot()))
    clock.advance(30 * HOUR)  # the daemon was down over the deadline
    again = engine_from_toml(SILENT_ETL, clock)
    again.restore(saved)
    assert again.next_deadline() == deadline
    assert [f.automation for f in again.due()] == ["etl-silent"]
    assert again.next_deadline() == clock() + 26 * HOUR  # and it keeps watching from now


STUCK_RUN = """
[[automations]]
name = "stuck-run"
trigger = { posture = "proactive", after = "orc.flow-run.Running", event = ["orc.flow-run.Completed", "orc.flow-run.Failed"], within = "1h", for_each = ["orc.resource.id"] }
actions = [{ type = "cancel-flow-run" }]
"""


def test_proactive_windows_per_group_keep_their_opening_event(clock: Clock) -> None:
    engine = engine_from_toml(STUCK_RUN, clock)
    started_a = run_event(clock, "Running", run_id="a")
    engine.on_event(started_a)
    clock.advance(60)
    engine.on_event(run_event(clock, "Running", run_id="b"))
    again = restarted(engine, STUCK_RUN, clock)
    again.on_event(run_event(clock, "Completed", run_id="b"))
    assert again.next_deadline() == started_a.occurred + HOUR
    [firing] = again.due(clock.advance(HOUR))
    assert firing.group == ("orc.flow-run.a",)
    assert firing.event == started_a  # what cancel-flow-run reads the run id from
    assert again.next_deadline() is None


ORDER_READY = """
[[automations]]
name = "order-ready"
trigger = { all = [{ event = "shop.order.paid" }, { event = "shop.order.packed" }], within = "1h" }
actions = [{ type = "emit-event", event = "shop.order.ready" }]
"""


def test_what_a_compound_trigger_collected_is_kept(clock: Clock) -> None:
    engine = engine_from_toml(ORDER_READY, clock)
    paid = plain_event(clock, "shop.order.paid")
    engine.on_event(paid)
    clock.advance(600)
    again = restarted(engine, ORDER_READY, clock)
    packed = plain_event(clock, "shop.order.packed")
    [firing] = again.on_event(packed)
    assert firing.events == (paid, packed)


def test_a_compound_trigger_holding_a_proactive_one_keeps_both_parts(clock: Clock) -> None:
    text = """
    [[automations]]
    name = "failed-then-silent"
    trigger = { all = [{ event = "orc.flow-run.Failed" }, { posture = "proactive", event = "orc.flow-run.Completed", within = "2h" }], within = "3h" }
    actions = [{ type = "emit-event", event = "ops.worry" }]
    """
    engine = engine_from_toml(text, clock)
    deadline = clock() + 2 * HOUR
    clock.advance(HOUR)
    engine.on_event(run_event(clock, "Failed"))
    again = restarted(engine, text, clock)
    assert again.next_deadline() == deadline
    assert [f.automation for f in again.due(clock.advance(HOUR))] == ["failed-then-silent"]


PAUSE_THEN_FAIL = """
[[automations]]
name = "pause-then-fail"
trigger = { sequence = [{ event = "orc.deployment.paused" }, { event = "orc.flow-run.Failed" }], within = "10m" }
actions = [{ type = "emit-event", event = "ops.odd" }]
"""


def test_a_sequence_remembers_the_steps_it_has_seen(clock: Clock) -> None:
    engine = engine_from_toml(PAUSE_THEN_FAIL, clock)
    engine.on_event(plain_event(clock, "orc.deployment.paused", "orc.deployment.nightly-etl"))
    clock.advance(60)
    again = restarted(engine, PAUSE_THEN_FAIL, clock)
    assert fired(again, run_event(clock, "Failed")) == ["pause-then-fail"]


def test_pause_counts_and_cooldown_are_kept(clock: Clock) -> None:
    text = """
    [[automations]]
    name = "on-failure"
    trigger = { event = "orc.flow-run.Failed" }
    actions = [{ type = "run-deployment", deployment = "cleanup" }]
    cooldown = "10m"

    [[automations]]
    name = "quiet"
    trigger = { event = "acme.*" }
    actions = [{ type = "emit-event", event = "ops.noted" }]
    """
    engine = engine_from_toml(text, clock)
    assert fired(engine, run_event(clock, "Failed")) == ["on-failure"]
    fired_at = clock()
    engine.pause("quiet")
    clock.advance(60)
    again = restarted(engine, text, clock)
    assert again.describe("quiet").enabled is False
    assert fired(again, plain_event(clock, "acme.file.arrived")) == []
    info = again.describe("on-failure")
    assert (info.fired_count, info.last_fired) == (1, fired_at)
    assert fired(again, run_event(clock, "Failed")) == []  # still cooling down
    clock.advance(600)
    assert fired(again, run_event(clock, "Failed")) == ["on-failure"]


def test_changed_automations_start_fresh_and_removed_ones_are_dropped(clock: Clock) -> None:
    engine = engine_from_toml(THREE_FAILURES + SILENT_ETL, clock)
    fired(engine, run_event(clock, "Failed"), run_event(clock, "Failed"))
    engine.pause("etl-silent")
    saved = json.loads(json.dumps(engine.snapshot()))
    changed = THREE_FAILURES.replace("threshold = 3", "threshold = 2")
    again = AutomationEngine(specs_from_toml(changed + ORDER_READY), clock=clock)
    result = again.restore(saved)
    assert (result.restored, result.changed) == ((), ("three-strikes",))
    assert fired(again, run_event(clock, "Failed")) == []  # counts from zero: 1 of 2
    assert set(again.snapshot()["automations"]) == {"three-strikes", "order-ready"}


def test_key_order_in_a_table_is_not_a_change(clock: Clock) -> None:
    text = """
    [[automations]]
    name = "filtered"
    trigger = { event = "orc.flow-run.Failed", threshold = 2, match = { deployment = "nightly-etl", tags = "etl" } }
    actions = [{ type = "run-deployment", deployment = "cleanup" }]
    """
    engine = engine_from_toml(text, clock)
    engine.pause("filtered")
    swapped = text.replace(
        'deployment = "nightly-etl", tags = "etl"', 'tags = "etl", deployment = "nightly-etl"'
    )
    assert restarted(engine, swapped, clock).describe("filtered").enabled is False


def test_an_unreadable_part_starts_only_that_automation_fresh(clock: Clock) -> None:
    engine = engine_from_toml(THREE_FAILURES + SILENT_ETL, clock)
    engine.pause("three-strikes")
    engine.pause("etl-silent")
    saved: dict[str, Any] = json.loads(json.dumps(engine.snapshot()))
    saved["automations"]["etl-silent"]["trigger"] = {"watches": [["not", "a", "watch"]]}
    again = engine_from_toml(THREE_FAILURES + SILENT_ETL, clock)
    result = again.restore(saved)
    assert (result.restored, result.unreadable) == (("three-strikes",), ("etl-silent",))
    assert again.describe("etl-silent").enabled is True
    assert again.next_deadline() == clock() + 26 * HOUR


@pytest.mark.parametrize("saved", [None, [], {"format": 99, "automations": {}}, {"format": 1}])
def test_something_else_than_a_snapshot_is_refused(clock: Clock, saved: Any) -> None:
    engine = engine_from_toml(THREE_FAILURES, clock)
    with pytest.raises(ValueError, match="snapshot"):
        engine.restore(saved)


def test_revision_moves_only_when_the_state_may_have_changed(clock: Clock) -> None:
    engine = engine_from_toml(THREE_FAILURES, clock)
    before = engine.revision
    engine.on_event(plain_event(clock, "acme.unrelated"))
    assert engine.revision == before  # what no trigger looks at changes nothing
    engine.on_event(run_event(clock, "Failed"))
    assert engine.revision > before
    before = engine.revision
    engine.pause("three-strikes")
    assert engine.revision > before
