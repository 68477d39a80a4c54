"""Automations: `[[automations]]` in flows.toml react to events with actions.

The daemon wires it in a few lines: it validates the config's automations,
feeds every event to the engine, sleeps until the next proactive deadline,
and carries out each firing through its own `ActionContext`:

    specs, problems = validate_automations(raw, known_deployments)
    engine = AutomationEngine(specs, clock=time.time)
    for firing in engine.on_event(event) + engine.due():
        spec = engine.spec(firing.automation)
        record(triggered_event(firing, spec))
        for outcome in await execute(firing, spec, context):
            record(outcome)
    engine.next_deadline()  # when to call due() next; None while nothing is pending
    engine.restore(saved)   # on start: what a `engine.snapshot()` kept across a restart
"""

from __future__ import annotations

from orchestrate.automations.actions import ActionContext, carry_out, cut_short, execute
from orchestrate.automations.engine import AutomationEngine, Firing, ReloadResult, RestoreResult
from orchestrate.automations.models import AutomationSpec
from orchestrate.automations.outcomes import triggered_event
from orchestrate.automations.validation import (
    Problem,
    automations_from_deployment_triggers,
    validate_automations,
    validate_deployment_triggers,
)

__all__ = [
    "ActionContext",
    "AutomationEngine",
    "AutomationSpec",
    "Firing",
    "Problem",
    "ReloadResult",
    "RestoreResult",
    "automations_from_deployment_triggers",
    "carry_out",
    "cut_short",
    "execute",
    "triggered_event",
    "validate_automations",
    "validate_deployment_triggers",
]
