"""Checking `[[automations]]` and deployments' `triggers = [...]`, with a path for every problem.

A problem is `(path, message)`: the path leads from the list given to the
offending value (`(0, "actions", 1, "parameters", "run")`), so the config
loader can prefix it (`automations`) and point at the file, line and column.
Shape errors come from the pydantic models; this module adds what needs the
whole project: names of deployments and other automations, duplicates.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from orchestrate.automations import action_models
from orchestrate.automations.models import (
    AutomationSpec,
    CompoundTrigger,
    EventTrigger,
    SequenceTrigger,
    Trigger,
)

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

_DEPLOYMENT_ACTIONS = (
    action_models.RunDeployment,
    action_models.PauseDeployment,
    action_models.ResumeDeployment,
)
_AUTOMATION_ACTIONS = (action_models.PauseAutomation, action_models.ResumeAutomation)
_TRIGGER_KEYS = ("name", "enabled", "description", "parameters", "cooldown")


def validate_automations(
    raw: Sequence[Any], known_deployments: Collection[str] | None
) -> tuple[list[AutomationSpec], list[Problem]]:
    """Validates every entry; returns the valid automations and the problems of the others.

    Args:
        raw: the `[[automations]]` tables as read from TOML.
        known_deployments: the project's deployment names; None skips that check.
    """
    parsed: list[tuple[int, AutomationSpec]] = []
    problems: list[Problem] = []
    for index, item in enumerate(raw):
        try:
            parsed.append((index, AutomationSpec.model_validate(item)))
        except ValidationError as e:
            problems += [((index, *path), message) for path, message in problems_of(e)]
    names = {item.get("name") for item in raw if isinstance(item, Mapping)}
    first_at: dict[str, int] = {}
    valid = []
    for index, spec in parsed:
        found = _reference_problems(spec, names, known_deployments)
        if spec.name in first_at:
            found.append(
                (
                    ("name",),
                    f"another automation is already named {spec.name!r} (entry {first_at[spec.name] + 1}); names must be unique",
                )
            )
        first_at.setdefault(spec.name, index)
        problems += [((index, *path), message) for path, message in found]
        if not found:
            valid.append(spec)
    return valid, problems


def problems_of(error: ValidationError) -> list[Problem]:
    """A pydantic error as (path, message) pairs in the words of flows.toml."""
    problems = []
    for detail in error.errors():
        path: Path = tuple(p for p in detail["loc"] if not _is_union_tag(p))
        ctx = detail.get("ctx") or {}
        if detail["type"] == "template":
            problems.append(((*path, *ctx["path"]), ctx["reason"]))
        else:
            problems.append((path, _message(detail, path)))
    return problems


def _is_union_tag(part: str | int) -> bool:
    """Union tags such as `<event>` or `<run-deployment>` name a model, not a place in the file."""
    return isinstance(part, str) and part.startswith("<") and part.endswith(">")


def _message(detail: Mapping[str, Any], path: Path) -> str:
    kind, message = detail["type"], detail["msg"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        close = difflib.get_close_matches(key, _ALL_KEYS, n=1)
        return f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")
    if (
        kind == "action_type"
        and isinstance(detail.get("input"), Mapping)
        and "type" in detail["input"]
    ):
        return f"unknown action type {detail['input']['type']!r}; use one of {', '.join(action_models.ACTION_TYPES)}"
    if kind in ("model_type", "dict_type"):
        return f"expected a table ({{ key = value, … }}), not {type(detail.get('input')).__name__} {detail.get('input')!r}"
    return message.removeprefix("Value error, ")


def _all_keys() -> list[str]:
    models: list[type[BaseModel]] = [AutomationSpec, EventTrigger, CompoundTrigger, SequenceTrigger]
    models += list(action_models.ACTION_TYPES.values())
    return sorted({f.alias or name for m in models for name, f in m.model_fields.items()})


_ALL_KEYS = _all_keys()


def _reference_problems(
    spec: AutomationSpec, automations: Collection[Any], deployments: Collection[str] | None
) -> list[Problem]:
    problems: list[Problem] = []
    for k, action in enumerate(spec.actions):
        where = ("actions", k)
        if isinstance(action, _DEPLOYMENT_ACTIONS):
            if action.deployment is None:
                problems += _inference_problem(spec, where, action.type)
            elif deployments is not None and action.deployment not in deployments:
                problems.append(
                    ((*where, "deployment"), _unknown("deployment", action.deployment, deployments))
                )
        if isinstance(action, _AUTOMATION_ACTIONS) and action.automation not in (
            None,
            *automations,
        ):
            problems.append(
                ((*where, "automation"), _unknown("automation", action.automation, automations))
            )
    if deployments is not None:
        for path, trigger in event_triggers(spec.trigger, ("trigger",)):
            for value in trigger.match.get("deployment", ()):
                if not any(c in value for c in "*?[!") and value not in deployments:
                    problems.append(
                        ((*path, "match", "deployment"), _unknown("deployment", value, deployments))
                    )
    return problems


def _inference_problem(spec: AutomationSpec, where: Path, action: str) -> list[Problem]:
    """A deployment action without a deployment, under a trigger that fires without an event."""
    trigger = spec.trigger
    if not isinstance(trigger, EventTrigger) or trigger.posture != "proactive" or trigger.after:
        return []
    if "deployment" in trigger.for_each:
        return []
    message = (
        f"{action} needs a deployment here: a proactive trigger without `after` fires with no event "
        'to take it from; set deployment = "<name>", or group the trigger with for_each = ["deployment"]'
    )
    return [((*where, "deployment"), message)]


def _unknown(kind: str, name: Any, known: Collection[Any]) -> str:
    names = sorted(str(n) for n in known if n)
    listed = ", ".join(names) if names else "none"
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    table = "[[deployments]]" if kind == "deployment" else "[[automations]]"
    return f"unknown {kind} {name!r} ({kind}s in this project: {listed}); {hint}add a {table} entry with that name or fix it"


def event_triggers(trigger: Trigger, path: Path) -> Iterator[tuple[Path, EventTrigger]]:
    """Every event trigger inside `trigger`, with its path."""
    if isinstance(trigger, EventTrigger):
        yield path, trigger
    elif isinstance(trigger, SequenceTrigger):
        for i, inner in enumerate(trigger.sequence):
            yield from event_triggers(inner, (*path, "sequence", i))
    else:
        key = (
            "all" if trigger.all_ is not None else "any" if trigger.any_ is not None else "triggers"
        )
        for i, inner in enumerate(trigger.children):
            yield from event_triggers(inner, (*path, key, i))


def validate_deployment_triggers(
    deployment: str, triggers: Sequence[Any], known_deployments: Collection[str] | None
) -> tuple[list[AutomationSpec], list[Problem]]:
    """A deployment's `triggers = [...]` as automations that run it; paths lead into the list given.

    Each entry is a trigger table plus `parameters` (templated, for the run),
    and optionally `name` (default `<deployment>-trigger-<n>`), `enabled`,
    `description` and `cooldown`:

        [[deployments]]
        name = "report"
        entrypoint = "examples/report.py:report"
        triggers = [
          { event = "orc.flow-run.Completed", match = { deployment = "nightly-etl" },
            parameters = { upstream_run = "{{ flow_run.id }}" } },
        ]
    """
    raw = [_as_automation(deployment, i, entry) for i, entry in enumerate(triggers)]
    known = None if known_deployments is None else {*known_deployments, deployment}
    specs, problems = validate_automations(raw, known)
    return specs, [(_trigger_path(path), message) for path, message in problems]


def _as_automation(deployment: str, index: int, entry: Any) -> Any:
    if not isinstance(entry, Mapping):
        return entry  # refused by validation, with this entry's path
    trigger = {k: v for k, v in entry.items() if k not in _TRIGGER_KEYS}
    settings = {k: entry[k] for k in _TRIGGER_KEYS if k in entry and k != "parameters"}
    action = {
        "type": "run-deployment",
        "deployment": deployment,
        "parameters": entry.get("parameters", {}),
    }
    return {
        "name": f"{deployment}-trigger-{index + 1}",
        **settings,
        "trigger": trigger,
        "actions": [action],
    }


def _trigger_path(path: Path) -> Path:
    """A path into the automation built from a trigger entry, as a path into the entry itself."""
    index, *rest = path
    if rest[:1] == ["trigger"]:
        return (index, *rest[1:])
    if rest[:3] == ["actions", 0, "parameters"]:
        return (index, "parameters", *rest[3:])
    return (index, *rest[:1]) if rest and rest[0] in _TRIGGER_KEYS else (index,)


def automations_from_deployment_triggers(
    deployment: str, triggers: Sequence[Any]
) -> list[AutomationSpec]:
    """`validate_deployment_triggers` without the deployment-name check; raises ValidationError on a problem."""
    specs, problems = validate_deployment_triggers(deployment, triggers, None)
    if problems:
        details: list[InitErrorDetails] = [
            {
                "type": PydanticCustomError("deployment_trigger", message),
                "loc": path,
                "input": triggers,
            }
            for path, message in problems
        ]
        raise ValidationError.from_exception_data(f"triggers of deployment {deployment!r}", details)
    return specs
