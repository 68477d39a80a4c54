"""Parameters in `flows.toml` checked against each flow's signature, before any run exists.

A deployment's `parameters` (with `[defaults]` ones), each schedule's, and
those of `run-deployment` actions (in `[[automations]]` and in deployment
`triggers`) must fit the flow they reach: names it takes (any, with
`**kwargs`), values of the types it annotates, and for what a schedule or an
action starts, every parameter without a default. A run that could never
validate is refused in the file, where it can be fixed, not at 2 a.m.
Templated values (`"{{ event.id }}"`) exist only when the event comes, so
only their names are checked here; their values are checked when the action fires.

Signatures are read with `ast` (`orchestrate.config.signature`): user code is
never imported, and a flow whose signature cannot be read is not checked.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.config.issues import ConfigIssue, SourceFile
from orchestrate.config.locate import FieldPath
from orchestrate.config.models import FlowsFile, entrypoint_parts
from orchestrate.config.resolved import Deployment
from orchestrate.config.signature import (
    FlowSignature,
    ParameterProblem,
    flow_signature,
    parameter_problems,
)


@dataclass(frozen=True)
class _Target:
    """A deployment as a run of it sees its parameters: merged, each with where it was written."""

    name: str
    entrypoint: str
    signature: FlowSignature
    parameters: Mapping[str, Any]
    origins: Mapping[str, FieldPath]

    def takes(self, parameter: str) -> str:
        """`days: int = 1` as the source writes it, or every parameter for a name it lacks."""
        return self.signature.written.get(parameter) or self.signature.describe()


def parameter_issues(spec: FlowsFile, root: Path, source: SourceFile) -> list[ConfigIssue]:
    """Every parameter in the validated file `spec` that its flow would refuse, located in `source`.

    Args:
        spec: the file, validated by the models.
        root: the project folder (entrypoints are relative to it).
        source: the text, for line and column.
    """
    targets = {target.name: target for target in _targets(spec, root)}
    issues: list[ConfigIssue] = []
    for index, deployment in enumerate(spec.deployments):
        target = targets.get(deployment.name)
        if target is not None:
            issues += _deployment_issues(target, index, source)
            for number, schedule in enumerate(deployment.schedules):
                where: FieldPath = ("deployments", index, "schedules", number)
                issues += _run_issues(target, dict(schedule.parameters), where, source, "schedule")
            for number, trigger in enumerate(deployment.triggers):
                values = trigger.get("parameters", {})
                where = ("deployments", index, "triggers", number)
                issues += _action_issues(target, values, where, source)
    for where, name, values in _run_deployment_actions(spec.automations):
        target = targets.get(name)
        if target is not None:
            issues += _action_issues(target, values, where, source)
    return issues


def run_parameter_problems(
    deployment: Deployment, root: Path, parameters: Mapping[str, Any]
) -> list[str]:
    """Why a run of `deployment` with `parameters` over its own would be refused, one sentence each.

    The same checks and words as `orc validate`, for values known only when a run
    is asked for: an automation's rendered templates, `orc run -p`. Empty when
    the run would validate, or when the flow's signature cannot be read.

    Args:
        deployment: from the loaded config.
        root: the project folder (`ProjectConfig.root`).
        parameters: the values given for this run, merged over the deployment's.
    """
    parts = entrypoint_parts(deployment.entrypoint)
    signature = flow_signature(root / parts[0], parts[1]) if parts else None
    if signature is None:
        return []
    values = {**deployment.parameters, **parameters}
    target = _Target(deployment.name, deployment.entrypoint, signature, values, {})
    problems = parameter_problems(signature, values, present=values.keys())
    return [_run_message(target, problem) for problem in problems]


def _run_message(target: _Target, problem: ParameterProblem) -> str:
    if problem.kind == "unknown":
        return _message(target, problem, False)
    if problem.kind == "type":
        return f"parameter {json.dumps(problem.name)}: {_message(target, problem, False)}"
    return (
        f"parameter {json.dumps(problem.name)} has no value (flow {target.entrypoint} takes "
        f"{target.takes(problem.name)}, with no default); give it for this run or in the "
        "deployment's parameters in flows.toml"
    )


def _targets(spec: FlowsFile, root: Path) -> Iterator[_Target]:
    defaults = spec.defaults.parameters
    for index, deployment in enumerate(spec.deployments):
        parts = entrypoint_parts(deployment.entrypoint)
        signature = flow_signature(root / parts[0], parts[1]) if parts else None
        if signature is None:
            continue  # a file that is missing or unreadable is reported by the disk checks
        origins: dict[str, FieldPath] = {
            name: ("defaults", "parameters", name) for name in defaults
        }
        origins |= {
            name: ("deployments", index, "parameters", name) for name in deployment.parameters
        }
        parameters = {**defaults, **deployment.parameters}
        yield _Target(deployment.name, deployment.entrypoint, signature, parameters, origins)


def _deployment_issues(target: _Target, index: int, source: SourceFile) -> list[ConfigIssue]:
    """The deployment's own values (and the `[defaults]` ones it takes): names and types."""
    issues = []
    for problem in _problems(target.signature, target.parameters):
        path = target.origins[problem.name]
        from_defaults = path[0] == "defaults"
        message = _message(target, problem, from_defaults)
        issues.append(source.issue(path, message, at_key=problem.kind == "unknown"))
    return issues


