"""Generator bodies, streamed: each item is made inside the run and handed on as it comes.

A generator task or flow called directly returns a generator (an async one
for `async def … yield`), as in Prefect. It drives the same run steps as any
other body (`engine.steps`), but answers `CallBody` by pulling items from the
user's generator, each inside the run's context and under what is left of its
timeout. A failure retries from the start (what was yielded stays yielded);
a caller that stops early leaves the run Completed, as Prefect does.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from orchestrate.core.errors import RunTimeout
from orchestrate.core.states import State
from orchestrate.engine.outcomes import unwrap_state
from orchestrate.engine.steps import (
    CallBody,
    Outcome,
    Request,
    Steps,
    run_step_async,
    run_step_sync,
)
from orchestrate.engine.timeouts import timeout_scope


class StreamBody(Protocol):
    """A run whose body is a generator, as the drivers below need it."""

    timeout: float | None
    timeout_error: type[RunTimeout]

    def open(self, parameters: dict[str, Any]) -> Any:
        """Start one attempt: enter what lasts as long as the body, return its generator."""

    def inside(self) -> AbstractContextManager[None]:
        """The run's context, around each step of the body."""

    def close(self) -> None:
        """Leave what `open` entered (a flow's task runner); called once per attempt."""

    def made(self, item: Any) -> None:
        """Note an item on its way out (so a task given it records where it came from)."""


class _Cut(RunTimeout):
    """What is left of a timeout ran out while the body made its next item."""


def refused(kind: str) -> Generator[Any, None, None]:
    """Prefect's answer to `return_state=True` on a generator: an error on first iteration."""
    raise ValueError(_refusal(kind))
    yield  # pragma: no cover - makes this a generator, so it raises where Prefect does


async def refused_async(kind: str) -> AsyncGenerator[Any, None]:
    raise ValueError(_refusal(kind))
    yield  # pragma: no cover


def _refusal(kind: str) -> str:
    return (
        f"The return_type for a generator {kind} must be 'result': a generator {kind} "
        "streams its items, so call it without return_state=True (or submit it to get a "
        "future of the list of its items)."
    )


# --- sync -------------------------------------------------------------------------------


def stream_sync(steps: Steps, body: StreamBody) -> Generator[Any, None, Any]:
    """Drive `steps`, streaming the body's items to the caller; return the run's result."""
    try:
        request: Request = next(steps)
        while True:
            if type(request) is CallBody:
                try:
                    reply: Outcome | None = yield from _items(body, request.parameters)
                except GeneratorExit:  # the caller stopped early: the run completed
                    _finish_quietly(steps)
                    raise
            else:
                run_step_sync(request)  # type: ignore[arg-type]
                reply = None
            request = steps.send(reply)
    except StopIteration as stop:
        return unwrap_state(stop.value, False)


def _items(body: StreamBody, parameters: dict[str, Any]) -> Generator[Any, None, Outcome]:
    """One attempt: the body's items, then its outcome (its return value, or its error)."""
    deadline = None if body.timeout is None else time.monotonic() + body.timeout
    try:
        generator: Iterator[Any] = body.open(parameters)
    except BaseException as exc:
        body.close()
        return None, exc
    try:
        while True:
            try:
                with body.inside():
                    item = _next_within(generator, deadline, body)
            except StopIteration as stop:
                return stop.value, None
            except BaseException as exc:
                _close(generator, body)
                return None, exc
            body.made(item)
            try:
                yield item
            except GeneratorExit:
                _close(generator, body)
                raise
    finally:
        body.close()


def _next_within(generator: Iterator[Any], deadline: float | None, body: StreamBody) -> Any:
    if deadline is None:
        return next(generator)
    assert body.timeout is not None
    left = deadline - time.monotonic()
    try:
        if left <= 0:
            raise _Cut()
        with timeout_scope(left, _Cut):
            return next(generator)
    except _Cut:
        raise body.timeout_error.after(body.timeout) from None


def _close(generator: Any, body: StreamBody) -> None:
    with body.inside():
        generator.close()


def _finish_quietly(steps: Steps) -> None:
    """End the run Completed without handing the caller anything more."""
    try:
        request = steps.send((None, None))
        while True:
            if type(request) is CallBody:
                request = steps.send((None, None))
            else:
                run_step_sync(request)  # type: ignore[arg-type]
                request = steps.send(None)
    except StopIteration:
        pass


# --- async ------------------------------------------------------------------------------


async def stream_async(steps: Steps, body: StreamBody) -> AsyncGenerator[Any, None]:
    """Drive `steps`, streaming the body's items; a run that did not complete raises its error."""
    state: State | None = None
    try:
        request: Request = next(steps)
        while True:
            if type(request) is CallBody:
                outcome: Outcome = (None, None)
                deadline = None if body.timeout is None else time.monotonic() + body.timeout
                generator: AsyncIterator[Any] | None = None
                try:
                    generator = body.open(request.parameters)
                    while True:
                        with body.inside():
                            item = await _anext_within(generator, deadline, body)
                        body.made(item)
                        try:
                            yield item
                        except GeneratorExit:
                            await _aclose(generator, body)
                            await _finish_quietly_async(steps)
                            raise
                except StopAsyncIteration:
                    pass
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    if generator is not None:
                        await _aclose(generator, body)
                    outcome = (None, exc)
                finally:
                    body.close()
                reply: Outcome | None = outcome
            else:
                await run_step_async(request)  # type: ignore[arg-type]
                reply = None
            request = steps.send(reply)
    except StopIteration as stop:
        state = stop.value
    if state is not None and not state.is_completed():
        unwrap_state(state, False)  # raises the run's error, as Prefect does after the loop


async def _anext_within(
    generator: AsyncIterator[Any], deadline: float | None, body: StreamBody
) -> Any:
    if deadline is None:
        return await generator.__anext__()
    import asyncio

    assert body.timeout is not None
    left = deadline - time.monotonic()
    if left <= 0:
        raise body.timeout_error.after(body.timeout)
    scope = asyncio.timeout(left)
    try:
        async with scope:
            return await generator.__anext__()
    except TimeoutError:
        if not scope.expired():
            raise  # the body's own TimeoutError, not its timeout
        raise body.timeout_error.after(body.timeout) from None


async def _aclose(generator: Any, body: StreamBody) -> None:
    with body.inside():
        await generator.aclose()


async def _finish_quietly_async(steps: Steps) -> None:
    try:
        request = steps.send((None, None))
        while True:
            if type(request) is CallBody:
                request = steps.send((None, None))
            else:
                await run_step_async(request)  # type: ignore[arg-type]
                request = steps.send(None)
    except StopIteration:
        pass


__all__ = ["StreamBody", "refused", "refused_async", "stream_async", "stream_sync"]
