"""Builders for automation tests: a clock moved by hand, events in the daemon's label conventions, TOML specs."""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable
from typing import Any

from orchestrate.automations import AutomationEngine, AutomationSpec, validate_automations
from orchestrate.core.records import EventRecord

DEPLOYMENTS = {"nightly-etl", "cleanup", "report", "hourly-sync"}
_ids = itertools.count(1)


class Clock:
    """The one thing these tests fake: time, moved forward explicitly."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def run_event(
    clock: Clock,
    state: str = "Failed",
    *,
    deployment: str | None = "nightly-etl",
    flow: str = "etl",
    tags: Iterable[str] = (),
    run_id: str | None = None,
    kind: str = "flow-run",
    payload: dict[str, Any] | None = None,
) -> EventRecord:
    """`orc.flow-run.<state>` as the daemon emits it: the run as resource, deployment, flow and tags related."""
    run_id = run_id or f"run-{next(_ids)}"
    state_type = {"Completed": "COMPLETED", "Running": "RUNNING", "Crashed": "CRASHED"}.get(
        state, "FAILED"
    )
    resource = {
        "orc.resource.id": f"orc.{kind}.{run_id}",
        "orc.resource.name": f"brave-{run_id}",
        "orc.state-type": state_type,
        "orc.state-name": state,
    }
    related = []
    if deployment:
        related.append(
            {
                "orc.resource.id": f"orc.deployment.{deployment}",
                "orc.resource.role": "deployment",
                "orc.resource.name": deployment,
            }
        )
    related.append(
        {
            "orc.resource.id": f"orc.flow.{flow}",
            "orc.resource.role": "flow",
            "orc.resource.name": flow,
        }
    )
    related += [{"orc.resource.id": f"orc.tag.{tag}", "orc.resource.role": "tag"} for tag in tags]
    body = {
        "intended": {"from": "RUNNING", "to": state_type},
        "state": {"type": state_type, "name": state, "message": None},
    }
    return EventRecord(
        f"ev-{next(_ids)}",
        clock(),
        f"orc.{kind}.{state}",
        resource,
        {**body, **(payload or {})},
        related,
    )


def plain_event(
    clock: Clock, name: str, resource_id: str = "shop.order.1", **payload: Any
) -> EventRecord:
    return EventRecord(
        f"ev-{next(_ids)}", clock(), name, {"orc.resource.id": resource_id}, payload, []
    )


def specs_from_toml(text: str, deployments: Iterable[str] = DEPLOYMENTS) -> list[AutomationSpec]:
    """Reads `[[automations]]` TOML as flows.toml holds it; fails the test on any problem."""
    specs, problems = validate_automations(tomllib.loads(text)["automations"], set(deployments))
    assert not problems, problems
    return specs


def engine_from_toml(text: str, clock: Clock) -> AutomationEngine:
    return AutomationEngine(specs_from_toml(text), clock=clock)


def fired(engine: AutomationEngine, *events: EventRecord) -> list[str]:
    """The automation names that fire, in order, as the events arrive one by one."""
    return [f.automation for e in events for f in engine.on_event(e)]
