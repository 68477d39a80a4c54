"""One engine for sync and async runs: the logic is a generator of steps, the drivers do I/O.

A run's logic (states, retries, caching) is written once as a generator that
yields requests — call the body, sleep, run the hooks — and receives their
outcomes. `drive_sync` and `drive_async` carry the requests out with blocking
or awaiting calls. So there is no second, async copy of the rules.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from orchestrate.core.states import State
from orchestrate.engine.logs import RunLogger, hook_name, log_hook_failure, print_target
from orchestrate.engine.thread_loops import await_from_sync


@dataclass(slots=True, frozen=True)
class CallBody:
    """Run the user's function once with these arguments."""

    parameters: dict[str, Any]


@dataclass(slots=True, frozen=True)
class Sleep:
    seconds: float


@dataclass(slots=True, frozen=True)
class RunHooks:
    """Call state hooks (`on_completion`, …) as `hook(*arguments)`, the state last.

    Each is announced and its end or error logged on the run, as Prefect does;
    with `log_prints` its prints become run log lines like the body's.
    """

    hooks: Sequence[Callable[..., Any]]
    arguments: tuple[Any, ...]
    logger: RunLogger
    log_prints: bool = False
    #: The run's context variables, set while the hooks run: as in Prefect, a hook of a
    #: finished run may call `get_run_logger()` or read `orchestrate.runtime`.
    contexts: tuple[tuple[ContextVar[Any], Any], ...] = ()


Request = CallBody | Sleep | RunHooks
#: (value, None) when the body returned, (None, exception) when it raised.
Outcome = tuple[Any, BaseException | None]
Steps = Generator[Request, Outcome | None, State]


def drive_sync(steps: Steps, call: Callable[[dict[str, Any]], Outcome]) -> State:
    """Carry out a run's steps in this thread."""
    reply: Outcome | None = None
    try:
        request = next(steps)
        while True:
            if type(request) is CallBody:
                reply = call(request.parameters)
            elif type(request) is Sleep:
                time.sleep(request.seconds)
                reply = None
            else:
                _run_hooks_sync(request)  # type: ignore[arg-type]
                reply = None
            request = steps.send(reply)
    except StopIteration as stop:
        return stop.value


async def drive_async(steps: Steps, call: Callable[[dict[str, Any]], Awaitable[Outcome]]) -> State:
    """Carry out a run's steps on the running event loop."""
    import asyncio  # here, not at the top: a sync flow never loads asyncio

    reply: Outcome | None = None
    try:
        request = next(steps)
        while True:
            if type(request) is CallBody:
                reply = await call(request.parameters)
            elif type(request) is Sleep:
                await asyncio.sleep(request.seconds)
                reply = None
            else:
                for hook in request.hooks:  # type: ignore[union-attr]
                    with _hook_scope(request, hook):  # type: ignore[arg-type]
                        result = hook(*request.arguments)  # type: ignore[union-attr]
                        if inspect.isawaitable(result):
                            await result
                reply = None
            request = steps.send(reply)
    except StopIteration as stop:
        return stop.value


def run_step_sync(request: Sleep | RunHooks) -> None:
    """Carry out a request other than the body's call in this thread (for a streaming driver)."""
    if type(request) is Sleep:
        time.sleep(request.seconds)
    else:
        _run_hooks_sync(request)  # type: ignore[arg-type]


async def run_step_async(request: Sleep | RunHooks) -> None:
    """Carry out a request other than the body's call on the running loop (for a streaming driver)."""
    import asyncio

    if type(request) is Sleep:
        await asyncio.sleep(request.seconds)
        return
    for hook in request.hooks:  # type: ignore[union-attr]
        with _hook_scope(request, hook):  # type: ignore[arg-type]
            result = hook(*request.arguments)  # type: ignore[union-attr]
            if inspect.isawaitable(result):
                await result


