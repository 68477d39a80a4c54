"""`@task`: a function whose calls become observed, retryable, cacheable task runs.

A call runs inline; `.submit()` returns a future on the flow's task runner;
`.map()` submits one task run per item. Options live in one frozen
`TaskOptions`; `with_options` makes a copy with some changed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from datetime import timedelta
from functools import cached_property, partial, update_wrapper
from typing import Any, Generic, ParamSpec, TypeVar, overload

from orchestrate.core.annotations import BaseAnnotation, allow_failure, quote, unmapped
from orchestrate.core.errors import MappingLengthMismatch, MappingMissingIterable
from orchestrate.core.names import render_name
from orchestrate.engine import (
    CacheKeyError,
    CachePolicy,
    Hook,
    Plainness,
    PrefectFuture,
    PrefectFutureList,
    RetryDelay,
    TaskOptions,
    bind_plan,
    call_plan,
    exponential_backoff,
    hash_objects,
    plainness,
    source_hash,
)
from orchestrate.utilities import callables

P = ParamSpec("P")
R = TypeVar("R")


_OPTION_NAMES = frozenset(f.name for f in fields(TaskOptions))


class Task(callables.MethodBinding, Generic[P, R]):
    """A decorated task function. Options are readable as attributes (`task.retries`).

    Built by `@task`, or directly as in Prefect: `Task(fn=f, name="load", retries=2)`.
    On a class it works as a method, classmethod or staticmethod.
    """

    def __init__(
        self, fn: Callable[P, R], options: TaskOptions | None = None, **settings: Any
    ) -> None:
        fn, self._kind = callables.unwrap(fn)
        self._bound = False  # a copy with `self` or `cls` bound (read from an instance or class)
        update_wrapper(self, fn)  # first: a callable object's __dict__ must not replace ours
        self.fn = fn
        self.options = options if options is not None else _options(fn, settings)
        self.signature = inspect.signature(fn)
        #: As Prefect's `isgenerator`: a direct call streams the items inside one task run.
        self.is_generator = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
        self.is_async = callables.is_async(fn) or inspect.isasyncgenfunction(fn)
        self.task_key = (
            f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', self.options.name)}"
        )
        self._call = call_plan(self.signature)
        self._bind = bind_plan(self.signature)
        self._method: Task[P, R] | None = None
        self._plain = (self.options, plainness(self.options))

    @property
    def plain(self) -> Plainness:
        """How plain this task's options are (see `plainness`); again after a hook is added."""
        options, plain = self._plain
        if options is not self.options:
            plain = plainness(self.options)
            self._plain = (self.options, plain)
        return plain

    def _resign(self) -> None:
        self._call = call_plan(self.signature)
        self._bind = bind_plan(self.signature)

    def __getattr__(self, name: str) -> Any:
        if name in _OPTION_NAMES:
            return getattr(self.options, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def with_options(self, **changes: Any) -> Task[P, R]:
        """A copy of this task with some options changed (same keywords as `@task`)."""
        fn = self.fn if self._bound else callables.rewrap(self.fn, self._kind)
        return Task(fn, replace(self.options, **_normalise(changes)))

    # --- calling -------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return_state, wait_for = False, None
        if kwargs:  # most task calls pass none: two pops saved per call
            return_state = bool(kwargs.pop("return_state", False))
            wait_for = kwargs.pop("wait_for", None)
        if self.is_generator:
            return _task_engine().stream_task(self, self.bind(args, kwargs), wait_for, return_state)
        return _task_engine().call_task(self, self.bind(args, kwargs), wait_for, return_state)

    def submit(self, *args: Any, **kwargs: Any) -> PrefectFuture[R]:
        """Start a task run on the flow's task runner; returns its future at once."""
        wait_for = kwargs.pop("wait_for", None)
        return_state = kwargs.pop("return_state", False)
        future = _task_engine().submit_task(self, self.bind(args, kwargs), wait_for)
        return future.wait_state() if return_state else future

    def map(self, *args: Any, **kwargs: Any) -> PrefectFutureList[R]:
        """Submit one task run per item of the iterable arguments (`unmapped(x)` stays whole).

        As in Prefect, defaults are not mapped over, and each `**kwargs` entry is
        an argument of its own (mapped when iterable).
        """
        wait_for = kwargs.pop("wait_for", None)
        return_state = kwargs.pop("return_state", False)
        calls = self._map_calls(self._bind_given(args, kwargs))
        futures = PrefectFutureList(_task_engine().submit_tasks(self, calls, wait_for))
        return [f.wait_state() for f in futures] if return_state else futures  # type: ignore[return-value]

    def call(self, parameters: dict[str, Any]) -> Any:
        """Call the plain function with bound parameters."""
        return self._call(self.fn, parameters)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._bind(args, kwargs)
        except TypeError as exc:
            raise TypeError(
                f"Task {self.name!r} was called with arguments that do not fit {self.fn.__name__}{self.signature}: {exc}"
            ) from None

    def run_name(self, parameters: dict[str, Any], default: str) -> str:
        """The run's name from `task_run_name`, called in the run; `default` without one."""
        template = self.options.task_run_name
        if template is None:
            return default
        if callable(template) and _takes_parameters(template):
            # Prefect passes the run's parameters to a callable that asks for them.
            return render_name(partial(template, parameters=parameters), parameters, default)
        return render_name(template, parameters, default)

    @property
    def tags(self) -> set[str]:
        """The task's tags, as a set (as Prefect has them); change them with `with_options`."""
        return set(self.options.tags)

    @cached_property
    def source_code(self) -> str | None:
        """The function's source (None for a builtin or code typed at a prompt), read on first use."""
        try:
            return inspect.getsource(self.fn)
        except (TypeError, OSError):
            return None

    def _bind_given(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments given (no defaults), each `**kwargs` entry on its own."""
        try:
            given = dict(self.signature.bind(*args, **kwargs).arguments)
        except TypeError as exc:
            raise TypeError(
                f"Task {self.name!r}.map() was called with arguments that do not fit "
                f"{self.fn.__name__}{self.signature}: {exc}"
            ) from None
        variadic = _var_keyword(self.signature)
        if variadic is not None:
            given.update(given.pop(variadic, {}))
        return given

    def _map_calls(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        static: dict[str, Any] = {}
        mapped: dict[str, list[Any]] = {}
        wrappers: dict[str, BaseAnnotation[Any]] = {}
        for name, value in parameters.items():
            if isinstance(value, allow_failure | quote):
                wrappers[name] = value
                value = value.unwrap()
            if isinstance(value, unmapped):
                static[name] = value.value
                continue
            resolved = value.result() if isinstance(value, PrefectFuture) else value
            if _is_iterable(resolved):
                mapped[name] = list(resolved)
            else:  # a future stays one, so each run waits on it and records the edge
                static[name] = value
        count = self._map_length(mapped)
        calls = []
        for i in range(count):
            call = {**static, **{name: items[i] for name, items in mapped.items()}}
            for name, wrapper in wrappers.items():
                call[name] = wrapper.rewrap(call[name])
            calls.append(self._complete_call(call))
        return calls

    def _map_length(self, mapped: dict[str, list[Any]]) -> int:
        if not mapped:
            raise MappingMissingIterable(
                f"Task {self.name!r}.map() got no iterable argument to map over; "
                "pass a list (and wrap values meant for every run in unmapped())."
            )
        lengths = {name: len(items) for name, items in mapped.items()}
        if len(set(lengths.values())) > 1:
            raise MappingLengthMismatch(
                f"Task {self.name!r}.map() got iterables of different lengths: "
                + ", ".join(f"{n}={k}" for n, k in lengths.items())
                + ". Give them the same length, or wrap the constant ones in unmapped()."
            )
        return next(iter(lengths.values()))

    def _complete_call(self, call: dict[str, Any]) -> dict[str, Any]:
        """One mapped call's parameters in signature order: defaults filled, extra keywords gathered."""
        complete: dict[str, Any] = {}
        for name, parameter in self.signature.parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                known = self.signature.parameters
                complete[name] = {k: v for k, v in call.items() if k not in known}
            elif name in call:
                complete[name] = call[name]
            elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                complete[name] = ()
            elif parameter.default is not inspect.Parameter.empty:
                complete[name] = parameter.default
        return complete

    # --- state hooks, as decorators (`@my_task.on_completion`) ---------------------------

    def on_completion(self, fn: Hook) -> Hook:
        """Add `fn(task, task_run, state)` to run when a task run completes; returns `fn`."""
        return self._add_hook("on_completion", fn)

    def on_failure(self, fn: Hook) -> Hook:
        """Add `fn(task, task_run, state)` to run when a task run fails; returns `fn`."""
        return self._add_hook("on_failure", fn)

    def on_running(self, fn: Hook) -> Hook:
        """Add `fn(task, task_run, state)` to run as each attempt starts running; returns `fn`."""
        return self._add_hook("on_running", fn)

    @property
    def on_running_hooks(self) -> list[Hook]:
        return list(self.options.on_running)

    def on_commit(self, fn: Hook) -> Hook:
        """Add `fn(transaction)` to run when the task run's transaction commits; returns `fn`."""
        return self._add_hook("on_commit", fn)

    def on_rollback(self, fn: Hook) -> Hook:
        """Add `fn(transaction)` to run when the task run's transaction rolls back; returns `fn`."""
        return self._add_hook("on_rollback", fn)

    @property
    def on_commit_hooks(self) -> list[Hook]:
        return list(self.options.on_commit)

    @property
    def on_rollback_hooks(self) -> list[Hook]:
        return list(self.options.on_rollback)

    @property
    def on_completion_hooks(self) -> list[Hook]:
        return list(self.options.on_completion)

    @property
    def on_failure_hooks(self) -> list[Hook]:
        return list(self.options.on_failure)

    def __repr__(self) -> str:
        return f"Task<{self.options.name}>"


_engine: Any = None


def _task_engine() -> Any:
    """The engine's entry; the task engine loads on the first task call, not on `import orchestrate`.

    Kept once loaded: an import statement per task call cost a microsecond or two.
    """
    global _engine
    if _engine is None:
        from orchestrate import engine

        _engine = engine
    return _engine


def _takes_parameters(fn: Callable[..., Any]) -> bool:
    try:
        return "parameters" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _var_keyword(signature: inspect.Signature) -> str | None:
    """The name of the `**kwargs` parameter, if there is one."""
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return name
    return None


def _is_iterable(value: Any) -> bool:
    if isinstance(value, str | bytes):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _normalise(options: dict[str, Any]) -> dict[str, Any]:
    """Accept Prefect's looser option types (lists of tags and hooks, None for empty)."""
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"Unknown task option(s): {', '.join(sorted(unknown))}.")
    if "tags" in options:
        options["tags"] = frozenset(options["tags"] or ())
    if options.get("retries") is None and "retries" in options:
        options["retries"] = 0
    return options


def _options(fn: Callable[..., Any], settings: dict[str, Any]) -> TaskOptions:
    """`@task`'s keywords as options, the name and description taken from `fn` when not given."""
    normalised = _normalise(dict(settings))
    normalised["name"] = normalised.get("name") or callables.default_name(fn)
    if not normalised.get("description"):
        normalised["description"] = inspect.getdoc(fn)
    return TaskOptions(**normalised)


@overload
def task(__fn: Callable[P, R]) -> Task[P, R]: ...


@overload
def task(
    __fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    version: str | None = None,
    retries: int | None = None,
    retry_delay_seconds: RetryDelay | None = None,
    retry_jitter_factor: float | None = None,
    retry_condition_fn: Callable[..., bool] | None = None,
    timeout_seconds: float | None = None,
    cache_policy: CachePolicy | None = None,
    cache_key_fn: Callable[..., str | None] | None = None,
    cache_expiration: timedelta | None = None,
    refresh_cache: bool | None = None,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_storage_key: str | None = None,
    result_serializer: Any = None,
    cache_result_in_memory: bool = True,
    log_prints: bool | None = None,
    task_run_name: str | Callable[..., str] | None = None,
    on_completion: list[Hook] | None = None,
    on_failure: list[Hook] | None = None,
    on_running: list[Hook] | None = None,
    on_commit: list[Hook] | None = None,
    on_rollback: list[Hook] | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(
    __fn: Callable[P, R] | None = None, **options: Any
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make a function a task: its calls become task runs with states, retries and caching.

    Args:
        name: the task's name (the function's name by default).
        retries: how many times to retry a failed run.
        retry_delay_seconds: a delay, a list of delays, or `exponential_backoff(n)`.
        cache_policy: how to key results for reuse (see `orchestrate.cache_policies`).
        timeout_seconds: fail the run as `TimedOut` after this long.
        **options: the rest of Prefect's `@task` keywords, same meanings.
    """

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        return Task(fn, **options)

    return decorate(__fn) if __fn is not None else decorate


def task_input_hash(context: Any, arguments: dict[str, Any]) -> str | None:
    """A cache key from the task, its source and its arguments (Prefect's `task_input_hash`).

    None (no caching) when an argument cannot be serialised, as in Prefect.
    """
    try:
        return hash_objects(context.task.task_key, source_hash(context.task.fn), arguments)
    except CacheKeyError:
        return None


__all__ = ["Task", "TaskOptions", "exponential_backoff", "task", "task_input_hash"]
