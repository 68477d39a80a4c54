"""The events automations emit about themselves: triggered, action executed, action failed.

Their resource is the automation (`orc.automation.<name>`), and they name
the triggering events as related resources, so `orc events ls --resource`
finds what an automation did for a given run. The engine never lets an
automation react to these events of its own, which rules out loops.
"""

from __future__ import annotations

import uuid
from typing import Any

from orchestrate.automations.action_models import ActionSpec
from orchestrate.automations.engine import Firing, causal_chain
from orchestrate.automations.matching import RESOURCE_ID, RESOURCE_NAME, RESOURCE_ROLE
from orchestrate.automations.models import AutomationSpec
from orchestrate.automations.words import action_text, trigger_text
from orchestrate.core.causes import chain_related
from orchestrate.core.records import EventRecord

TRIGGERED = "orc.automation.triggered"
EXECUTED = "orc.automation.action.executed"
FAILED = "orc.automation.action.failed"


def event_as_dict(event: EventRecord) -> dict[str, Any]:
    """An event as the JSON object webhooks and commands receive (the wire `EventInfo` shape)."""
    return {
        "id": event.id,
        "occurred": event.occurred,
        "event": event.event,
        "resource": event.resource,
        "related": event.related,
        "payload": event.payload,
    }


def firing_as_dict(firing: Firing) -> dict[str, Any]:
    """What a webhook receives for a firing without an event (a proactive trigger's deadline)."""
    return {
        "automation": firing.automation,
        "firing_id": firing.id,
        "fired_at": firing.fired_at,
        "group": list(firing.group),
        "event": None,
    }


def automation_resource(spec: AutomationSpec) -> dict[str, str]:
    return {RESOURCE_ID: spec.resource_id, RESOURCE_NAME: spec.name}


def _related(firing: Firing, spec: AutomationSpec) -> list[dict[str, str]]:
    related = [
        {
            RESOURCE_ID: f"orc.event.{e.id}",
            RESOURCE_ROLE: "triggering-event",
            RESOURCE_NAME: e.event,
        }
        for e in firing.events
    ]
    if firing.event is not None and RESOURCE_ID in firing.event.resource:
        related.append(
            {RESOURCE_ID: firing.event.resource[RESOURCE_ID], RESOURCE_ROLE: "triggering-resource"}
        )
    return related + chain_related(causal_chain(firing, spec.resource_id))


def triggered_event(firing: Firing, spec: AutomationSpec) -> EventRecord:
    """`orc.automation.triggered`, to record as soon as the engine reports the firing."""
    payload = {
        "firing_id": firing.id,
        "trigger": trigger_text(spec.trigger),
        "group": list(firing.group),
        "triggering_events": [e.id for e in firing.events],
        "actions": [action.type for action in spec.actions],
    }
    return EventRecord(
        str(uuid.uuid4()),
        firing.fired_at,
        TRIGGERED,
        automation_resource(spec),
        payload,
        _related(firing, spec),
    )


def action_event(
    firing: Firing,
    spec: AutomationSpec,
    index: int,
    action: ActionSpec,
    details: dict[str, Any],
    *,
    ok: bool,
    at: float,
) -> EventRecord:
    """`orc.automation.action.executed` (ok) or `.failed`, with what the action did or why it failed."""
    payload = {
        "firing_id": firing.id,
        "action_index": index,
        "action": action.type,
        "text": action_text(action),
    }
    return EventRecord(
        str(uuid.uuid4()),
        at,
        EXECUTED if ok else FAILED,
        automation_resource(spec),
        {**payload, **details},
        _related(firing, spec),
    )


def cut_off_outcome(triggered: EventRecord, index: int, at: float) -> EventRecord:
    """`.failed` for action `index` of a firing a kill of `orc up` left without its outcome
    (`triggered` is the firing's own event, as stored)."""
    payload = {
        "firing_id": triggered.payload["firing_id"],
        "action_index": index,
        "action": triggered.payload["actions"][index],
        "error": (
            "orc up was killed before this action reported back: it may have begun (a command "
            "it started may still run), and it was not run again"
        ),
    }
    return EventRecord(
        str(uuid.uuid4()), at, FAILED, triggered.resource, payload, triggered.related
    )