def _run_hooks_sync(request: RunHooks) -> None:
    for hook in request.hooks:
        with _hook_scope(request, hook):
            result = hook(*request.arguments)
            if inspect.isawaitable(result):  # an async hook of a sync run
                await_from_sync(result)


@contextmanager
def _hook_scope(request: RunHooks, hook: Callable[..., Any]) -> Iterator[None]:
    """Around one hook: Prefect's log lines, its prints captured, its error logged and swallowed."""
    name = hook_name(hook)
    state: State = request.arguments[-1]
    request.logger.info("Running hook %r in response to entering state %r", name, state.name)
    printing = print_target.set(request.logger) if request.log_prints else None
    entered = [(variable, variable.set(value)) for variable, value in request.contexts]
    try:
        yield
    except Exception as exc:
        log_hook_failure(request.logger, hook, exc)
    else:
        request.logger.info("Hook %r finished running successfully", name)
    finally:
        for variable, token in reversed(entered):
            variable.reset(token)
        if printing is not None:
            print_target.reset(printing)


def listed(value: Any) -> Any:
    """A returned generator as the list of its items (Prefect: generators are not portable)."""
    return list(value) if type(value) is GeneratorType else value


def awaitable(body: Any) -> Awaitable[Any]:
    """What an async body's call gives, to await: an async generator is awaited as its items."""
    return _collect(body) if type(body) is AsyncGeneratorType else body


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


def call_plan(signature: inspect.Signature) -> Callable[[Callable[..., Any], dict[str, Any]], Any]:
    """How to call a function with its parameters by name (positional-only and *args too)."""
    kinds = [(p.name, p.kind) for p in signature.parameters.values()]
    if all(
        kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        for _, kind in kinds
    ):
        return lambda fn, parameters: fn(**parameters)

    # Before a `*args`, a positional-or-keyword parameter must be passed by position, or
    # `f(a, *args)` called as `f(*rest, a=1)` would get `a` twice.
    before_varargs = any(kind is inspect.Parameter.VAR_POSITIONAL for _, kind in kinds)

    def call(fn: Callable[..., Any], parameters: dict[str, Any]) -> Any:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        positional = before_varargs
        for name, kind in kinds:
            if name not in parameters:
                positional = False  # a gap: what follows can only go by name
                continue
            if kind is inspect.Parameter.POSITIONAL_ONLY or (
                positional and kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ):
                args.append(parameters[name])
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                args.extend(parameters[name])
            elif kind is inspect.Parameter.VAR_KEYWORD:
                kwargs.update(parameters[name])
            else:
                kwargs[name] = parameters[name]
        return fn(*args, **kwargs)

    return call


Binder = Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]


def bind_plan(signature: inspect.Signature) -> Binder:
    """`signature.bind(*args, **kwargs)` with defaults applied, as a dict in signature order.

    For the usual signature (no positional-only or variadic parameters) a call that
    fits is bound without `inspect`, which costs several microseconds per task run;
    anything else, errors included, goes through `Signature.bind`.
    """

    def full(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.arguments

    parameters = list(signature.parameters.values())
    simple = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if not all(p.kind in simple for p in parameters):
        return full
    names = tuple(p.name for p in parameters)
    positional = sum(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    every = positional if positional == len(names) else -1  # no keyword-only parameter
    missing = object()

    def fast(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not kwargs and len(args) == every:
            return dict(zip(names, args, strict=True))  # every argument by position
        if len(args) > positional:
            return full(args, kwargs)
        bound = dict(zip(names, args, strict=False))  # fewer args than names: defaults follow
        taken = 0
        for name in names[len(args) :]:
            value = kwargs.get(name, missing)
            if value is missing:
                value = defaults.get(name, missing)
                if value is missing:
                    return full(args, kwargs)  # a required argument is missing: its error
            else:
                taken += 1
            bound[name] = value
        if taken != len(kwargs):
            return full(args, kwargs)  # an unknown keyword, or one given twice: its error
        return bound

    return fast
