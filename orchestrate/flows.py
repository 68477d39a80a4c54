"""`@flow`: a function whose calls become observed, retryable flow runs.

Parameters are validated and coerced from the signature before the body
runs; a flow called inside a flow is a subflow linked to its parent; an async
flow returns a coroutine. Options live in one frozen `FlowOptions`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from functools import update_wrapper
from typing import Any, Generic, ParamSpec, TypeVar, overload

from orchestrate.core.annotations import allow_failure
from orchestrate.core.errors import UpstreamTaskError
from orchestrate.core.states import State
from orchestrate.engine import (
    FlowOptions,
    Hook,
    ParameterValidator,
    PrefectFuture,
    RetryDelay,
    TaskRunner,
    bind_parameters,
    call_plan,
)
from orchestrate.utilities import callables

P = ParamSpec("P")
R = TypeVar("R")


_OPTION_NAMES = frozenset(f.name for f in fields(FlowOptions))


class Flow(callables.MethodBinding, Generic[P, R]):
    """A decorated flow function. Options are readable as attributes (`flow.retries`).

    Built by `@flow`, or directly as in Prefect: `Flow(fn=f, name="etl", retries=2)`.
    On a class it works as a method, classmethod or staticmethod.
    """

    def __init__(
        self, fn: Callable[P, R], options: FlowOptions | None = None, **settings: Any
    ) -> None:
        fn, self._kind = callables.unwrap(fn)
        self._bound = False  # a copy with `self` or `cls` bound (read from an instance or class)
        update_wrapper(self, fn)  # first: a callable object's __dict__ must not replace ours
        self.fn = fn
        self.options = options if options is not None else _options(fn, settings)
        self.signature = inspect.signature(fn)
        #: As Prefect's `isgenerator`: a call streams the items inside one flow run.
        self.is_generator = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
        self.is_async = callables.is_async(fn) or inspect.isasyncgenfunction(fn)
        self._call = call_plan(self.signature)
        self._validator = ParameterValidator(self.options.name, fn, self.signature)
        self._method: Flow[P, R] | None = None

    def _resign(self) -> None:
        self._call = call_plan(self.signature)
        self._validator = ParameterValidator(self.options.name, self.fn, self.signature)

    def __getattr__(self, name: str) -> Any:
        if name in _OPTION_NAMES:
            return getattr(self.options, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def with_options(self, **changes: Any) -> Flow[P, R]:
        """A copy of this flow with some options changed (same keywords as `@flow`)."""
        fn = self.fn if self._bound else callables.rewrap(self.fn, self._kind)
        return Flow(fn, replace(self.options, **_normalise(changes)))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return_state = bool(kwargs.pop("return_state", False))
        wait_for: Any = kwargs.pop("wait_for", None)
        from orchestrate.engine import call_flow

        if wait_for:
            _wait_for_upstream(self.options.name, wait_for)

        parameters = bind_parameters(self.fn, self.signature, args, kwargs)
        if self.is_generator:
            from orchestrate.engine import stream_flow

            return stream_flow(self, parameters, return_state)
        return call_flow(self, parameters, return_state)

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Parameters coerced to the signature's types; raises `ParameterTypeError`."""
        return self._validator.validate(parameters)

    def call(self, parameters: dict[str, Any]) -> Any:
        return self._call(self.fn, parameters)

    # --- state hooks, as decorators (`@my_flow.on_completion`) ---------------------------

    def on_completion(self, fn: Hook) -> Hook:
        """Add `fn(flow, flow_run, state)` to run when a flow run completes; returns `fn`."""
        return self._add_hook("on_completion", fn)

    def on_failure(self, fn: Hook) -> Hook:
        """Add `fn(flow, flow_run, state)` to run when a flow run fails; returns `fn`."""
        return self._add_hook("on_failure", fn)

    def on_cancellation(self, fn: Hook) -> Hook:
        """Add `fn(flow, flow_run, state)` to run when a flow run is cancelled; returns `fn`."""
        return self._add_hook("on_cancellation", fn)

    def on_crashed(self, fn: Hook) -> Hook:
        """Add `fn(flow, flow_run, state)` to run when a flow run crashes; returns `fn`."""
        return self._add_hook("on_crashed", fn)

    def on_running(self, fn: Hook) -> Hook:
        """Add `fn(flow, flow_run, state)` to run when a flow run starts running; returns `fn`."""
        return self._add_hook("on_running", fn)

    @property
    def on_completion_hooks(self) -> list[Hook]:
        return list(self.options.on_completion)

    @property
    def on_failure_hooks(self) -> list[Hook]:
        return list(self.options.on_failure)

    @property
    def on_cancellation_hooks(self) -> list[Hook]:
        return list(self.options.on_cancellation)

    @property
    def on_crashed_hooks(self) -> list[Hook]:
        return list(self.options.on_crashed)

    @property
    def on_running_hooks(self) -> list[Hook]:
        return list(self.options.on_running)

    def __repr__(self) -> str:
        return f"Flow<{self.options.name}>"


