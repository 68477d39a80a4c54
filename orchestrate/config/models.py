"""The shape of `flows.toml` as pydantic models: what the file may say, key by key.

Unknown keys are refused and values are not coerced across TOML types (a
string "3" is not a number), so a typo is an error rather than a surprise.
These models check what can be checked from the text alone; what needs the
disk (entrypoint files, folders) is in `orchestrate.config.checks`, and
merging `[defaults]` into deployments in `orchestrate.config.resolved`.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from orchestrate.core.durations import MAX_DURATION, parse_duration
from orchestrate.schedules import Schedule, zone
from orchestrate.schedules.models import Parameters

CollisionStrategy = Literal["enqueue", "cancel-new", "skip"]
Catchup = Literal["none", "latest", "all"]

#: The largest count (retries, limits, workers) and number of seconds a setting may hold:
#: anything larger is a typo, and would overflow the store's columns or a datetime.
MAX_COUNT = 10_000
MAX_SECONDS = int(MAX_DURATION.total_seconds())

_DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MODULE = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
_ENTRYPOINT = re.compile(r"(?P<file>.+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)")


class Section(BaseModel):
    """A table of `flows.toml`: unknown keys refused, TOML types kept as written."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _check_timezone(value: str | None) -> str | None:
    if value is not None:
        zone(value)
    return value


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            f'"{name}" is not an environment variable name; use letters, digits and _ '
            "(not starting with a digit)"
        )
    return name


class FromEnv(Section):
    """An env value taken from orc's own environment when a run starts; never stored."""

    from_env: Annotated[str, AfterValidator(_check_env_name)] = Field(
        description="The variable to copy from the environment `orc up` runs in."
    )


def _env_text(value: Any) -> Any:
    """Numbers and booleans are written as TOML would print them; the process gets text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _check_env_text(value: str) -> str:
    """A process cannot be given a NUL in its environment: say so here, not as a crash of
    every run of the deployment."""
    if "\0" in value:
        raise ValueError("a NUL character cannot be in an environment variable; remove it")
    return value


def _env_tag(value: Any) -> str | None:
    if isinstance(value, str | int | float):
        return "<text>"
    return "<from_env>" if isinstance(value, dict | FromEnv) else None


EnvValue = Annotated[
    Annotated[str, BeforeValidator(_env_text), AfterValidator(_check_env_text), Tag("<text>")]
    | Annotated[FromEnv, Tag("<from_env>")],
    Discriminator(
        _env_tag,
        custom_error_type="env_value",
        custom_error_message='an env value is text or { from_env = "NAME" }',
    ),
]
EnvName = Annotated[str, AfterValidator(_check_env_name)]


class ThreadRunnerConfig(Section):
    """`{ type = "thread" }`: task runs on a pool of threads in the flow run's process."""

    type: Literal["thread"] = Field("thread", description='"thread".')
    max_workers: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="The most task runs at once; default: by CPUs."
    )

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _set_keys(self, handler(self))


class DaskRunnerConfig(Section):
    """`{ type = "dask" }`: task runs on a Dask cluster (the keys of `DaskTaskRunner`)."""

    type: Literal["dask"] = Field(description='"dask".')
    address: str | None = Field(
        None, description="A running scheduler, tcp://host:8786; default: a cluster per run."
    )
    cluster_class: str | None = Field(
        None,
        description='The cluster to start per run, a dotted path ("dask_jobqueue.SLURMCluster"); '
        "default: distributed.LocalCluster.",
    )
    cluster_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Arguments of that cluster (n_workers, dashboard_address, ...).",
    )
    adapt_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Scale that cluster with the load: cluster.adapt(minimum=, maximum=).",
    )
    client_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Arguments of distributed.Client (timeout, ...)."
    )
    keep_results_over: int | None = Field(
        None,
        ge=0,
        description="Results of at least this many bytes stay on their worker for downstream "
        "task runs; default 1 MiB.",
    )

    @model_validator(mode="after")
    def _one_cluster(self) -> DaskRunnerConfig:
        started = [key for key in _STARTED_CLUSTER_KEYS if getattr(self, key)]
        if self.address and started:
            raise ValueError(
                f"{' and '.join(started)} configure a cluster started for the run, but address "
                "names a running one; keep one of them"
            )
        return self

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _set_keys(self, handler(self))


_STARTED_CLUSTER_KEYS = ("cluster_class", "cluster_kwargs", "adapt_kwargs")

#: Either runner's table.
TaskRunnerConfig = ThreadRunnerConfig | DaskRunnerConfig


