"""Actions through the daemon's interface: targets inferred from the event, outcome events for each."""

from __future__ import annotations

from orchestrate.automations import (
    AutomationEngine,
    execute,
    triggered_event,
    validate_deployment_triggers,
)
from tests.automations.helpers import Clock, plain_event, run_event, specs_from_toml
from tests.automations.recording_context import RecordingContext

EVERYTHING = """
[[automations]]
name = "on-failure"
trigger = { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" } }
actions = [
  { type = "run-deployment", deployment = "cleanup", parameters = { run = "{{ event.resource.id }}", id = "{{ flow_run.id }}", rows = "{{ event.payload.rows }}" } },
  { type = "run-deployment" },
  { type = "pause-deployment" },
  { type = "resume-deployment", deployment = "report" },
  { type = "cancel-flow-run" },
  { type = "change-flow-run-state", state = "Cancelled", message = "{{ deployment.name }} failed at {{ event.occurred }}" },
  { type = "pause-automation" },
  { type = "resume-automation", automation = "on-failure" },
  { type = "emit-event", event = "ops.cleanup.started", payload = { run = "{{ flow_run.id }}" } },
]
"""


async def test_every_daemon_action_gets_its_target_from_the_event(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(EVERYTHING), clock=clock)
    [firing] = engine.on_event(run_event(clock, run_id="r42", payload={"rows": 17}))
    context = RecordingContext()
    outcomes = await execute(firing, engine.spec("on-failure"), context, clock=clock)
    assert context.calls == [
        ("run_deployment", "cleanup", {"run": "orc.flow-run.r42", "id": "r42", "rows": 17}),
        ("run_deployment", "nightly-etl", {}),
        ("pause_deployment", "nightly-etl"),
        ("resume_deployment", "report"),
        ("cancel_flow_run", "r42"),
        ("set_flow_run_state", "r42", "Cancelled", f"nightly-etl failed at {clock()}"),
        ("pause_automation", "on-failure"),
        ("resume_automation", "on-failure"),
        ("emit", "ops.cleanup.started"),
    ]
    assert [o.event for o in outcomes] == ["orc.automation.action.executed"] * 9
    assert outcomes[0].payload["flow_run_id"] == "new-run-of-cleanup"
    assert outcomes[0].resource == {
        "orc.resource.id": "orc.automation.on-failure",
        "orc.resource.name": "on-failure",
    }
    assert {
        "orc.resource.id": "orc.flow-run.r42",
        "orc.resource.role": "triggering-resource",
    } in outcomes[0].related


async def test_emitted_events_name_the_automation_so_it_cannot_loop(clock: Clock) -> None:
    engine = AutomationEngine(
        specs_from_toml(
            """
            [[automations]]
            name = "chatty"
            trigger = { event = "ops.*" }
            actions = [{ type = "emit-event", event = "ops.echo", resource = { "orc.resource.id" = "ops.{{ event.id }}" } }]
            """
        ),
        clock=clock,
    )
    [firing] = engine.on_event(plain_event(clock, "ops.start"))
    context = RecordingContext()
    await execute(firing, engine.spec("chatty"), context, clock=clock)
    [echo] = context.emitted
    assert echo.resource == {"orc.resource.id": f"ops.{firing.event.id}"}  # type: ignore[union-attr]
    assert engine.on_event(echo) == []


async def test_a_failing_action_is_recorded_and_the_next_one_still_runs(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(EVERYTHING), clock=clock)
    [firing] = engine.on_event(run_event(clock))
    context = RecordingContext(fail_on={"pause_deployment"})
    outcomes = await execute(firing, engine.spec("on-failure"), context, clock=clock)
    failed = [o for o in outcomes if o.event == "orc.automation.action.failed"]
    assert len(failed) == 1 and len(outcomes) == 9
    assert failed[0].payload["action"] == "pause-deployment"
    assert failed[0].payload["error"].startswith("LookupError: pause_deployment refused")
    assert ("resume_deployment", "report") in context.calls


