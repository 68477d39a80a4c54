"""`orc validate` (check flows.toml, say what would run) and `orc schema` (its JSON Schema)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from orchestrate.cli.options import JsonOption, ProjectOption
from orchestrate.core.durations import format_duration

if TYPE_CHECKING:
    from orchestrate.config import ConfigIssue, Deployment, ProjectConfig
    from orchestrate.schedules import AnySchedule

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="The file to check (default: flows.toml in the project folder).",
        show_default=False,
    ),
]


StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Treat warnings (like an unset from_env variable, which blocks its deployment) "
        "as errors: exit 2.",
    ),
]


def validate(
    project: ProjectOption = None,
    file: FileOption = None,
    json_output: JsonOption = False,
    strict: StrictOption = False,
) -> None:
    """Check flows.toml: print every error (exit 2), or what would run and when (exit 0)."""
    from orchestrate.cli.render import print_json
    from orchestrate.config import ConfigError, load_config

    path = _config_path(project, file)
    try:
        config = load_config(path)
    except ConfigError as error:
        _refuse(path, error.issues, json_output)
    problems = _interpreter_problems(config)
    if problems:
        _refuse(path, problems, json_output)
    if strict and config.warnings:
        _refuse(path, list(config.warnings), json_output, strict=True)
    now = _now()
    if json_output:
        print_json(_summary_json(config, now))
        return
    for line in _summary_lines(config, now):
        print(line)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _interpreter_problems(config: ProjectConfig) -> list[ConfigIssue]:
    """Each deployment's own interpreter, started once: can it run this orc's workers?"""
    if not any(deployment.python for deployment in config.deployments):
        return []
    from orchestrate.config.interpreters import probe_issues

    return probe_issues(config.source, config.root)


def schema() -> None:
    """Print the JSON Schema of flows.toml, for editors (taplo, Even Better TOML)."""
    from orchestrate.cli.render import print_json
    from orchestrate.config import json_schema

    print_json(json_schema())


def _now() -> datetime:
    """The time "next run" is counted from (replaced in tests)."""
    return datetime.now(UTC)


def _config_path(project: Path | None, file: Path | None) -> Path:
    from orchestrate.cli.exits import BAD_INPUT
    from orchestrate.cli.options import project_folder
    from orchestrate.core.project import CONFIG_FILE

    path = file.expanduser() if file else project_folder(project) / CONFIG_FILE
    if not path.is_file():
        print(
            f"Error: no {path.name} at {path.parent.resolve()}; create one (`orc schema` prints "
            "its JSON Schema for editors), or point at it with --project DIR or --file PATH.",
            file=sys.stderr,
        )
        raise typer.Exit(BAD_INPUT)
    return path


def _refuse(
    path: Path, issues: list[ConfigIssue], json_output: bool, *, strict: bool = False
) -> NoReturn:
    """Report `issues` (errors, or warnings under --strict) and exit 2."""
    from orchestrate.cli.exits import BAD_INPUT
    from orchestrate.cli.render import print_json

    if json_output:
        print_json({"valid": False, "file": str(path), "errors": _dicts(issues)})
    else:
        _print_errors(issues, strict)
    raise typer.Exit(BAD_INPUT)


def _print_errors(issues: list[ConfigIssue], strict: bool) -> None:
    for issue in issues:
        print(f"warning: {issue}" if strict else issue, file=sys.stderr)
    kind = "warning" if strict else "error"
    count = f"{len(issues)} {kind}" + ("" if len(issues) == 1 else "s")
    why = " (--strict treats warnings as errors)" if strict else ""
    print(f"{count}{why}; fix them and run `orc validate` again.", file=sys.stderr)


def _dicts(issues: Any) -> list[dict[str, Any]]:
    return [issue.to_dict() for issue in issues]


def _next_time(deployment: Deployment, schedule: AnySchedule, now: datetime) -> datetime | None:
    """The next run of `schedule`, in its own timezone; None if it will not run."""
    from orchestrate.schedules import next_times, zone

    if deployment.paused or not schedule.active:
        return None
    times = next_times(schedule, now, 1, default_tz=deployment.timezone)
    return times[0].astimezone(zone(deployment.schedule_timezone(schedule))) if times else None


def _shown(moment: datetime) -> str:
    clock = "%H:%M:%S" if moment.second else "%H:%M"
    return moment.strftime(f"%Y-%m-%d {clock} %Z")


def _summary_lines(config: ProjectConfig, now: datetime) -> list[str]:
    count = len(config.deployments)
    lines = [
        f"{config.source.display} is valid: project {json.dumps(config.project.name)}, "
        f"{count} deployment{'' if count == 1 else 's'}, "
        f"at most {config.project.max_concurrent_runs} runs at once, "
        f"events kept {format_duration(config.project.event_retention)}."
    ]
    for deployment in config.deployments:
        lines += ["", *_deployment_lines(deployment, now)]
    return lines


def _deployment_lines(deployment: Deployment, now: datetime) -> list[str]:
    from orchestrate.schedules import describe

    paused = "  (paused: no scheduled runs)" if deployment.paused else ""
    lines = [f"{deployment.name}  {deployment.entrypoint}{paused}"]
    if not deployment.schedules:
        lines.append(f"  no schedule; runs when asked: orc run {deployment.name}")
    for schedule in deployment.schedules:
        text = describe(schedule, deployment.timezone)
        upcoming = _next_time(deployment, schedule, now)
        if not schedule.active:
            lines.append(f"  {text}  (inactive)")
        elif upcoming is None:
            lines.append(f"  {text}" + ("" if deployment.paused else "  (no more runs)"))
        else:
            lines.append(f"  {text}  next {_shown(upcoming)}")
    return lines


def _summary_json(config: ProjectConfig, now: datetime) -> dict[str, Any]:
    project = config.project
    return {
        "valid": True,
        "file": str(config.file),
        "project": {
            "name": project.name,
            "max_concurrent_runs": project.max_concurrent_runs,
            "event_retention": format_duration(project.event_retention),
            "watch": [str(folder) for folder in project.watch],
            "tag_limits": dict(project.tag_limits),
        },
        "timezone": config.timezone,
        "deployments": [_deployment_json(d, now) for d in config.deployments],
        "warnings": _dicts(config.warnings),
    }


def _deployment_json(deployment: Deployment, now: datetime) -> dict[str, Any]:
    settings = deployment.to_dict()
    for info, entry in zip(deployment.schedule_infos(), settings["schedules"], strict=True):
        upcoming = _next_time(deployment, deployment.schedules[int(info.id)], now)
        entry.update(
            id=info.id,
            text=info.text,
            timezone=info.timezone,
            next=upcoming.isoformat() if upcoming else None,
        )
    return {**settings, "fingerprint": deployment.fingerprint()}