def _set_keys(config: Section, dumped: dict[str, Any]) -> dict[str, Any]:
    """Only the keys the table set (and its type): a runner gets its own defaults for the rest."""
    return {
        key: value
        for key, value in dumped.items()
        if key == "type" or key in config.model_fields_set
    }


def _runner_type_tag(value: Any) -> str | None:
    if isinstance(value, ThreadRunnerConfig | DaskRunnerConfig):
        return f"<{value.type}>"
    kind = value.get("type", "thread") if isinstance(value, dict) else None
    return f"<{kind}>" if kind in ("thread", "dask") else None


RunnerTable = Annotated[
    Annotated[ThreadRunnerConfig, Tag("<thread>")] | Annotated[DaskRunnerConfig, Tag("<dask>")],
    Discriminator(
        _runner_type_tag,
        custom_error_type="task_runner_type",
        custom_error_message='task_runner type is "thread" or "dask"',
    ),
]


def _runner_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "<name>"
    return "<table>" if isinstance(value, dict | ThreadRunnerConfig | DaskRunnerConfig) else None


def as_task_runner(value: str | TaskRunnerConfig | None) -> TaskRunnerConfig | None:
    """`"dask"` and `{ type = "dask" }` mean the same runner."""
    if isinstance(value, str):
        model = ThreadRunnerConfig if value == "thread" else DaskRunnerConfig
        return model.model_validate({"type": value})
    return value


TaskRunnerSpec = Annotated[
    Annotated[Literal["thread", "dask"], Tag("<name>")] | Annotated[RunnerTable, Tag("<table>")],
    Discriminator(
        _runner_tag,
        custom_error_type="task_runner",
        custom_error_message='task_runner is "thread", "dask" or a table like { type = "dask", address = "tcp://host:8786" }',
    ),
    AfterValidator(as_task_runner),
]


class DeploymentSettings(Section):
    """The keys a deployment and `[defaults]` share."""

    description: str | None = Field(None, description="Shown in `orc deployments` and the TUI.")
    parameters: Parameters = Field(
        default_factory=dict, description="Arguments of the flow (merged over [defaults] ones)."
    )
    schedules: list[Schedule] = Field(
        default_factory=list,
        description="Each one table with one of cron, interval or rrule.",
    )
    paused: bool = Field(False, description="true: no scheduled runs are created.")
    concurrency_limit: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="The most runs of this deployment at once."
    )
    collision_strategy: CollisionStrategy = Field(
        "enqueue",
        description="A run due while the limit is reached: wait (enqueue), cancel it, or skip it.",
    )
    catchup: Catchup = Field(
        "none",
        description="Slots missed while orc was down: run none, the latest one, or all.",
    )
    retries: int = Field(0, ge=0, le=MAX_COUNT, description="Times a failed flow run is retried.")
    retry_delay_seconds: float = Field(
        0, ge=0, le=MAX_SECONDS, allow_inf_nan=False, description="Seconds between those retries."
    )
    timeout_seconds: float | None = Field(
        None,
        gt=0,
        le=MAX_SECONDS,
        allow_inf_nan=False,
        description="A flow run still running after this is stopped as TimedOut.",
    )
    tags: list[str] = Field(default_factory=list, description="Labels for filters and limits.")
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict,
        description='Environment of the run: text, or { from_env = "NAME" } for secrets.',
    )
    working_dir: str | None = Field(
        None, description="Folder the flow runs in, relative to flows.toml; default: its folder."
    )
    task_runner: TaskRunnerSpec | None = Field(
        None,
        description='"thread", "dask", or a table: { type = "thread", max_workers }, '
        '{ type = "dask", address, cluster_class, cluster_kwargs, adapt_kwargs, client_kwargs, '
        "keep_results_over }.",
    )
    timezone: str | None = Field(
        None, description='IANA timezone of the schedules, e.g. "Europe/Berlin"; default UTC.'
    )
    python: str | None = Field(
        None,
        description='The interpreter runs run under, e.g. "/opt/etl/.venv/bin/python" (relative '
        "to flows.toml, ~ expanded); orc must be installed there. Default: orc's own.",
    )
    venv: str | None = Field(
        None,
        description='A virtualenv folder whose bin/python runs the runs, e.g. "~/venvs/etl" '
        "(instead of python, not with it).",
    )
    preload: list[Annotated[str, Field(pattern=f"^{_MODULE}$")]] = Field(
        default_factory=list,
        description="Modules imported once in the warm process runs are forked from, e.g. "
        '["pandas"]; in [defaults], for the whole project. An edit of one restarts it.',
    )

    _known_timezone = field_validator("timezone")(_check_timezone)