def _wait_for_upstream(name: str, wait_for: Iterable[Any]) -> None:
    """Block until every upstream future is final; refuse to start after a failed one.

    As in Prefect, `allow_failure(future)` lets the flow start whatever the upstream's end.
    """
    for item in wait_for:
        allowed = isinstance(item, allow_failure)
        upstream = item.unwrap() if allowed else item
        state = upstream.wait_state() if isinstance(upstream, PrefectFuture) else upstream
        if isinstance(state, State) and not state.is_completed() and not allowed:
            raise UpstreamTaskError(
                f"Flow {name!r} did not start: upstream run {state.run_id or '?'} ended "
                f"{state.name}. Wrap it in allow_failure() to start the flow anyway."
            )


def _normalise(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"Unknown flow option(s): {', '.join(sorted(unknown))}.")
    if "retries" in options and options["retries"] is None:
        options["retries"] = 0
    runner = options.get("task_runner")
    if isinstance(runner, type):
        options["task_runner"] = runner()
    elif runner is None:
        options.pop("task_runner", None)
    return options


def _options(fn: Callable[..., Any], settings: dict[str, Any]) -> FlowOptions:
    """`@flow`'s keywords as options, the name and description taken from `fn` when not given."""
    normalised = _normalise(dict(settings))
    if not normalised.get("name"):
        name = callables.default_name(fn)
        normalised["name"] = name.replace("_", "-").replace("<lambda>", "unknown-lambda")
    if not normalised.get("description"):
        normalised["description"] = inspect.getdoc(fn)
    return FlowOptions(**normalised)


@overload
def flow(__fn: Callable[P, R]) -> Flow[P, R]: ...


@overload
def flow(
    __fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
    retries: int | None = None,
    retry_delay_seconds: RetryDelay | None = None,
    timeout_seconds: float | None = None,
    validate_parameters: bool = True,
    log_prints: bool | None = None,
    flow_run_name: str | Callable[[], str] | None = None,
    task_runner: TaskRunner | type[TaskRunner] | None = None,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_serializer: Any = None,
    cache_result_in_memory: bool = True,
    on_completion: list[Hook] | None = None,
    on_failure: list[Hook] | None = None,
    on_cancellation: list[Hook] | None = None,
    on_crashed: list[Hook] | None = None,
    on_running: list[Hook] | None = None,
) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(
    __fn: Callable[P, R] | None = None, **options: Any
) -> Flow[P, R] | Callable[[Callable[P, R]], Flow[P, R]]:
    """Make a function a flow: each call is a recorded flow run with states and logs.

    Args:
        name: the flow's name (the function's name, dashed, by default).
        retries: how many times to run the whole flow again after a failure.
        retry_delay_seconds: the delay before each flow retry.
        timeout_seconds: fail the run as `TimedOut` after this long.
        validate_parameters: coerce and check parameters against the type hints.
        log_prints: send `print()` inside the flow (and its tasks) to the run's logs.
        task_runner: where `.submit()` and `.map()` run tasks (threads by default).
        **options: the rest of Prefect's `@flow` keywords, same meanings.
    """

    def decorate(fn: Callable[P, R]) -> Flow[P, R]:
        return Flow(fn, **options)

    return decorate(__fn) if __fn is not None else decorate


__all__ = ["Flow", "FlowOptions", "flow"]
