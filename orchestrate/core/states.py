"""Run states with Prefect's types and names, and the one table of allowed moves.

A state is a small immutable value: a type (what the engine reasons about),
a name (what people read: `Late`, `Cached`, `TimedOut`…), a message, and the
data it carries (a run's result, or the exception it failed with). Every state
change of every run goes through `validate_transition`, so the rules live here
and nowhere else.
"""

from __future__ import annotations

import os
import sys
import time
import traceback as _traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic

from orchestrate.core.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    InvalidStateTransition,
    PausedRun,
    UnfinishedRun,
)


class StateType(StrEnum):
    """The kinds of state the engine and daemon reason about."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    PAUSED = "PAUSED"


TERMINAL_STATES = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
)

#: Every state name orc uses, with the type it belongs to.
STATE_NAMES: Mapping[str, StateType] = {
    "Scheduled": StateType.SCHEDULED,
    "Late": StateType.SCHEDULED,
    "AwaitingRetry": StateType.SCHEDULED,
    "AwaitingConcurrencySlot": StateType.SCHEDULED,
    "Resuming": StateType.SCHEDULED,
    "Pending": StateType.PENDING,
    "NotReady": StateType.PENDING,
    "Running": StateType.RUNNING,
    "Retrying": StateType.RUNNING,
    "Completed": StateType.COMPLETED,
    "Cached": StateType.COMPLETED,
    "Failed": StateType.FAILED,
    "TimedOut": StateType.FAILED,
    "Crashed": StateType.CRASHED,
    "Cancelling": StateType.CANCELLING,
    "Cancelled": StateType.CANCELLED,
    "Paused": StateType.PAUSED,
    "Suspended": StateType.PAUSED,
}

_S, _P, _R = StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING
_C, _F, _X = StateType.COMPLETED, StateType.FAILED, StateType.CRASHED
_CG, _CD, _PA = StateType.CANCELLING, StateType.CANCELLED, StateType.PAUSED

#: Allowed moves by type. `None` is a run that has no state yet. A terminal run
#: may only be re-scheduled (a retry); Running never goes back to Pending.
ALLOWED_TRANSITIONS: Mapping[StateType | None, frozenset[StateType]] = {
    None: frozenset({_S, _P}),
    _S: frozenset({_S, _P, _R, _F, _X, _CG, _CD}),
    _P: frozenset({_S, _P, _R, _C, _F, _X, _CG, _CD, _PA}),
    _R: frozenset({_S, _C, _F, _X, _CG, _CD, _PA}),
    _PA: frozenset({_S, _P, _R, _F, _X, _CG, _CD}),
    _CG: frozenset({_C, _F, _X, _CD}),
    _C: frozenset({_S}),
    _F: frozenset({_S}),
    _X: frozenset({_S}),
    _CD: frozenset({_S}),
}


if TYPE_CHECKING:  # the default (PEP 696) keeps a bare `State(...)` typed as State[Any]
    from typing_extensions import TypeVar

    R = TypeVar("R", default=Any)
else:  # at run time the plain TypeVar, so importing orc does not load typing_extensions
    from typing import TypeVar

    R = TypeVar("R")


class StoredResult:
    """A result kept only in storage (`cache_result_in_memory=False`): read back when asked for."""

    __slots__ = ("key", "read")

    def __init__(self, key: str, read: Callable[[], Any]) -> None:
        self.key = key
        self.read = read

    def __repr__(self) -> str:
        return f"StoredResult({self.key!r})"


class State(Generic[R]):
    """One state of a flow or task run (Prefect's `State`, same reading API).

    Generic in its result type as Prefect's is, so `State[int]` annotations work.

    Args:
        type: the state type.
        name: the display name; defaults to the type's own name.
        message: a human sentence about why the run is in this state.
        data: the run's result (Completed) or the exception (Failed, Crashed).
        timestamp: when the state began, seconds since the epoch; now by default.
        scheduled_time: for a Scheduled state, when the run is due (Prefect's
            `state_details.scheduled_time`); None: at the run's expected start time.
    """

    __slots__ = ("data", "message", "name", "run_id", "scheduled_time", "traceback", "ts", "type")

    def __init__(
        self,
        type: StateType,
        name: str | None = None,
        message: str | None = None,
        data: Any = None,
        timestamp: float | None = None,
        scheduled_time: float | None = None,
    ) -> None:
        self.type = type
        self.name = name or _DEFAULT_NAMES[type]
        self.message = message
        self.data = data
        self.ts = time.time() if timestamp is None else timestamp
        self.scheduled_time = scheduled_time
        self.traceback: str | None = None
        self.run_id: str | None = None  # the run this state belongs to, once set

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)

    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelling(self) -> bool:
        return self.type is StateType.CANCELLING

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_paused(self) -> bool:
        return self.type is StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in TERMINAL_STATES

    @property
    def exception(self) -> BaseException | None:
        """The exception a failed run ended with, if any."""
        return self.data if isinstance(self.data, BaseException) else None

    def result(
        self,
        raise_on_failure: bool = True,
        fetch: bool | None = None,
        retry_result_failure: bool = True,
        _sync: bool | None = None,
    ) -> Any:
        """The run's return value; raises the run's exception if it did not complete.

        Called from async code (an async task or flow, or a coroutine outside any
        run) it returns an awaitable of that, as Prefect's does: `await state.result()`.

        Args:
            raise_on_failure: when False, return the exception instead of raising it.
            fetch: accepted for Prefect compatibility; results are always at hand.
            retry_result_failure: accepted for Prefect compatibility; nothing is re-read.
            _sync: force the value (True) or the awaitable (False), as Prefect's `_sync`.
        """
        if _sync is False or (_sync is None and in_async_code()):
            return self.aresult(raise_on_failure)
        return self.sync_result(raise_on_failure)

    async def aresult(
        self,
        raise_on_failure: bool = True,
        fetch: bool | None = None,
        retry_result_failure: bool = True,
    ) -> Any:
        """`result()` for async code, whatever code calls it."""
        return self.sync_result(raise_on_failure)

    def sync_result(self, raise_on_failure: bool = True) -> Any:
        """`result()` always in this thread: how orc itself reads a state."""
        if self.type is StateType.COMPLETED:
            data = self.data
            return data.read() if type(data) is StoredResult else data
        if self.type not in TERMINAL_STATES:  # as in Prefect: raised even without raise_on_failure
            if self.type is StateType.PAUSED:
                raise PausedRun("Run is paused, its result is not available.", state=self)
            if isinstance(self.data, UnfinishedRun):
                raise self.data  # NotReady: why the task did not run
            raise UnfinishedRun(f"Run is in {self.type.value} state, its result is not available.")
        if raise_on_failure:
            raise self._error()
        # As Prefect's `_get_state_result`: the data, whatever it is (the exception, or the
        # states a flow returned); the run's error only when there is no data.
        return self._error() if self.data is None else self.data

    def _error(self) -> BaseException:
        """The exception a run that did not complete raises from `result()`."""
        return (
            self.exception
            or _first_failure(self.data)
            or _RUN_ERRORS[self.type](self.message or self.name)
        )

    def copy(self, **changes: Any) -> State:
        """A new state like this one, with some fields changed and a fresh timestamp."""
        fields = {"type": self.type, "name": self.name, "message": self.message, "data": self.data}
        fields["scheduled_time"] = self.scheduled_time
        fields.update(changes)
        return State(**fields)

    def __repr__(self) -> str:
        detail = f", message={self.message!r}" if self.message else ""
        return f"{self.name}(type={self.type.value}{detail})"


def _first_failure(data: Any) -> BaseException | None:
    """For a state that holds other states (a flow that returned them): the first one's error."""
    if isinstance(data, State):
        data = [data]
    if isinstance(data, list | tuple | set):
        for state in data:
            if isinstance(state, State) and state.is_final() and not state.is_completed():
                return state._error()
    return None


_DEFAULT_NAMES = {t: t.value.title() for t in StateType}
_RUN_ERRORS: dict[StateType, type[Exception]] = {
    StateType.FAILED: FailedRun,
    StateType.CRASHED: CrashedRun,
    StateType.CANCELLED: CancelledRun,
}


#: Answers "is the caller async code?" from the run in progress, or None outside any run.
#: The engine installs it (`set_run_probe`): this module cannot see the engine's context.
_run_probe: Callable[[], bool | None] | None = None


def set_run_probe(probe: Callable[[], bool | None]) -> None:
    """Let `State.result()` ask the engine whether the run in progress is async."""
    global _run_probe
    _run_probe = probe


def in_async_code() -> bool:
    """Prefect's rule: an async task or flow is async code; outside a run, a running loop is."""
    if _run_probe is not None:
        answer = _run_probe()
        if answer is not None:
            return answer
    asyncio = sys.modules.get("asyncio")  # not loaded: no loop can be running
    return asyncio is not None and asyncio._get_running_loop() is not None


def validate_transition(current: State | None, proposed: State) -> None:
    """Raise `InvalidStateTransition` unless the table allows `current` → `proposed`."""
    from_type = None if current is None else current.type
    if proposed.type not in ALLOWED_TRANSITIONS[from_type]:
        origin = "a new run" if current is None else current.name
        raise InvalidStateTransition(
            f"A run cannot move from {origin} to {proposed.name}; "
            f"from {from_type.value if from_type else 'no state'} it may move to "
            f"{', '.join(sorted(t.value for t in ALLOWED_TRANSITIONS[from_type]))}."
        )


def format_exception(exc: BaseException) -> str:
    """The traceback kept with a failed run, starting at the user's code (orc's frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    return "".join(_traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


#: The `orchestrate/` folder: frames from files under it are orc's, not the user's.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _epoch(moment: float | datetime | None) -> float | None:
    """Seconds since the epoch: Prefect's states take a datetime."""
    return moment.timestamp() if isinstance(moment, datetime) else moment


def _constructor(type: StateType, name: str) -> Any:
    def make(
        message: str | None = None,
        data: Any = None,
        name: str = name,
        timestamp: float | datetime | None = None,
        scheduled_time: float | datetime | None = None,
        **_: Any,
    ) -> State:
        return State(
            type,
            name=name,
            message=message,
            data=data,
            timestamp=_epoch(timestamp),
            scheduled_time=_epoch(scheduled_time),
        )

    make.__name__ = name
    make.__doc__ = f"A `{name}` state (type {type.value})."
    return make


Scheduled = _constructor(StateType.SCHEDULED, "Scheduled")
Late = _constructor(StateType.SCHEDULED, "Late")
AwaitingRetry = _constructor(StateType.SCHEDULED, "AwaitingRetry")
AwaitingConcurrencySlot = _constructor(StateType.SCHEDULED, "AwaitingConcurrencySlot")
Pending = _constructor(StateType.PENDING, "Pending")
NotReady = _constructor(StateType.PENDING, "NotReady")
Running = _constructor(StateType.RUNNING, "Running")
Retrying = _constructor(StateType.RUNNING, "Retrying")
Completed = _constructor(StateType.COMPLETED, "Completed")
Cached = _constructor(StateType.COMPLETED, "Cached")
Failed = _constructor(StateType.FAILED, "Failed")
TimedOut = _constructor(StateType.FAILED, "TimedOut")
Crashed = _constructor(StateType.CRASHED, "Crashed")
Cancelling = _constructor(StateType.CANCELLING, "Cancelling")
Cancelled = _constructor(StateType.CANCELLED, "Cancelled")
Paused = _constructor(StateType.PAUSED, "Paused")
Suspended = _constructor(StateType.PAUSED, "Suspended")

__all__ = [
    "ALLOWED_TRANSITIONS",
    "STATE_NAMES",
    "TERMINAL_STATES",
    "AwaitingConcurrencySlot",
    "AwaitingRetry",
    "Cached",
    "Cancelled",
    "Cancelling",
    "Completed",
    "Crashed",
    "Failed",
    "Late",
    "NotReady",
    "Paused",
    "Pending",
    "Retrying",
    "Running",
    "Scheduled",
    "State",
    "StateType",
    "StoredResult",
    "Suspended",
    "TimedOut",
    "format_exception",
    "in_async_code",
    "set_run_probe",
    "validate_transition",
]
