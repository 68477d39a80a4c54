"""Prefect's `prefect.flow_runs`: pause, suspend and resume a flow run (human in the loop).

A flow run started by `orc up` may stop in its body and wait for a person:

    from orchestrate.flow_runs import pause_flow_run

    @flow
    def approve_payout(amount: int):
        answer = pause_flow_run(wait_for_input=Approval, timeout=600)

`pause_flow_run` keeps the worker and waits; `suspend_flow_run` ends the
worker (its slot is free) and a resume runs the flow again from the top,
where the same suspend returns at once. `orc runs resume RUN_ID --input
'{"ok": true}'` (or `resume_flow_run` from Python) resumes it, with input
checked against the model the flow waits for. Called from async code, each
returns an awaitable, as Prefect's do.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from orchestrate.core.errors import (
    Conflict,
    FlowPauseTimeout,
    NotPausedError,
)
from orchestrate.core.states import in_async_code

T = TypeVar("T")


def pause_flow_run(
    wait_for_input: type[T] | None = None,
    timeout: int = 3600,
    poll_interval: int = 10,
    key: str | None = None,
) -> Any:
    """Pause the flow run in progress until it is resumed; its worker waits.

    Args:
        wait_for_input: a pydantic model (or any type pydantic validates); the run waits
            for input that fits it, and this returns it validated.
        timeout: seconds to wait for the resume; after that the run fails
            (`FlowPauseTimeout`). A deployment's `timeout_seconds` still counts meanwhile.
        poll_interval: accepted for Prefect compatibility; the daemon says when to resume.
        key: tells this pause from the run's others (by default: how many came before).

    Raises:
        FlowPauseTimeout: the run was not resumed within `timeout`.
        RuntimeError: not inside a flow run that `orc up` started.
    """
    if in_async_code():
        return apause_flow_run(wait_for_input, timeout, poll_interval, key)
    from orchestrate.engine import pause

    return pause(wait_for_input, timeout, key, reschedule=False)


async def apause_flow_run(
    wait_for_input: type[T] | None = None,
    timeout: int = 3600,
    poll_interval: int = 10,
    key: str | None = None,
) -> Any:
    """`pause_flow_run` for async code: the event loop stays free while the run waits.

    The wait runs in a thread of its own that nothing joins, so a cancel of the
    flow (its task cancelled) ends the run at once rather than at the pause's timeout.
    """
    from orchestrate.engine import pause

    return await _in_own_thread(pause, wait_for_input, timeout, key, False)


async def _in_own_thread(fn: Any, *args: Any) -> Any:
    """`fn(*args)` in a daemon thread with this context; its outcome, awaited."""
    import asyncio  # here: a sync flow's worker never loads asyncio
    import contextlib
    import contextvars
    import threading

    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Any, failed: bool) -> None:
        if done.cancelled():
            return
        if failed:
            done.set_exception(outcome)
        else:
            done.set_result(outcome)

    def work() -> None:
        try:
            outcome, failed = context.run(fn, *args), False
        except BaseException as exc:
            outcome, failed = exc, True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome, failed)

    threading.Thread(target=work, name="orc-pause", daemon=True).start()
    return await done


def suspend_flow_run(
    wait_for_input: type[T] | None = None,
    flow_run_id: UUID | str | None = None,
    timeout: int | None = None,
    key: str | None = None,
) -> Any:
    """Suspend the flow run in progress: its worker ends, and a resume runs it again.

    On that rerun the flow starts from the top, and this same call returns the
    input it was resumed with instead of suspending again. Tasks done before the
    suspend run again unless a cache policy gives their results back.

    Args:
        wait_for_input: as for `pause_flow_run`.
        flow_run_id: suspending another flow run is not supported by orc (None only).
        timeout: seconds the run may stay suspended before it fails; None: no limit.
        key: tells this suspend from the run's others (by default: how many came before).
    """
    if flow_run_id is not None:
        raise RuntimeError(
            "orc suspends only the flow run in progress; call suspend_flow_run() without "
            "flow_run_id inside that run, or cancel the other run with `orc cancel`."
        )
    if in_async_code():
        return asuspend_flow_run(wait_for_input, flow_run_id, timeout, key)
    from orchestrate.engine import pause

    return pause(wait_for_input, timeout, key, reschedule=True)


async def asuspend_flow_run(
    wait_for_input: type[T] | None = None,
    flow_run_id: UUID | str | None = None,
    timeout: int | None = None,
    key: str | None = None,
) -> Any:
    """`suspend_flow_run` for async code."""
    if flow_run_id is not None:
        return suspend_flow_run(wait_for_input, flow_run_id, timeout, key)
    from orchestrate.engine import pause

    return pause(wait_for_input, timeout, key, True)


def resume_flow_run(flow_run_id: UUID | str, run_input: dict[str, Any] | None = None) -> Any:
    """Resume a paused or suspended flow run through this project's daemon.

    Args:
        flow_run_id: the run (its id, or a unique prefix of it).
        run_input: the input the run waits for, checked against its model.

    Raises:
        NotPausedError: the run is not paused.
        FlowPauseTimeout: the pause timed out; the run can no longer resume.
        BadInput: `run_input` does not fit what the run waits for.
    """
    if in_async_code():
        return aresume_flow_run(flow_run_id, run_input)
    from orchestrate.client import connect

    try:
        with connect(name="resume_flow_run") as client:
            client.resume_run(str(flow_run_id), run_input)
    except Conflict as exc:
        raise _refusal(exc) from exc


async def aresume_flow_run(
    flow_run_id: UUID | str, run_input: dict[str, Any] | None = None
) -> None:
    """`resume_flow_run` for async code."""
    import asyncio

    from orchestrate.client import connect

    def work() -> None:
        try:
            with connect(name="resume_flow_run") as client:
                client.resume_run(str(flow_run_id), run_input)
        except Conflict as exc:
            raise _refusal(exc) from exc

    await asyncio.to_thread(work)


def _refusal(exc: Conflict) -> Exception:
    """Prefect's exception for why the daemon refused the resume."""
    data = exc.data if isinstance(exc.data, dict) else {}
    reason = data.get("reason")
    if reason == "expired":
        return FlowPauseTimeout(str(exc))
    if reason == "not-paused":
        return NotPausedError(str(exc))
    return RuntimeError(f"Cannot resume this run: {exc}")


__all__ = [
    "apause_flow_run",
    "aresume_flow_run",
    "asuspend_flow_run",
    "pause_flow_run",
    "resume_flow_run",
    "suspend_flow_run",
]
