"""Triggers and actions in words, for `orc automations ls/show` and the dashboard.

orc.flow-run.Failed for deployment nightly-etl, 3 times within 1m, per deployment
no orc.flow-run.Completed for deployment nightly-etl within 26h
run deployment cleanup with run={{ flow_run.id }}
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrate.automations.action_models import (
    ActionSpec,
    CallWebhook,
    CancelFlowRun,
    ChangeFlowRunState,
    EmitEvent,
    PauseAutomation,
    PauseDeployment,
    ResumeAutomation,
    ResumeDeployment,
    RunCommand,
    RunDeployment,
)
from orchestrate.automations.fields import FromEnv
from orchestrate.automations.models import CompoundTrigger, EventTrigger, SequenceTrigger, Trigger
from orchestrate.core.durations import format_duration


def _either(globs: Iterable[str]) -> str:
    words = [f"not {g[1:]}" if g.startswith("!") else g for g in globs]
    return " or ".join(words)


def _names(globs: Iterable[str]) -> str:
    globs = tuple(globs)
    return "any event" if globs == ("*",) else _either(globs)


def _filters(spec: EventTrigger) -> str:
    words = []
    for key, globs in spec.match.items():
        if key in ("tag", "tags"):
            words.append(f"tagged {_either(globs)}")
        elif key in ("deployment", "flow"):
            words.append(f"{key} {_either(globs)}")
        else:
            words.append(f"{key} is {_either(globs)}")
    for related in spec.match_related:
        inner = " and ".join(f"{k} is {_either(v)}" for k, v in related.items())
        words.append(f"a related resource where {inner}")
    return f" for {', '.join(words)}" if words else ""


def _event_trigger(spec: EventTrigger) -> str:
    what = _names(spec.event) + _filters(spec)
    within = f" within {format_duration(spec.within)}" if spec.within is not None else ""
    after = f" after {_names(spec.after)}" if spec.after else ""
    per = f", per {' and '.join(spec.for_each)}" if spec.for_each else ""
    if spec.posture == "proactive":
        count = "no " if spec.threshold == 1 else f"fewer than {spec.threshold} "
        return f"{count}{what}{within}{after}{per}"
    times = f", {spec.threshold} times" if spec.threshold > 1 else ""
    lead = f"{after.strip()}, then " if after else ""
    return f"{lead}{what}{times}{within}{per}"


def trigger_text(spec: Trigger) -> str:
    """A trigger of any shape in one line."""
    if isinstance(spec, EventTrigger):
        return _event_trigger(spec)
    within = f" within {format_duration(spec.within)}" if spec.within is not None else ""
    if isinstance(spec, SequenceTrigger):
        return "in order: " + "; then ".join(f"({trigger_text(s)})" for s in spec.sequence) + within
    assert isinstance(spec, CompoundTrigger)
    inner = "; ".join(f"({trigger_text(s)})" for s in spec.children)
    how_many = (
        "all" if spec.all_ is not None else "any" if spec.any_ is not None else str(spec.required)
    )
    return f"{how_many} of {inner}{within}"


def _secret_or(value: str | FromEnv) -> str:
    return f"${value.from_env}" if isinstance(value, FromEnv) else value


def _assignments(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in values.items())


def _target(value: str | None, kind: str, own: str = "the event's") -> str:
    return f"{kind} {value}" if value else f"{own} {kind}"


def action_text(action: ActionSpec) -> str:
    """One action in one line; secrets read from the environment show as `$NAME`."""
    verb = action.type.split("-")[0]
    match action:
        case RunDeployment():
            params = f" with {_assignments(action.parameters)}" if action.parameters else ""
            return f"run {_target(action.deployment, 'deployment')}{params}"
        case PauseDeployment() | ResumeDeployment():
            return f"{verb} {_target(action.deployment, 'deployment')}"
        case CancelFlowRun():
            return f"cancel {_target(action.flow_run, 'flow run')}"
        case ChangeFlowRunState():
            message = f" ({action.message})" if action.message else ""
            return f"set {_target(action.flow_run, 'flow run')} to {action.state}{message}"
        case PauseAutomation() | ResumeAutomation():
            return f"{verb} {_target(action.automation, 'automation', own='this')}"
        case EmitEvent():
            return f"emit {action.event}"
        case CallWebhook():
            body = "the event as JSON" if action.payload is None else "a templated body"
            return f"{action.method} {_secret_or(action.url)} ({body}, {action.retries} retries)"
        case RunCommand():
            return f"run {shlex.join(action.command)} (timeout {format_duration(action.timeout)})"
    return action.type
