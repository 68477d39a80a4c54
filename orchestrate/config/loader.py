"""Reading `flows.toml`: TOML, then the models, then the disk; every problem reported at once.

The daemon reloads on every edit, so the path of a valid file is kept short:
no source map is built unless there is something to report, and entrypoint
files are parsed once per modification.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrate.config.checks import disk_issues
from orchestrate.config.issues import ConfigIssue, SourceFile, issues_from_validation_error
from orchestrate.config.models import FlowsFile
from orchestrate.config.resolved import ProjectConfig, resolve
from orchestrate.errors import ConfigError

_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> ProjectConfig:
    """Load and check the `flows.toml` at `path`; its folder is the project root.

    Args:
        path: the file.
        environ: where `{ from_env = ... }` names are looked up for warnings;
            the process environment by default.

    Raises:
        ConfigError: listing every error, each with file:line:column and field path.
    """
    display = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([ConfigIssue(display, 1, 1, "", f"cannot be read: {reason}")]) from exc
    return parse_config(text, path, environ=environ, display=display)


def parse_config(
    text: str,
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    display: str | None = None,
) -> ProjectConfig:
    """Check `text` as the contents of the `flows.toml` at `path` (which need not exist)."""
    source = SourceFile(text, display or display_name(path))
    root = path.resolve().parent
    data = _parse_toml(source)
    issues = disk_issues(data, root, source, os.environ if environ is None else environ)
    spec: FlowsFile | None = None
    try:
        spec = FlowsFile.model_validate(data)
    except ValidationError as exc:
        issues += issues_from_validation_error(exc, FlowsFile, source)
    automations: list[Any] = []
    if spec is not None:
        automations, found = _automations(spec, source)
        issues += found
    errors = sorted((i for i in issues if i.severity == "error"), key=_place)
    if errors or spec is None:
        raise ConfigError(errors)
    warnings = sorted(issues, key=_place)
    config = resolve(spec, root, path.resolve(), source, warnings)
    return dataclasses.replace(config, automations=tuple(automations))


def _automations(spec: FlowsFile, source: SourceFile) -> tuple[list[Any], list[ConfigIssue]]:
    """`[[automations]]` and every deployment's `triggers`, checked against the deployments."""
    from orchestrate.automations import validate_automations, validate_deployment_triggers

    names = {d.name for d in spec.deployments}
    automations, problems = validate_automations(spec.automations, names)
    issues = [source.issue(("automations", *where), message) for where, message in problems]
    for index, deployment in enumerate(spec.deployments):
        if deployment.triggers:
            more, problems = validate_deployment_triggers(deployment.name, deployment.triggers, names)
            automations += more
            issues += [source.issue(("deployments", index, "triggers", *where), message)
                       for where, message in problems]  # fmt: skip
    seen: set[str] = set()
    for index, automation in enumerate(automations):
        if automation.name in seen and index < len(spec.automations):
            issues.append(source.issue(("automations", index, "name"),
                                       f'"{automation.name}" names two automations; names must be unique'))  # fmt: skip
        seen.add(automation.name)
    return automations, issues


def _parse_toml(source: SourceFile) -> dict[str, Any]:
    try:
        return tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.search(message)
        if where:
            line, column = int(where[1]), int(where[2])
        else:  # "(at end of document)"
            lines = source.text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        reason = re.sub(r"\s*\(at [^)]*\)$", "", message)
        issue = ConfigIssue(source.display, line, column, "", f"not valid TOML: {reason}")
        raise ConfigError([issue]) from exc


def _place(issue: ConfigIssue) -> tuple[int, int]:
    return issue.line, issue.column


def display_name(path: Path) -> str:
    """`path` as messages show it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
