"""What the engine runs: the options of a flow or a task, and the face they show it.

`@flow` and `@task` (the public `Flow` and `Task`) build these; the engine
reads them through `FlowDefinition` and `TaskDefinition` and never imports the
public modules, so the dependency points one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import Any, Protocol

from orchestrate.engine.caching import CachePolicy
from orchestrate.engine.results import check_serializer, storage_folder
from orchestrate.engine.retries import RetryDelay
from orchestrate.engine.runners import TaskRunner, ThreadPoolTaskRunner

Hook = Callable[..., Any]

_FLOW_HOOKS = ("on_completion", "on_failure", "on_cancellation", "on_crashed", "on_running")
_TASK_HOOKS = ("on_completion", "on_failure", "on_running", "on_commit", "on_rollback")
_MAX_RETRY_DELAYS = 50


def _hooks(kind: str, option: str, hooks: Any) -> tuple[Hook, ...]:
    """Hooks as a tuple, refused at decoration (as Prefect does) unless a list of callables."""
    if hooks is None:
        return ()
    example = f"Please provide a list of hooks to '{option}':\n\n@{kind}({option}=[hook1, hook2])\ndef my_{kind}():\n\tpass"
    try:
        listed = tuple(hooks)
    except TypeError:
        raise TypeError(
            f"Expected iterable for '{option}'; got {type(hooks).__name__} instead. {example}"
        ) from None
    for hook in listed:
        if not callable(hook):
            raise TypeError(
                f"Expected callables in '{option}'; got {type(hook).__name__} instead. {example}"
            )
    return listed


def _check_run_name(option: str, value: Any) -> None:
    if value is not None and not isinstance(value, str) and not callable(value):
        raise TypeError(
            f"Expected string or callable for '{option}'; got {type(value).__name__} instead."
        )


def _timeout(owner: str, seconds: float | None) -> float | None:
    """Seconds as a float; 0 or None means no timeout (so `with_options(timeout_seconds=0)` unsets it)."""
    if not seconds:
        return None
    if seconds < 0:
        raise ValueError(f"{owner}: timeout_seconds must be positive, or 0 for no timeout.")
    return float(seconds)


def _check_results(owner: str, options: FlowOptions | TaskOptions) -> None:
    """Prefect's result options, refused when decorated if they cannot work here."""
    folder = storage_folder(owner, options.result_storage)
    object.__setattr__(options, "result_storage", folder)
    check_serializer(owner, options.result_serializer)


def _check_retry_delay(owner: str, delay: Any, retries: int) -> None:
    if callable(delay):
        delay = delay(retries)
    if delay is None or isinstance(delay, int | float):
        return
    if not isinstance(delay, list | tuple):
        raise TypeError(
            "Invalid `retry_delay_seconds` provided; must be an int, float, list or callable. "
            f"{owner} got {type(delay).__name__}."
        )
    if len(delay) > _MAX_RETRY_DELAYS:
        raise ValueError(
            f"Can not configure more than {_MAX_RETRY_DELAYS} retry delays per task "
            f"({owner} has {len(delay)}); give fewer delays, the last one repeats."
        )