async def test_a_target_that_cannot_be_inferred_fails_with_the_fix(clock: Clock) -> None:
    engine = AutomationEngine(
        specs_from_toml(
            """
            [[automations]]
            name = "shop"
            trigger = { event = "shop.*" }
            actions = [{ type = "cancel-flow-run" }, { type = "pause-deployment" }]
            """
        ),
        clock=clock,
    )
    [firing] = engine.on_event(plain_event(clock, "shop.order.paid"))
    outcomes = await execute(firing, engine.spec("shop"), RecordingContext(), clock=clock)
    assert [o.event for o in outcomes] == ["orc.automation.action.failed"] * 2
    assert "is not about a flow run; set flow_run" in outcomes[0].payload["error"]
    assert 'set deployment = "<name>"' in outcomes[1].payload["error"]


async def test_a_proactive_firing_per_deployment_runs_that_deployment(clock: Clock) -> None:
    engine = AutomationEngine(
        specs_from_toml(
            """
            [[automations]]
            name = "rerun-silent"
            trigger = { posture = "proactive", event = "orc.flow-run.Completed", within = "1h", for_each = ["deployment"] }
            actions = [{ type = "run-deployment", parameters = { why = "no completion of {{ deployment.name }}" } }]
            """
        ),
        clock=clock,
    )
    engine.on_event(run_event(clock, "Completed", deployment="hourly-sync"))
    [firing] = engine.due(clock.advance(3600))
    context = RecordingContext()
    await execute(firing, engine.spec("rerun-silent"), context, clock=clock)
    assert context.calls == [
        ("run_deployment", "hourly-sync", {"why": "no completion of hourly-sync"})
    ]


def test_the_triggered_event_names_the_automation_and_the_triggering_events(clock: Clock) -> None:
    engine = AutomationEngine(specs_from_toml(EVERYTHING), clock=clock)
    event = run_event(clock, run_id="r7")
    [firing] = engine.on_event(event)
    triggered = triggered_event(firing, engine.spec("on-failure"))
    assert triggered.event == "orc.automation.triggered"
    assert triggered.resource["orc.resource.id"] == "orc.automation.on-failure"
    assert triggered.payload["triggering_events"] == [event.id]
    assert {
        "orc.resource.id": f"orc.event.{event.id}",
        "orc.resource.role": "triggering-event",
        "orc.resource.name": event.event,
    } in triggered.related
    assert engine.on_event(triggered) == []


async def test_a_deployment_trigger_runs_b_after_a_completes(clock: Clock) -> None:
    specs, problems = validate_deployment_triggers(
        "report",
        [
            {
                "event": "orc.flow-run.Completed",
                "match": {"deployment": "nightly-etl"},
                "parameters": {"upstream": "{{ flow_run.id }}", "rows": "{{ event.payload.rows }}"},
            }
        ],
        {"nightly-etl", "report"},
    )
    assert problems == []
    engine = AutomationEngine(specs, clock=clock)
    assert engine.on_event(run_event(clock, "Completed", deployment="report")) == []
    [firing] = engine.on_event(run_event(clock, "Completed", run_id="a1", payload={"rows": 5}))
    context = RecordingContext()
    [outcome] = await execute(firing, engine.spec(firing.automation), context, clock=clock)
    assert context.calls == [("run_deployment", "report", {"upstream": "a1", "rows": 5})]
    assert outcome.payload["flow_run_id"] == "new-run-of-report"


def test_what_a_firing_causes_names_its_automation_and_every_one_before_it() -> None:
    """The chain is what keeps an automation from reacting to what it caused, however many
    automations lie between (A runs a deployment whose completion fires B, which emits …)."""
    from orchestrate.automations.engine import Firing, causal_chain
    from orchestrate.core.records import EventRecord

    caused = EventRecord(
        "e1", 1.0, "orc.flow-run.Completed", {"orc.resource.id": "orc.flow-run.r1"}, {},
        [{"orc.resource.id": "orc.automation.a", "orc.resource.role": "automation"}],
    )  # fmt: skip
    plain = EventRecord("e2", 2.0, "acme.done", {"orc.resource.id": "acme"}, {}, [])
    firing = Firing("f1", "b", (caused, plain), (), 3.0)
    assert causal_chain(firing, "orc.automation.b") == ["orc.automation.a", "orc.automation.b"]
    alone = Firing("f2", "b", (plain,), (), 3.0)
    assert causal_chain(alone, "orc.automation.b") == ["orc.automation.b"]