class DefaultsSection(DeploymentSettings):
    """`[defaults]`: values every deployment gets unless it sets its own."""


class DeploymentSpec(DeploymentSettings):
    """One `[[deployments]]` table, as written."""

    name: str = Field(description="Unique; letters, digits, -, _ and .")
    entrypoint: str = Field(
        description='The flow: "path/to/file.py:function", relative to flows.toml.'
    )
    triggers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Run this deployment when events happen: reactive triggers, each with "
        "optional `parameters` templated from the event (shorthand for an automation).",
    )
    run_retention: RunRetention | None = Field(
        None,
        description="How long this deployment's finished runs are kept ([project]'s if unset).",
    )

    @field_validator("name")
    @classmethod
    def _usable_name(cls, value: str) -> str:
        if not _DEPLOYMENT_NAME.fullmatch(value):
            raise ValueError(
                f'"{value}" is not a usable deployment name; use letters, digits, "-", "_" '
                'and ".", starting with a letter or digit'
            )
        return value

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint_shape(cls, value: str) -> str:
        if not _ENTRYPOINT.fullmatch(value):
            raise ValueError(
                f'"{value}" is not of the form PATH.py:FUNCTION; write it like '
                '"examples/etl.py:nightly"'
            )
        return value


def _kept_for(value: Any, what: str, kept: str, examples: str) -> timedelta:
    """A retention: a duration longer than zero, or an error saying what it would keep."""
    delta = value if isinstance(value, timedelta) else parse_duration(value)
    if delta <= timedelta(0):
        shown = json.dumps(value) if isinstance(value, str) else repr(value)
        raise ValueError(
            f"{shown} would keep no {what}; give how long {kept} are kept, e.g. {examples}"
        )
    return delta


def _retention_value(value: Any) -> timedelta:
    return _kept_for(value, "events", "events", '"30d", "12h" or "P7D"')


#: How long events are kept: a duration longer than zero.
Retention = Annotated[
    timedelta,
    BeforeValidator(_retention_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "examples": ["30d", "12h", "P7D"]},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "default": "30d",
            "description": "How long events are kept in the store; older ones are deleted "
            '(on start, then hourly): "30d", "12h", ISO 8601 "P7D", or seconds.',
        }
    ),
]


def _run_retention_value(value: Any) -> timedelta:
    return _kept_for(value, "runs", "finished runs", '"90d", "12h" or "P30D"')


#: How long finished flow runs are kept: a duration longer than zero.
RunRetention = Annotated[
    timedelta,
    BeforeValidator(_run_retention_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "examples": ["90d", "12h", "P30D"]},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": "How long finished flow runs are kept; older ones leave the store "
            "with their task runs, states, edges and logs (on start, then hourly). "
            "Unset: kept for ever.",
        }
    ),
]


class ProjectSection(Section):
    """`[project]`: the project as a whole."""

    name: str | None = Field(None, description="Default: the folder's name.")
    max_concurrent_runs: int = Field(
        4, ge=1, le=MAX_COUNT, description="The most flow runs at once."
    )
    watch: list[str] = Field(
        default_factory=lambda: ["."],
        description="Source folders (relative to flows.toml) whose edits reach the next run.",
    )
    tag_limits: dict[str, Annotated[int, Field(ge=1, le=MAX_COUNT)]] = Field(
        default_factory=dict,
        description="The most runs at once of deployments with a tag, e.g. { etl = 2 }.",
    )
    event_retention: Retention = Field("30d", validate_default=True)
    run_retention: RunRetention | None = None
    secrets: list[EnvName] = Field(
        default_factory=list,
        description="Environment variables whose values are masked as *** in logs, states and "
        "events, besides every { from_env = ... } value.",
    )


class FlowsFile(Section):
    """The whole `flows.toml`."""

    model_config = ConfigDict(title="flows.toml")

    project: ProjectSection = Field(default_factory=lambda: ProjectSection.model_validate({}))
    defaults: DefaultsSection = Field(default_factory=lambda: DefaultsSection.model_validate({}))
    deployments: list[DeploymentSpec] = Field(default_factory=list)
    automations: list[dict[str, Any]] = Field(
        default_factory=list, description="Triggers and the actions they start."
    )


def entrypoint_parts(entrypoint: str) -> tuple[str, str] | None:
    """`("examples/etl.py", "nightly")`, or None if `entrypoint` is not of that shape."""
    match = _ENTRYPOINT.fullmatch(entrypoint)
    return (match["file"], match["function"]) if match else None
