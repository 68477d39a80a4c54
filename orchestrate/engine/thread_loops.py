"""An event loop per pool thread, for the async task runs that thread executes one at a time.

Each async task run gets a loop to itself, as under Prefect's `asyncio.run`
per task, so a task that blocks on `.result()` holds up nobody else. Reusing
the thread's loop from one run to the next costs a third of a fresh loop;
what a run leaves behind is cancelled when it ends, as `asyncio.run` would.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")
_local = threading.local()


def run_alone(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to the end on this thread's loop (a sync flow never loads asyncio)."""
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is None:
        import asyncio

        runner = _local.runner = asyncio.Runner()
    # The runner would run every coroutine in the context it was created in: pass this one's.
    return runner.run(_alone(coroutine), context=contextvars.copy_context())


def close_thread_loop() -> None:
    """Close this thread's loop, if it has one (a pool thread calls it as it ends)."""
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is not None:
        _local.runner = None
        runner.close()


async def _alone(coroutine: Coroutine[Any, Any, T]) -> T:
    import asyncio

    try:
        return await coroutine
    finally:
        this = asyncio.current_task()
        left = [task for task in asyncio.all_tasks() if task is not this]
        for task in left:
            task.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)


def await_from_sync(awaitable: Any) -> Any:
    """Run `awaitable` to its end from sync code (an async hook of a sync run), even when this
    thread runs an event loop already (a sync task or subflow inside an async flow), where
    `asyncio.run` would refuse: then on a thread of its own, in this thread's context."""
    import asyncio

    async def wait() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    outcome: list[Any] = []
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append(context.run(asyncio.run, wait()))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, name="orc-async-hook")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