def _run_issues(
    target: _Target,
    values: Mapping[str, Any],
    where: FieldPath,
    source: SourceFile,
    what: str,
    templated: Collection[str] = (),
) -> list[ConfigIssue]:
    """Values a schedule or action adds, and required parameters its runs would still lack."""
    issues = []
    present = {*target.parameters, *values, *templated}
    for problem in _problems(target.signature, values, present=present):
        if problem.kind == "missing":
            issues.append(source.issue(where, _missing(target, problem.name, what)))
        else:
            path = (*where, "parameters", problem.name)
            message = _message(target, problem, False)
            issues.append(source.issue(path, message, at_key=problem.kind == "unknown"))
    return issues


def _action_issues(
    target: _Target, values: Any, where: FieldPath, source: SourceFile
) -> list[ConfigIssue]:
    """A run-deployment action: names, literal values, and required ones it would lack."""
    if not isinstance(values, dict):
        return []  # reported by the automation checks
    literal = {name: value for name, value in values.items() if not _templated(value)}
    templated = {name: None for name in values if name not in literal}
    issues = _run_issues(target, literal, where, source, "action", templated)
    for problem in _problems(target.signature, templated, check_types=False):
        path = (*where, "parameters", problem.name)
        issues.append(source.issue(path, _message(target, problem, False), at_key=True))
    return issues


def _problems(
    signature: FlowSignature,
    values: Mapping[str, Any],
    *,
    present: Collection[str] | None = None,
    check_types: bool = True,
) -> list[ParameterProblem]:
    found = parameter_problems(signature, dict(values), present=present)
    return [problem for problem in found if check_types or problem.kind != "type"]


def _message(target: _Target, problem: ParameterProblem, from_defaults: bool) -> str:
    flow = f"flow {target.entrypoint}"
    if from_defaults:
        flow = f"deployment {json.dumps(target.name)} runs {flow}, which"
    where = f"{flow} takes {target.takes(problem.name)}"
    if problem.kind == "unknown":
        return f"{problem.message}; {where}. Fix the name or remove it"
    return f"{problem.message} ({where})"


def _missing(target: _Target, name: str, what: str) -> str:
    starts = "runs from this schedule" if what == "schedule" else "the run this action starts"
    return (
        f"{starts} would have no value for {json.dumps(name)} (flow {target.entrypoint} takes "
        f"{target.takes(name)}, with no default); add {name} to the {what}'s parameters or the deployment's"
    )


def _templated(value: Any) -> bool:
    """Whether `value` holds a `{{ placeholder }}` anywhere: known only when the event comes."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(_templated(item) for item in value.values())
    if isinstance(value, list):
        return any(_templated(item) for item in value)
    return False


def _run_deployment_actions(
    automations: list[dict[str, Any]],
) -> Iterator[tuple[FieldPath, str, Any]]:
    """`(path of the action, deployment, parameters)` of each run-deployment action naming one."""
    for index, automation in enumerate(automations):
        actions = automation.get("actions") if isinstance(automation, dict) else None
        for number, action in enumerate(actions if isinstance(actions, list) else []):
            if not isinstance(action, dict) or action.get("type") != "run-deployment":
                continue
            name = action.get("deployment")
            if isinstance(name, str):  # none: the event's deployment, known only when it fires
                yield ("automations", index, "actions", number), name, action.get("parameters", {})
