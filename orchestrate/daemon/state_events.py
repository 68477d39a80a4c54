"""Every state change of a flow or task run becomes an event (`orc.flow-run.Completed`, …).

The labels follow Prefect's shape: the run is the resource; its deployment,
flow and tags are related resources with a role, so automations can match
`deployment = "nightly-etl"` or `tags = "etl"` without knowing run ids.
"""

from __future__ import annotations

from typing import Any

from orchestrate.core.causes import chain_related
from orchestrate.core.records import EventRecord, FlowRunRecord, TaskRunRecord
from orchestrate.core.runs import new_id
from orchestrate.core.states import State


def _related(
    flow_run: FlowRunRecord | None, caused_by: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    if flow_run is None:
        return []
    # The automations that made the run: none of them reacts to its events (no loop).
    related = chain_related(caused_by)
    if flow_run.deployment:
        related.append(_resource("deployment", flow_run.deployment))
    related.append(_resource("flow", flow_run.flow_name))
    related += [
        {"orc.resource.id": f"orc.tag.{tag}", "orc.resource.role": "tag"} for tag in flow_run.tags
    ]
    return related


def _resource(role: str, name: str) -> dict[str, str]:
    return {
        "orc.resource.id": f"orc.{role}.{name}",
        "orc.resource.role": role,
        "orc.resource.name": name,
    }


def _state(state: State) -> dict[str, Any]:
    return {"type": state.type.value, "name": state.name, "message": state.message}


def flow_run_event(
    run: FlowRunRecord, state: State, previous: State | None, caused_by: tuple[str, ...] = ()
) -> EventRecord:
    """`orc.flow-run.<State name>` for `run` entering `state`; `caused_by` names the
    automations that made the run."""
    resource = {
        "orc.resource.id": f"orc.flow-run.{run.id}",
        "orc.resource.name": run.name,
        "orc.state-type": state.type.value,
        "orc.state-name": state.name,
    }
    payload = {
        "intended": {"from": previous.type.value if previous else None, "to": state.type.value},
        "state": _state(state),
        "parameters": run.parameters,
        "run_count": run.run_count,
    }
    return EventRecord(
        new_id(),
        state.ts,
        f"orc.flow-run.{state.name}",
        resource,
        payload,
        _related(run, caused_by),
    )


def task_run_event(
    run: TaskRunRecord,
    state: State,
    previous: State | None,
    flow_run: FlowRunRecord | None,
    caused_by: tuple[str, ...] = (),
) -> EventRecord:
    """`orc.task-run.<State name>`, related to its flow run as well."""
    resource = {
        "orc.resource.id": f"orc.task-run.{run.id}",
        "orc.resource.name": run.name,
        "orc.state-type": state.type.value,
        "orc.state-name": state.name,
    }
    related = [
        {"orc.resource.id": f"orc.flow-run.{run.flow_run_id}", "orc.resource.role": "flow-run"},
        *_related(flow_run, caused_by),
    ]
    payload = {
        "intended": {"from": previous.type.value if previous else None, "to": state.type.value},
        "state": _state(state),
        "task_key": run.task_key,
    }
    return EventRecord(new_id(), state.ts, f"orc.task-run.{state.name}", resource, payload, related)


def daemon_event(
    name: str,
    resource_id: str,
    payload: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
) -> EventRecord:
    """An event the daemon raises about itself, a deployment or its config."""
    import time

    resource = {"orc.resource.id": resource_id, **(labels or {})}
    return EventRecord(new_id(), time.time(), name, resource, payload or {})
