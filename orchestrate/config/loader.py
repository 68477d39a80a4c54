"""Reading `flows.toml`: TOML, then the models, then the disk; every problem reported at once.

The daemon reloads on every edit, so the path of a valid file is kept short:
no source map is built unless there is something to report, and entrypoint
files are parsed once per modification.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrate.config.checks import disk_issues
from orchestrate.config.issues import (
    ConfigError,
    ConfigIssue,
    SourceFile,
    issues_from_validation_error,
    toml_value,
)
from orchestrate.config.models import FlowsFile
from orchestrate.config.parameters import parameter_issues
from orchestrate.config.reading import decode, parse_toml
from orchestrate.config.resolved import ProjectConfig, resolve


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> ProjectConfig:
    """Load and check the `flows.toml` at `path`; its folder is the project root.

    Whatever the file holds, the only exception is a `ConfigError`: the daemon
    reloads on every save and must survive any of them.

    Args:
        path: the file.
        environ: where `{ from_env = ... }` names are looked up for warnings;
            the process environment by default.

    Raises:
        ConfigError: listing every error, each with file:line:column and field path.
    """
    display = display_name(path)
    try:
        return _loaded(path, environ, display)
    except ConfigError:
        raise
    except Exception as exc:
        raise _bug(display, exc) from exc


def parse_config(
    text: str,
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    display: str | None = None,
) -> ProjectConfig:
    """Check `text` as the contents of the `flows.toml` at `path` (which need not exist)."""
    display = display or display_name(path)
    try:
        return _checked(SourceFile(text, display), path, os.environ if environ is None else environ)
    except ConfigError:
        raise
    except Exception as exc:
        raise _bug(display, exc) from exc


def _loaded(path: Path, environ: Mapping[str, str] | None, display: str) -> ProjectConfig:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(display, 1, 1, "", _unreadable(exc))]) from exc
    return parse_config(decode(raw, display), path, environ=environ, display=display)


def _checked(source: SourceFile, path: Path, environ: Mapping[str, str]) -> ProjectConfig:
    # The folder the file is in, not a link's target's: a flows.toml linked from a file kept
    # elsewhere still names the project's own files, as the project's folder sees them.
    root = path.absolute().parent.resolve()
    data = parse_toml(source)
    issues = disk_issues(data, root, source, environ)
    spec: FlowsFile | None = None
    try:
        spec = FlowsFile.model_validate(data)
    except ValidationError as exc:
        issues += issues_from_validation_error(exc, FlowsFile, source)
    automations: list[Any] = []
    if spec is not None:
        automations, found = _automations(spec, source)
        issues += found
        issues += parameter_issues(spec, root, source)
    errors = sorted((i for i in issues if i.severity == "error"), key=_place)
    if errors or spec is None:
        raise ConfigError(errors)
    warnings = sorted(issues, key=_place)
    config = resolve(spec, root, root / path.name, source, warnings)
    return dataclasses.replace(config, automations=tuple(automations))


def _bug(display: str, exc: Exception) -> ConfigError:
    """The last line of defence: any other exception becomes a `ConfigError` naming the file."""
    reason = f"{type(exc).__name__}: {str(exc)[:200]}".rstrip(": ")
    message = (
        f"could not be checked ({reason}); this is a bug in orc, please report it "
        "with the file. The last good configuration stays in use"
    )
    return ConfigError([ConfigIssue(display, 1, 1, "", message)])


def _unreadable(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "cannot be read: it is a folder; flows.toml must be a file"
    return f"cannot be read: {exc.strerror or exc}"


def _automations(spec: FlowsFile, source: SourceFile) -> tuple[list[Any], list[ConfigIssue]]:
    """`[[automations]]` and every deployment's `triggers`, checked against the deployments."""
    from orchestrate.automations import validate_automations, validate_deployment_triggers

    names = {d.name for d in spec.deployments}
    kept, issues = _text_keys(spec.automations, source)
    automations, problems = validate_automations([item for _, item in kept], names)
    issues += [
        source.issue(("automations", kept[int(where[0])][0], *where[1:]), message)
        for where, message in problems
    ]
    for index, deployment in enumerate(spec.deployments):
        if deployment.triggers:
            more, problems = validate_deployment_triggers(
                deployment.name, deployment.triggers, names
            )
            automations += more
            issues += [
                source.issue(("deployments", index, "triggers", *where), message)
                for where, message in problems
            ]
    seen: set[str] = set()
    for index, automation in enumerate(automations):
        if automation.name in seen and index < len(spec.automations):
            issues.append(
                source.issue(
                    ("automations", index, "name"),
                    f'"{automation.name}" names two automations; names must be unique',
                )
            )
        seen.add(automation.name)
    return automations, issues


def _text_keys(
    raw: list[dict[str, Any]], source: SourceFile
) -> tuple[list[tuple[int, Any]], list[ConfigIssue]]:
    """Automations whose `name` and action `type`s are not arrays or tables, with their index.

    Those two are looked up by value, so an array or a table there cannot be
    validated at all; such an automation is reported here, and checked fully
    once they are fixed.
    """
    kept: list[tuple[int, Any]] = []
    issues: list[ConfigIssue] = []
    for index, item in enumerate(raw):
        actions = item.get("actions") if isinstance(item, dict) else None
        places = [
            ("name",),
            *(
                ("actions", number, "type")
                for number in range(len(actions) if isinstance(actions, list) else 0)
            ),
        ]
        found = [
            source.issue(
                ("automations", index, *place), f"expected text in quotes, not {toml_value(value)}"
            )
            for place in places
            if isinstance(value := _at(item, place), list | dict)
        ]
        if found:
            issues += found
        else:
            kept.append((index, item))
    return kept, issues


def _at(table: Any, place: tuple[str | int, ...]) -> Any:
    for part in place:
        if isinstance(table, dict) and isinstance(part, str):
            table = table.get(part)
        elif isinstance(table, list) and isinstance(part, int) and part < len(table):
            table = table[part]
        else:
            return None
    return table


def _place(issue: ConfigIssue) -> tuple[int, int]:
    return issue.line, issue.column


def display_name(path: Path) -> str:
    """`path` as messages show it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return str(path)
