"""The configuration as the daemon uses it: `[defaults]` merged into each deployment.

A `Deployment` holds every setting with its final value, so the daemon never
looks at `[defaults]` again. Its `fingerprint()` is a hash of those values:
two loads of an edited file diff into added, changed and removed deployments
by comparing fingerprints (`diff_deployments`). Secrets named by
`{ from_env = "NAME" }` are read only when `environment()` is called, and are
never part of a fingerprint, a dict or a repr.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrate.config import interpreters
from orchestrate.config.issues import (
    ConfigIssue,
    Severity,
    SourceFile,
    issues_from_validation_error,
)
from orchestrate.config.models import (
    Catchup,
    CollisionStrategy,
    DefaultsSection,
    DeploymentSpec,
    FlowsFile,
    FromEnv,
    TaskRunnerConfig,
    as_task_runner,
)
from orchestrate.schedules import AnySchedule, describe, schedule_timezone

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from orchestrate.client.protocol import ScheduleInfo

DEFAULT_TIMEZONE = "UTC"
#: Tables a deployment merges key by key over `[defaults]`; every other key replaces.
MERGED_TABLES = ("parameters", "env")


@dataclass(frozen=True)
class Deployment:
    """One deployment with every setting resolved. Schedule ids are "0", "1", … in file order."""

    name: str
    entrypoint: str  # "path.py:function", relative to the project root
    description: str | None
    parameters: Mapping[str, Any]
    schedules: tuple[AnySchedule, ...]
    paused: bool
    concurrency_limit: int | None
    collision_strategy: CollisionStrategy
    catchup: Catchup
    retries: int
    retry_delay_seconds: float
    timeout_seconds: float | None
    tags: tuple[str, ...]
    env: Mapping[str, str | FromEnv]
    working_dir: Path  # absolute; the project root unless the file names another folder
    task_runner: TaskRunnerConfig | None
    timezone: str  # for schedules that name none
    run_retention: timedelta | None = None  # overrides [project] run_retention
    preload: tuple[str, ...] = ()  # imported by the zygote its runs are forked from
    python: str | None = None  # the interpreter of its workers (`python` or `venv`); None: orc's

    @property
    def schedule_ids(self) -> tuple[str, ...]:
        return tuple(str(index) for index in range(len(self.schedules)))

    def schedule(self, schedule_id: str) -> AnySchedule | None:
        """The schedule with this id (its index in the file, as text), or None."""
        index = int(schedule_id) if schedule_id.isdigit() else -1
        return self.schedules[index] if 0 <= index < len(self.schedules) else None

    def schedule_timezone(self, schedule: AnySchedule) -> str:
        return schedule_timezone(schedule, self.timezone)

    def run_parameters(self, schedule_id: str | None = None) -> dict[str, Any]:
        """The parameters of a run: the deployment's, with the schedule's overrides on top."""
        schedule = self.schedule(schedule_id) if schedule_id is not None else None
        return {**self.parameters, **(schedule.parameters if schedule else {})}

    def environment(self, environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        """The run's extra environment, and the `from_env` names missing from `environ`."""
        values: dict[str, str] = {}
        missing: list[str] = []
        for key, value in self.env.items():
            if isinstance(value, str):
                values[key] = value
            elif value.from_env in environ:
                values[key] = environ[value.from_env]
            else:
                missing.append(value.from_env)
        return values, missing

    def blocked_reason(self, environ: Mapping[str, str]) -> str | None:
        """Why no run of this deployment can start in `environ` (a `from_env` name unset), or None.

        A reason no retry can fix: the run ends Failed with it, and `orc run` is refused.
        """
        _, missing = self.environment(environ)
        if not missing:
            return None
        names = " and ".join(missing)
        verb = "is" if len(missing) == 1 else "are"
        return (
            f"deployment {json.dumps(self.name)} needs {names} from the environment (env "
            f"{{ from_env = ... }} in flows.toml), which {verb} not set where `orc up` runs; "
            "set it there and restart `orc up`"
        )

    def schedule_infos(self) -> list[ScheduleInfo]:
        """The schedules as the wire contract shows them (words, timezone, active)."""
        from orchestrate.client.protocol import ScheduleInfo

        return [
            ScheduleInfo(
                id=schedule_id,
                kind=schedule.kind,
                text=describe(schedule, self.timezone),
                timezone=self.schedule_timezone(schedule),
                active=schedule.active,
            )
            for schedule_id, schedule in zip(self.schedule_ids, self.schedules, strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        """Every setting as JSON-ready values; `from_env` stays a name, never a value."""
        return {
            "name": self.name,
            "entrypoint": self.entrypoint,
            "description": self.description,
            "parameters": dict(self.parameters),
            "schedules": [_schedule_dict(schedule) for schedule in self.schedules],
            "paused": self.paused,
            "concurrency_limit": self.concurrency_limit,
            "collision_strategy": self.collision_strategy,
            "catchup": self.catchup,
            "retries": self.retries,
            "retry_delay_seconds": self.retry_delay_seconds,
            "timeout_seconds": self.timeout_seconds,
            "tags": list(self.tags),
            "env": {key: _env_dict(value) for key, value in self.env.items()},
            "working_dir": str(self.working_dir),
            "task_runner": self.task_runner.model_dump() if self.task_runner else None,
            "timezone": self.timezone,
            **({"preload": list(self.preload)} if self.preload else {}),
            **({"python": self.python} if self.python else {}),
        }

    def fingerprint(self) -> str:
        """A hash of every resolved setting: equal across loads exactly when nothing changed."""
        return _digest(self.to_dict())

    def schedule_fingerprint(self, schedule_id: str) -> str | None:
        """A hash of one schedule and the timezone it runs in, to regenerate only what changed."""
        schedule = self.schedule(schedule_id)
        if schedule is None:
            return None
        return _digest([_schedule_dict(schedule), self.schedule_timezone(schedule)])


def _schedule_dict(schedule: AnySchedule) -> dict[str, Any]:
    return {"kind": schedule.kind, **schedule.model_dump(mode="json")}


def _env_dict(value: str | FromEnv) -> str | dict[str, str]:
    return value if isinstance(value, str) else {"from_env": value.from_env}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ProjectSettings:
    """`[project]` with its defaults filled in."""

    name: str  # the root folder's name unless the file names one
    max_concurrent_runs: int
    watch: tuple[Path, ...]  # absolute folders
    tag_limits: Mapping[str, int]  # tag -> the most runs at once with that tag
    event_retention: timedelta = timedelta(days=30)  # older events leave the store
    run_retention: timedelta | None = None  # older finished runs leave the store; None: kept
    secrets: tuple[str, ...] = ()  # variables whose values are masked, besides from_env ones


@dataclass(frozen=True)
class ProjectConfig:
    """A loaded, valid `flows.toml`."""

    root: Path
    file: Path
    project: ProjectSettings
    timezone: str  # [defaults] timezone, or UTC
    deployments: tuple[Deployment, ...]
    #: `[[automations]]` tables as written; validate them with `issues_from(...)`.
    raw_automations: list[dict[str, Any]]
    #: `[[automations]]` and deployment `triggers`, validated (`AutomationSpec`s)
    automations: tuple[Any, ...] = ()
    warnings: tuple[ConfigIssue, ...] = ()
    source: SourceFile = field(default_factory=lambda: SourceFile("", "flows.toml"), repr=False)

    @cached_property
    def _by_name(self) -> dict[str, Deployment]:
        return {deployment.name: deployment for deployment in self.deployments}

    @property
    def deployment_names(self) -> list[str]:
        return [deployment.name for deployment in self.deployments]

    def deployment(self, name: str) -> Deployment | None:
        return self._by_name.get(name)

    def secret_values(self, environ: Mapping[str, str]) -> list[str]:
        """The values to mask: every `from_env` variable and `[project] secrets` name set."""
        names = set(self.project.secrets)
        for deployment in self.deployments:
            names.update(v.from_env for v in deployment.env.values() if not isinstance(v, str))
        return [environ[name] for name in sorted(names) if environ.get(name)]

    def fingerprints(self) -> dict[str, str]:
        return {deployment.name: deployment.fingerprint() for deployment in self.deployments}

    def issue_at(
        self,
        path: Sequence[str | int],
        message: str,
        *,
        severity: Severity = "error",
        at_key: bool = False,
    ) -> ConfigIssue:
        """An issue located in this file, e.g. at `("automations", 0, "trigger", "within")`."""
        return self.source.issue(path, message, severity=severity, at_key=at_key)

    def issues_from(
        self, error: ValidationError, model: type[BaseModel], prefix: Sequence[str | int]
    ) -> list[ConfigIssue]:
        """Issues from validating the part of this file at `prefix` with `model`."""
        return issues_from_validation_error(error, model, self.source, tuple(prefix))


@dataclass(frozen=True)
class DeploymentDiff:
    """What an edit of `flows.toml` did to the deployments, by name."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def diff_deployments(old: ProjectConfig | None, new: ProjectConfig) -> DeploymentDiff:
    """Added, changed (different fingerprint) and removed deployments from `old` to `new`."""
    before = old.fingerprints() if old else {}
    after = new.fingerprints()
    return DeploymentDiff(
        added=tuple(name for name in after if name not in before),
        changed=tuple(name for name in after if name in before and before[name] != after[name]),
        removed=tuple(name for name in before if name not in after),
    )


def resolve(
    spec: FlowsFile, root: Path, file: Path, source: SourceFile, warnings: Sequence[ConfigIssue]
) -> ProjectConfig:
    """The `ProjectConfig` of a validated file."""
    timezone = spec.defaults.timezone or DEFAULT_TIMEZONE
    return ProjectConfig(
        root=root,
        file=file,
        project=ProjectSettings(
            name=spec.project.name or root.name,
            max_concurrent_runs=spec.project.max_concurrent_runs,
            watch=tuple((root / folder).resolve() for folder in spec.project.watch),
            tag_limits=spec.project.tag_limits,
            event_retention=spec.project.event_retention,
            run_retention=spec.project.run_retention,
            secrets=tuple(spec.project.secrets),
        ),
        timezone=timezone,
        deployments=tuple(_deployment(spec.defaults, table, root) for table in spec.deployments),
        raw_automations=list(spec.automations),
        warnings=tuple(warnings),
        source=source,
    )


def _deployment(defaults: DefaultsSection, spec: DeploymentSpec, root: Path) -> Deployment:
    values = {key: getattr(defaults, key) for key in defaults.model_fields_set}
    if spec.model_fields_set & set(interpreters.KEYS):  # one setting written two ways
        for key in interpreters.KEYS:
            values.pop(key, None)
    for key in spec.model_fields_set:
        value = getattr(spec, key)
        if key in MERGED_TABLES and key in values:
            value = {**values[key], **value}
        values[key] = value
    merged = spec.model_copy(update=values)
    return Deployment(
        name=merged.name,
        entrypoint=merged.entrypoint,
        description=merged.description,
        parameters=merged.parameters,
        schedules=tuple(merged.schedules),
        paused=merged.paused,
        concurrency_limit=merged.concurrency_limit,
        collision_strategy=merged.collision_strategy,
        catchup=merged.catchup,
        retries=merged.retries,
        retry_delay_seconds=merged.retry_delay_seconds,
        timeout_seconds=merged.timeout_seconds,
        tags=tuple(merged.tags),
        env=merged.env,
        working_dir=(root / merged.working_dir).resolve() if merged.working_dir else root,
        task_runner=as_task_runner(merged.task_runner),
        timezone=merged.timezone or DEFAULT_TIMEZONE,
        run_retention=spec.run_retention,
        preload=tuple(merged.preload),
        python=interpreters.interpreter(merged.python, merged.venv, root),
    )
