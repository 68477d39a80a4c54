"""`emit_event`: tell orc that something happened (Prefect's events API, same shape).

An event names what happened (`shop.order.shipped`), the resource it happened
to (labels; `orc.resource.id` is required), related resources with a role,
and a payload. Inside a run, the flow run is added as a related resource; the
daemon adds the automations that made the run, so none of them reacts to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from orchestrate.core.records import EventRecord
from orchestrate.engine import flow_run_context, task_run_context
from orchestrate.recording import get_sink


@dataclass(frozen=True, slots=True)
class Event:
    """An event as emitted (Prefect's `Event`, the fields users read)."""

    id: str
    occurred: float
    event: str
    resource: dict[str, str]
    payload: dict[str, Any]
    related: list[dict[str, str]]


def emit_event(
    event: str,
    resource: dict[str, str],
    occurred: float | None = None,
    related: list[dict[str, str]] | None = None,
    payload: dict[str, Any] | None = None,
    id: str | None = None,
) -> Event:
    """Record an event (and, with a daemon up, let automations react to it).

    Args:
        event: a dotted name, e.g. `"shop.order.shipped"`.
        resource: labels of what it happened to; must include `"orc.resource.id"`
            (`"prefect.resource.id"` is accepted and renamed).
        related: other resources, each with `"orc.resource.id"` and `"orc.resource.role"`.
        payload: any JSON-serialisable details.
    """
    resource = _rename(resource)
    if not event or not isinstance(event, str):
        raise ValueError(
            "emit_event: the event name must be a non-empty string like 'shop.order.shipped'."
        )
    if "orc.resource.id" not in resource:
        raise ValueError(
            f"emit_event({event!r}): the resource needs an 'orc.resource.id' label, "
            "e.g. resource={'orc.resource.id': 'shop.order.42'}."
        )
    from orchestrate.core.runs import new_id

    related_resources = [_rename(r) for r in related or []]
    flow_ctx, task_ctx = flow_run_context.get(), task_run_context.get()
    if flow_ctx is not None:
        related_resources.append(
            {"orc.resource.id": f"orc.flow-run.{flow_ctx.run.id}", "orc.resource.role": "flow-run"}
        )
    if task_ctx is not None:
        related_resources.append(
            {"orc.resource.id": f"orc.task-run.{task_ctx.run.id}", "orc.resource.role": "task-run"}
        )
    record = EventRecord(
        id or new_id(), occurred or time.time(), event, resource, payload or {}, related_resources
    )
    (flow_ctx.sink if flow_ctx else get_sink()).put(record)
    return Event(
        record.id, record.occurred, record.event, record.resource, record.payload, record.related
    )


def _rename(labels: dict[str, str]) -> dict[str, str]:
    """The labels as given, plus `orc.*` twins of `prefect.*` ones (so both spellings read)."""
    result = {k: str(v) for k, v in labels.items()}
    for key, value in labels.items():
        if key.startswith("prefect."):
            result.setdefault("orc." + key[len("prefect.") :], str(value))
    return result


__all__ = ["Event", "emit_event"]
