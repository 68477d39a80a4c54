"""How a task's cache key is computed (Prefect 3's cache policies, same names and algebra).

`INPUTS + TASK_SOURCE` keys on both; `INPUTS - "client"` leaves an argument
out; `NONE` never caches. A policy returns None when it cannot or should not
key a run, and that run then simply runs.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.engine.context import TaskRunContext


class CachePolicy:
    """Base of all policies: combine with `+`, drop inputs with `-`."""

    @classmethod
    def from_cache_key_fn(
        cls, cache_key_fn: Callable[[Any, dict[str, Any]], str | None]
    ) -> CacheKeyFnPolicy:
        """A policy from a `(context, parameters) -> key` function, as Prefect offers it."""
        return CacheKeyFnPolicy(cache_key_fn=cache_key_fn)

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        raise NotImplementedError

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if isinstance(other, _None):
            return self
        if isinstance(self, _None):
            return other
        return CompoundCachePolicy([*_parts(self), *_parts(other)])

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        return self

    def configure(self, **_: Any) -> CachePolicy:
        """Prefect's storage and isolation settings; orc keeps results in `.orc/results`."""
        return self


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError("Only a parameter name (str) can be removed from a cache policy.")


def _parts(policy: CachePolicy) -> list[CachePolicy]:
    return list(policy.policies) if isinstance(policy, CompoundCachePolicy) else [policy]


def _flattened(policies: list[CachePolicy]) -> list[CachePolicy]:
    """Prefect's normal form: nested compounds inlined, all `Inputs` merged into one at the end."""
    flat = [part for policy in policies for part in _parts(policy)]
    inputs = [p for p in flat if isinstance(p, Inputs)]
    rest = [p for p in flat if not isinstance(p, Inputs)]
    if not inputs:
        return rest
    return [*rest, Inputs(exclude=sorted({name for p in inputs for name in p.exclude}))]


@dataclass(frozen=True)
class CompoundCachePolicy(CachePolicy):
    """A key made from the keys of several policies (those that give one)."""

    policies: list[CachePolicy] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", _flattened(list(self.policies)))

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        keys = [
            p.compute_key(
                task_ctx=task_ctx, inputs=inputs, flow_parameters=flow_parameters, **kwargs
            )
            for p in self.policies
        ]
        present = [k for k in keys if k is not None]
        return hash_objects(*present) if present else None

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        if not any(isinstance(p, Inputs) for p in self.policies):
            return self  # nothing here keys on inputs
        return CompoundCachePolicy([*self.policies, Inputs(exclude=[name])])


@dataclass(frozen=True)
class _None(CachePolicy):
    """Never cache."""

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        return None


@dataclass(frozen=True)
class TaskSource(CachePolicy):
    """Key on the task's source code, so editing the task invalidates its cache."""

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        return None if task_ctx is None else source_hash(task_ctx.task.fn)


@dataclass(frozen=True)
class FlowParameters(CachePolicy):
    """Key on the parameters of the flow run the task belongs to."""

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        return hash_objects(flow_parameters) if flow_parameters else None


@dataclass(frozen=True)
class RunId(CachePolicy):
    """Key on the flow run id (the task run id outside a flow): reuse within one run only."""

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        if task_ctx is None:
            return None
        run = task_ctx.task_run
        return str(run.flow_run_id or run.id)


@dataclass(frozen=True)
class Inputs(CachePolicy):
    """Key on the task's arguments, except those named in `exclude` (a list, as in Prefect)."""

    exclude: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exclude", list(self.exclude))

    def __hash__(self) -> int:
        return hash(tuple(self.exclude))

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        if not inputs:
            return None
        # Prefect keys a call whose every input is excluded too (on the empty mapping).
        return hash_objects({k: v for k, v in inputs.items() if k not in self.exclude})

    def __sub__(self, name: str) -> CachePolicy:
        _check_name(name)
        return Inputs(exclude=[*self.exclude, name])


@dataclass(frozen=True)
class CacheKeyFnPolicy(CachePolicy):
    """A user function `(context, parameters) -> key` (Prefect's `cache_key_fn`)."""

    cache_key_fn: Callable[[Any, dict[str, Any]], str | None] | None = None

    def compute_key(
        self,
        task_ctx: TaskRunContext | None,
        inputs: dict[str, Any] | None,
        flow_parameters: dict[str, Any] | None,
        **kwargs: Any,
    ) -> str | None:
        return None if self.cache_key_fn is None else self.cache_key_fn(task_ctx, inputs or {})


class CacheKeyError(ValueError):
    """An input could not be hashed for a cache key."""


def hash_objects(*objects: Any) -> str:
    """A stable hex digest of values: the same inputs give the same key in any process."""
    try:
        text = json.dumps(objects, sort_keys=True, default=_canonical, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
    except (TypeError, ValueError):
        pass
    try:
        import cloudpickle

        return hashlib.sha256(cloudpickle.dumps(objects)).hexdigest()
    except Exception as exc:
        raise CacheKeyError(
            f"A cache key could not be computed: an input cannot be serialised ({type(exc).__name__}: {exc}). "
            'Leave it out of the key (cache_policy=INPUTS - "name") or give the task a cache_key_fn.'
        ) from exc


def _canonical(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(json.dumps(v, sort_keys=True, default=_canonical) for v in value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "model_dump"):
        return {"__model__": type(value).__qualname__, **value.model_dump(mode="json")}
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return {"__dataclass__": type(value).__qualname__, **dataclasses.asdict(value)}
    raise TypeError(type(value).__name__)


@lru_cache(maxsize=1024)
def source_hash(fn: Callable[..., Any]) -> str:
    """A digest of a function's source (its bytecode when the source is not available)."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = f"{code.co_code.hex()}{code.co_consts!r}{code.co_names!r}" if code else repr(fn)
    return hashlib.sha256(text.encode()).hexdigest()


NONE = _None()
NO_CACHE = NONE
INPUTS = Inputs()
TASK_SOURCE = TaskSource()
FLOW_PARAMETERS = FlowParameters()
RUN_ID = RunId()
DEFAULT = INPUTS + TASK_SOURCE + RUN_ID

__all__ = [
    "DEFAULT",
    "FLOW_PARAMETERS",
    "INPUTS",
    "NONE",
    "NO_CACHE",
    "RUN_ID",
    "TASK_SOURCE",
    "CacheKeyFnPolicy",
    "CachePolicy",
    "CompoundCachePolicy",
    "FlowParameters",
    "Inputs",
    "RunId",
    "TaskSource",
    "hash_objects",
]