@dataclass(frozen=True, slots=True)
class FlowOptions:
    """Everything `@flow(...)` accepts, in one place (Prefect's names and meanings)."""

    name: str
    description: str | None = None
    version: str | None = None
    retries: int = 0
    retry_delay_seconds: RetryDelay | None = None
    timeout_seconds: float | None = None
    validate_parameters: bool = True
    log_prints: bool | None = None
    flow_run_name: str | Callable[[], str] | None = None
    task_runner: TaskRunner = field(default_factory=ThreadPoolTaskRunner)
    persist_result: bool | None = None
    #: A folder: given as a path or an object with a `basepath`; tasks inherit it.
    result_storage: Any = None
    #: A name in `SERIALIZERS` or an object with `dumps` and `loads`; tasks inherit it.
    result_serializer: Any = None
    #: False: the result is read back from storage when asked for, not held by the state.
    cache_result_in_memory: bool = True
    on_completion: tuple[Hook, ...] = ()
    on_failure: tuple[Hook, ...] = ()
    on_cancellation: tuple[Hook, ...] = ()
    on_crashed: tuple[Hook, ...] = ()
    on_running: tuple[Hook, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            hint = " Perhaps you meant to call it? e.g. '@flow(name=get_flow_name())'"
            raise TypeError(
                f"Expected string for flow parameter 'name'; got {type(self.name).__name__} "
                f"instead.{hint if callable(self.name) else ''}"
            )
        owner = f"Flow {self.name!r}"
        for option in _FLOW_HOOKS:
            object.__setattr__(self, option, _hooks("flow", option, getattr(self, option)))
        _check_run_name("flow_run_name", self.flow_run_name)
        object.__setattr__(self, "timeout_seconds", _timeout(owner, self.timeout_seconds))
        if self.retries < 0:
            raise ValueError(f"{owner}: retries must be 0 or more, not {self.retries}.")
        _check_results(owner, self)


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """Everything `@task(...)` accepts, in one place (Prefect's names and meanings)."""

    name: str
    description: str | None = None
    tags: frozenset[str] = frozenset()
    version: str | None = None
    retries: int = 0
    retry_delay_seconds: RetryDelay | None = None
    retry_jitter_factor: float | None = None
    retry_condition_fn: Callable[..., bool] | None = None
    timeout_seconds: float | None = None
    cache_policy: CachePolicy | None = None
    cache_key_fn: Callable[..., str | None] | None = None
    cache_expiration: timedelta | None = None
    refresh_cache: bool | None = None
    persist_result: bool | None = None
    result_storage: Any = None
    #: Where the result is stored, templated: "{parameters[x]}.json", "{task_run.id}".
    result_storage_key: str | None = None
    result_serializer: Any = None
    cache_result_in_memory: bool = True
    log_prints: bool | None = None
    #: A template, or a callable taking nothing or the run's `parameters`.
    task_run_name: str | Callable[..., str] | None = None
    on_completion: tuple[Hook, ...] = field(default=())
    on_failure: tuple[Hook, ...] = field(default=())
    on_running: tuple[Hook, ...] = field(default=())
    #: Called with the task run's transaction when it commits, or rolls back (`engine.transactions`).
    on_commit: tuple[Hook, ...] = field(default=())
    on_rollback: tuple[Hook, ...] = field(default=())

    def __post_init__(self) -> None:
        owner = f"Task {self.name!r}"
        for option in _TASK_HOOKS:
            object.__setattr__(self, option, _hooks("task", option, getattr(self, option)))
        _check_run_name("task_run_name", self.task_run_name)
        object.__setattr__(self, "timeout_seconds", _timeout(owner, self.timeout_seconds))
        if self.retries < 0:
            raise ValueError(f"{owner}: retries must be 0 or more, not {self.retries}.")
        _check_retry_delay(owner, self.retry_delay_seconds, self.retries)
        if self.retry_jitter_factor is not None and self.retry_jitter_factor < 0:
            raise ValueError(f"{owner}: `retry_jitter_factor` must be >= 0.")
        if self.retry_condition_fn is not None and not callable(self.retry_condition_fn):
            raise TypeError(
                "Expected `retry_condition_fn` to be callable, got "
                f"{type(self.retry_condition_fn).__name__} instead."
            )
        if self.result_storage_key is not None and not isinstance(self.result_storage_key, str):
            raise TypeError(
                f"{owner}: result_storage_key must be a string such as "
                f"'{{parameters[x]}}.pkl'; got {type(self.result_storage_key).__name__}."
            )
        _check_results(owner, self)


class Plainness(IntEnum):
    """Whether a direct call of a task can skip the rules a plain task cannot need.

    A plain task has no retries, hooks, caching, result options, `log_prints` or
    `task_run_name`: its call is Pending, Running, then its final state, with
    nothing in between (a run name is worked out in between, inside the run).
    """

    NEVER = 0
    #: Plain unless its flow persists results or logs prints (options left to the flow).
    FLOW_DECIDES = 1
    ALWAYS = 2


def plainness(options: TaskOptions) -> Plainness:
    """How plain a task's options are; worked out once, when the task is made."""
    if (
        options.retries
        or options.on_completion
        or options.on_failure
        or options.on_running
        or options.on_commit
        or options.on_rollback
        or options.log_prints
        or options.task_run_name is not None
        or options.persist_result
        or options.cache_key_fn is not None
        or options.cache_policy is not None
        or options.result_serializer is not None
        or options.result_storage is not None
        or options.result_storage_key is not None
        or not options.cache_result_in_memory
    ):
        return Plainness.NEVER
    if options.persist_result is None or options.log_prints is None:
        return Plainness.FLOW_DECIDES
    return Plainness.ALWAYS


class FlowDefinition(Protocol):
    """A flow as the engine sees it (the public `Flow` is one)."""

    fn: Callable[..., Any]
    options: FlowOptions
    is_async: bool

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]: ...

    def call(self, parameters: dict[str, Any]) -> Any: ...


class TaskDefinition(Protocol):
    """A task as the engine sees it (the public `Task` is one)."""

    fn: Callable[..., Any]
    options: TaskOptions
    is_async: bool
    task_key: str

    @property
    def plain(self) -> Plainness:
        """`plainness(options)`, kept with the task so a call does not work it out again."""
        ...

    def call(self, parameters: dict[str, Any]) -> Any: ...

    def run_name(self, parameters: dict[str, Any], default: str) -> str:
        """The run's name from `task_run_name` (inside its run), or `default` if there is none."""
        ...


__all__ = [
    "FlowDefinition",
    "FlowOptions",
    "Hook",
    "Plainness",
    "TaskDefinition",
    "TaskOptions",
    "plainness",
]
