"""What the engine runs: the options of a flow or a task, and the face they show it.

`@flow` and `@task` (the public `Flow` and `Task`) build these; the engine
reads them through `FlowDefinition` and `TaskDefinition` and never imports the
public modules, so the dependency points one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from orchestrate.engine.caching import CachePolicy
from orchestrate.engine.results import SERIALIZERS
from orchestrate.engine.retries import RetryDelay
from orchestrate.engine.runners import TaskRunner, ThreadPoolTaskRunner

Hook = Callable[..., Any]


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
    result_serializer: str | None = None
    on_completion: tuple[Hook, ...] = ()
    on_failure: tuple[Hook, ...] = ()
    on_cancellation: tuple[Hook, ...] = ()
    on_crashed: tuple[Hook, ...] = ()
    on_running: tuple[Hook, ...] = ()

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"Flow {self.name!r}: retries must be 0 or more, not {self.retries}.")
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise ValueError(f"Flow {self.name!r}: timeout_seconds must be positive.")
        if self.result_serializer is not None and self.result_serializer not in SERIALIZERS:
            raise ValueError(
                f"Flow {self.name!r}: result_serializer must be one of {', '.join(SERIALIZERS)}."
            )


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
    result_serializer: str | None = None
    log_prints: bool | None = None
    task_run_name: str | Callable[[], str] | None = None
    on_completion: tuple[Hook, ...] = field(default=())
    on_failure: tuple[Hook, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"Task {self.name!r}: retries must be 0 or more, not {self.retries}.")
        if self.result_serializer is not None and self.result_serializer not in SERIALIZERS:
            raise ValueError(
                f"Task {self.name!r}: result_serializer {self.result_serializer!r} is not known; "
                f"use one of {', '.join(SERIALIZERS)}."
            )
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise ValueError(f"Task {self.name!r}: timeout_seconds must be positive.")


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

    def call(self, parameters: dict[str, Any]) -> Any: ...

    def run_name(self, parameters: dict[str, Any], dynamic_key: int) -> str: ...


__all__ = ["FlowDefinition", "FlowOptions", "Hook", "TaskDefinition", "TaskOptions"]
