"""The engine around the triggers: hot reload, pause and resume, and what `describe` tells."""

from __future__ import annotations

import pytest

from orchestrate.automations import AutomationEngine
from orchestrate.core.errors import AutomationError, AutomationNotFound
from tests.automations.helpers import Clock, fired, run_event, specs_from_toml

COUNTING = """
[[automations]]
name = "three-failures"
trigger = { event = "orc.flow-run.Failed", threshold = 3, within = "10m" }
actions = [{ type = "pause-deployment" }]

[[automations]]
name = "silence"
trigger = { posture = "proactive", event = "orc.flow-run.Completed", within = "1h" }
actions = [{ type = "run-deployment", deployment = "nightly-etl" }]
"""


def test_reload_keeps_the_counts_and_deadlines_of_unchanged_automations(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    deadline = engine.next_deadline()
    assert fired(engine, run_event(clock), run_event(clock)) == []
    clock.advance(60)
    result = engine.reload(specs_from_toml(COUNTING))
    assert result.kept == ("three-failures", "silence") and not (
        result.added or result.changed or result.removed
    )
    assert engine.next_deadline() == deadline
    assert fired(engine, run_event(clock)) == ["three-failures"]


def test_reload_resets_changed_automations_and_drops_removed_ones(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    assert fired(engine, run_event(clock), run_event(clock)) == []
    clock.advance(60)
    changed = COUNTING.replace('within = "10m"', 'within = "15m"').split(
        '[[automations]]\nname = "silence"'
    )[0]
    result = engine.reload(specs_from_toml(changed))
    assert (result.changed, result.removed) == (("three-failures",), ("silence",))
    assert fired(engine, run_event(clock)) == []  # counting started again
    assert engine.next_deadline() is None
    assert engine.names == ["three-failures"]


def test_reload_keeps_a_pause_of_an_unchanged_automation(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    engine.pause("silence")
    engine.reload(specs_from_toml(COUNTING))
    assert engine.describe("silence").enabled is False
    assert engine.next_deadline() is None


def test_a_pause_outlives_an_edit_and_a_new_description_changes_nothing(clock: Clock) -> None:
    """Any edit of a paused automation, a description too, resumed it and reset its counts:
    an operator's pause was undone by a cosmetic save."""
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    assert fired(engine, run_event(clock), run_event(clock)) == []
    described = COUNTING.replace(
        'name = "three-failures"', 'name = "three-failures"\ndescription = "page on three"'
    )
    result = engine.reload(specs_from_toml(described))
    assert "three-failures" in result.kept
    assert fired(engine, run_event(clock)) == ["three-failures"]  # its two counted still count
    engine.pause("silence")
    edited = described.replace('within = "1h"', 'within = "2h"')
    assert engine.reload(specs_from_toml(edited)).changed == ("silence",)
    assert engine.describe("silence").enabled is False
    assert engine.next_deadline() is None


def test_a_pause_outlives_an_edit_made_while_orc_up_was_down(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    engine.pause("silence")
    saved = engine.snapshot()
    later = AutomationEngine(
        specs_from_toml(COUNTING.replace('within = "1h"', 'within = "2h"')), clock=clock
    )
    assert later.restore(saved).changed == ("silence",)
    assert later.describe("silence").enabled is False


def test_a_paused_automation_ignores_events_and_resume_watches_afresh(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    fired(engine, run_event(clock), run_event(clock))
    info = engine.pause("three-failures")
    assert info.enabled is False
    assert fired(engine, run_event(clock), run_event(clock), run_event(clock)) == []
    engine.resume("three-failures")
    assert fired(engine, run_event(clock), run_event(clock)) == []
    assert fired(engine, run_event(clock)) == ["three-failures"]


def test_resume_of_a_proactive_trigger_starts_its_window_at_resume_time(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    engine.pause("silence")
    assert engine.due(clock.advance(7200)) == []
    engine.resume("silence")
    assert engine.next_deadline() == clock() + 3600


def test_disabled_automations_wait_for_resume(clock: Clock) -> None:
    text = COUNTING.replace('name = "three-failures"', 'name = "three-failures"\nenabled = false')
    engine = AutomationEngine(specs_from_toml(text), clock=clock)
    assert fired(engine, run_event(clock), run_event(clock), run_event(clock)) == []
    engine.resume("three-failures")
    assert fired(engine, run_event(clock), run_event(clock), run_event(clock)) == ["three-failures"]


def test_describe_gives_what_the_cli_shows(clock: Clock) -> None:
    engine = AutomationEngine(
        specs_from_toml(
            """
            [[automations]]
            name = "cleanup-after-failure"
            description = "tidy up"
            trigger = { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" }, threshold = 3, within = "90s", for_each = ["deployment"] }
            actions = [
              { type = "run-deployment", deployment = "cleanup", parameters = { run = "{{ flow_run.id }}", days = 2 } },
              { type = "call-webhook", url = { from_env = "HOOK_URL" } },
              { type = "run-command", command = ["./notify.sh", "{{ event.id }}"], timeout = "30s" },
            ]
            """
        ),
        clock=clock,
    )
    fired(engine, *(run_event(clock) for _ in range(3)))
    info = engine.describe("cleanup-after-failure")
    assert (
        info.trigger_text
        == "orc.flow-run.Failed for deployment nightly-etl, 3 times within 1m30s, per deployment"
    )
    assert info.actions == [
        "run deployment cleanup with run={{ flow_run.id }}, days=2",
        "POST $HOOK_URL (the event as JSON, 3 retries)",
        "run ./notify.sh '{{ event.id }}' (timeout 30s)",
    ]
    assert (info.enabled, info.fired_count, info.last_fired, info.description) == (
        True,
        1,
        clock(),
        "tidy up",
    )
    assert engine.describe_all() == [info]


def test_unknown_names_and_duplicates_are_refused_with_the_fix(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    with pytest.raises(AutomationNotFound, match="known: silence, three-failures"):
        engine.pause("three")
    spec = engine.spec("silence")
    with pytest.raises(AutomationError, match="two automations are named 'silence'"):
        engine.reload([spec, spec])


def test_routing_follows_reload(clock: Clock) -> None:
    engine = AutomationEngine([], clock=clock)
    assert fired(engine, run_event(clock)) == []
    engine.reload(specs_from_toml(COUNTING.replace("threshold = 3", "threshold = 1")))
    assert fired(engine, run_event(clock)) == ["three-failures"]


@pytest.mark.parametrize("off_by", [365 * 86400.0, -3600.0], ids=["a year ahead", "an hour behind"])
def test_an_event_whose_own_time_is_far_off_counts_from_when_it_arrived(
    clock: Clock, off_by: float
) -> None:
    """A heartbeat stamped a year ahead pushed the "no heartbeat in 1h" alarm a year away;
    one stamped an hour behind set it off at once, though it had just arrived."""
    from dataclasses import replace

    engine = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    clock.advance(1800)
    skewed = replace(run_event(clock, "Completed"), occurred=clock() + off_by)
    assert fired(engine, skewed) == []
    assert engine.next_deadline() == clock() + 3600
    assert engine.due() == []


def test_an_automation_enabled_in_flows_toml_while_orc_up_was_down_comes_on(
    clock: Clock,
) -> None:
    """Only a pause by hand outlives an edit: `enabled = false` turned to true must not be
    taken for one."""
    disabled = COUNTING.replace('name = "silence"', 'name = "silence"\nenabled = false')
    saved = AutomationEngine(specs_from_toml(disabled), clock=clock).snapshot()
    later = AutomationEngine(specs_from_toml(COUNTING), clock=clock)
    later.restore(saved)
    assert later.describe("silence").enabled is True
