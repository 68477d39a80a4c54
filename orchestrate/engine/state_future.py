"""The final state of one task run, set once: what a `PrefectFuture` of a thread-pool run waits on.

`concurrent.futures.Future` would do, but each one carries a condition, a
lock and two lists: seven objects the garbage collector walks for as long as
the caller keeps the future, which made every full collection of a flow that
holds 100,000 futures slow. This one is two slots; a lock and an event exist
only while someone waits on an unfinished run. Callbacks are dropped once
called, so a finished run keeps nothing of what waited on it.

`wait_all` and `completed` are `concurrent.futures.wait` and `as_completed`
for any future with `done()` and `add_done_callback()` (these, and a runner's
own `concurrent.futures.Future`).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from orchestrate.core.states import State

#: One lock for every StateFuture: each holds it for a few instructions, never while calling out.
_guard = threading.Lock()


class Settles(Protocol):
    """What waiting needs of a future: `StateFuture`, or a `concurrent.futures.Future`."""

    def done(self) -> bool: ...

    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


class StateFuture:
    """A task run's final state, once it has one."""

    __slots__ = ("_callbacks", "_state")

    def __init__(self) -> None:
        self._state: State | None = None
        self._callbacks: list[Callable[[StateFuture], object]] | None = None

    def done(self) -> bool:
        return self._state is not None

    def set_result(self, state: State) -> None:
        """Settle with the final state and call what waits on it (in this thread)."""
        with _guard:
            if self._state is not None:
                raise RuntimeError("The task run's final state is set already.")
            self._state = state
            callbacks, self._callbacks = self._callbacks, None
        for fn in callbacks or ():
            try:
                fn(self)
            except Exception:  # as concurrent.futures: a failing callback must not stop the others
                sys.excepthook(*sys.exc_info())

    def add_done_callback(self, fn: Callable[[StateFuture], object]) -> None:
        """Call `fn(self)` once settled: now, in this thread, if it is already."""
        with _guard:
            if self._state is None:
                if self._callbacks is None:
                    self._callbacks = [fn]
                else:
                    self._callbacks.append(fn)
                return
        fn(self)

    def result(self, timeout: float | None = None) -> State:
        """The final state, waiting for it; `TimeoutError` after `timeout` seconds."""
        state = self._state
        if state is None:
            settled = threading.Event()
            self.add_done_callback(lambda _: settled.set())
            if not settled.wait(timeout):
                raise TimeoutError
            state = self._state
            assert state is not None
        return state


F = TypeVar("F", bound=Settles)


def wait_all(futures: Sequence[F], timeout: float | None = None) -> tuple[set[F], set[F]]:
    """Wait until all are done or `timeout` passes: (done, not done)."""
    unfinished = [f for f in futures if not f.done()]
    if unfinished:
        settled = threading.Event()
        remaining = [len(unfinished)]
        lock = threading.Lock()

        def one_done(_: object) -> None:
            with lock:
                remaining[0] -= 1
                if remaining[0] == 0:
                    settled.set()

        for future in unfinished:
            future.add_done_callback(one_done)
        settled.wait(timeout)
    done = {f for f in futures if f.done()}
    return done, {f for f in futures if f not in done}


def completed(futures: Sequence[F], timeout: float | None = None) -> Iterator[F]:
    """Each future as it finishes, those finished already first; `TimeoutError` when time is up."""
    deadline = None if timeout is None else time.monotonic() + timeout
    finished: queue.SimpleQueue[F] = queue.SimpleQueue()
    for future in futures:
        future.add_done_callback(_putter(finished, future))
    for count in range(len(futures)):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            yield finished.get(timeout=left)
        except queue.Empty:
            raise TimeoutError(
                f"{len(futures) - count} (of {len(futures)}) futures unfinished"
            ) from None


def _putter(finished: queue.SimpleQueue[F], future: F) -> Callable[[object], None]:
    return lambda _: finished.put(future)


__all__ = ["Settles", "StateFuture", "completed", "wait_all"]
