"""A run's final state from what its body returned (Prefect's rules, for flows and tasks alike).

Futures anywhere in the returned value are resolved to their states. A state
the body built becomes the run's state; a state of another run, or a
collection of states, gives an aggregate one (Completed only if every one of
them is) that keeps what was returned as its data.
"""

from __future__ import annotations

import signal
from collections import Counter
from typing import Any

from orchestrate.core.errors import RunTimeout, TerminationSignal
from orchestrate.core.states import (
    STATE_NAMES,
    Completed,
    Crashed,
    Failed,
    State,
    StateType,
    TimedOut,
    format_exception,
)
from orchestrate.engine.futures import PrefectFuture


def resolve_futures_to_states(value: Any) -> Any:
    """`value` with every future in it (in lists, tuples, sets, dicts) replaced by its final state."""
    if isinstance(value, PrefectFuture):
        return value.wait_state()
    if isinstance(value, list | tuple | set | frozenset):
        items = [resolve_futures_to_states(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=False)):
            return value
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        resolved = {k: resolve_futures_to_states(v) for k, v in value.items()}
        return value if all(resolved[k] is value[k] for k in value) else resolved
    return value


def resolve_futures_to_results(value: Any) -> Any:
    """`value` with every future in it replaced by its result (Prefect's helper)."""
    return states_to_results(resolve_futures_to_states(value))


def state_from_return(value: Any) -> State:
    """The state a run ends in, given its body's return value."""
    if type(value) in _PLAIN:  # nothing in it to resolve: the common case, kept cheap
        return State(StateType.COMPLETED, "Completed", None, value)  # `Completed(data=value)`
    value = resolve_futures_to_states(value)
    if isinstance(value, State) and value.run_id is None:  # built by the body: adopted as is
        state = ReturnedState(value.type, value.name, value.message, value.data)
        state.traceback = value.traceback
        return state
    if isinstance(value, State) or is_state_collection(value):
        return aggregate_state(value)
    return Completed(data=value)


class ReturnedState(State):
    """A state the body built and returned, become its run's state.

    Marked so a direct task call can hand it back as the call's value, as Prefect's
    task engine does (it returns what the body returned, states included).
    """

    __slots__ = ()


def is_state_collection(value: Any) -> bool:
    """A non-empty list, tuple or set of states only (Prefect's `is_state_iterable`)."""
    return (
        isinstance(value, list | tuple | set)
        and bool(value)
        and all(isinstance(v, State) for v in value)
    )


def aggregate_state(value: State | list[State] | tuple[State, ...] | set[State]) -> State:
    """Prefect's rule for returned run states: Completed if all are, else Cancelled, Paused, Failed.

    The state keeps what was returned as its data, so the caller gets the states back.
    """
    states = [value] if isinstance(value, State) else list(value)
    total = len(states)
    counts = Counter(s.type for s in states)
    if counts[StateType.COMPLETED] == total:
        return Completed(message="All states completed.", data=value)
    if counts[StateType.CANCELLED]:
        kind, message = (
            StateType.CANCELLED,
            f"{counts[StateType.CANCELLED]}/{total} states cancelled.",
        )
    elif counts[StateType.PAUSED]:
        kind, message = StateType.PAUSED, f"{counts[StateType.PAUSED]}/{total} states paused."
    else:
        kind = StateType.FAILED
        failed = counts[StateType.FAILED] + counts[StateType.CRASHED]
        unfinished = sum(not s.is_final() for s in states)
        message = (
            f"{failed}/{total} states failed."
            if failed
            else f"{unfinished}/{total} states are not final."
        )
    return State(kind, message=message, data=value)


_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})
_COMPLETED = StateType.COMPLETED  # read once: the lookup on the class costs, on every call


def states_to_results(value: Any) -> Any:
    """`value` with every state in it replaced by its result."""
    if isinstance(value, State):
        return value.sync_result()
    if isinstance(value, list | tuple | set | frozenset):
        items = [states_to_results(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: states_to_results(v) for k, v in value.items()}
    return value


class RunAborted(BaseException):
    """Raised into a flow run's body to end the run now, in `state_name`, without retries.

    A BaseException, so the user's `except Exception` lets it pass; the state
    carries it, so a subflow stopped this way stops its parent too, and a task
    run it interrupts ends in the same state (a cancel cancels the task too).
    """

    def __init__(self, state_name: str = "Cancelled", message: str | None = None) -> None:
        if state_name not in STATE_NAMES:
            raise ValueError(f"RunAborted: {state_name!r} is not a state name.")
        super().__init__(message or state_name)
        self.state_name = state_name
        self.message = message

    def state(self) -> State:
        return State(STATE_NAMES[self.state_name], self.state_name, self.message, data=self)


def failure_state(exc: BaseException, noun: str = "Task run") -> State:
    """The state a run ends in when its body raised: TimedOut, Failed, or Crashed (an interrupt).

    As in Prefect, any `TimeoutError` from the body ends the run TimedOut.
    """
    if isinstance(exc, RunAborted):
        return exc.state()
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError):
        if isinstance(exc, RunTimeout) and exc.seconds is not None:
            message = f"{noun} exceeded timeout of {exc.seconds} second(s)"
        else:
            message = f"{noun} failed due to timeout: {exc!r}"
        state = TimedOut(message=message, data=exc)
    elif isinstance(exc, Exception):
        state = Failed(message=message, data=exc)
    elif isinstance(exc, TerminationSignal):  # Prefect's message, and which signal it was
        name = signal.Signals(exc.signal).name
        state = Crashed(
            message=f"Execution was aborted by a termination signal ({name}).", data=exc
        )
    else:
        state = Crashed(message=_interrupted(exc), data=exc)
    state.traceback = format_exception(exc)
    return state


def _interrupted(exc: BaseException) -> str:
    """Why a run was interrupted; a `sys.exit` says with what, so `exit(0)` and `exit(3)` differ."""
    if isinstance(exc, SystemExit):
        return f"Interrupted by SystemExit: the code called sys.exit({exc.code!r})"
    return f"Interrupted by {type(exc).__name__}"


def unwrap_state(state: State, return_state: bool) -> Any:
    """What a direct call returns: the state, or its result (raising the run's error).

    Returned states come back as they are, failed ones too, as Prefect hands back
    what the body returned; only a single returned run state raises its error.
    """
    data = state.data
    if type(data) in _PLAIN and state.type is StateType.COMPLETED and not return_state:
        return data  # what the rest would find, for the common case: a plain value, completed
    if isinstance(data, BaseException) and not isinstance(data, Exception):
        raise data  # an interrupt or an outer timeout goes on up
    if return_state:
        return state
    if is_state_collection(data):
        return data
    return state.sync_result()


def unwrap_task_state(state: State, return_state: bool) -> Any:
    """What a direct task call returns: `unwrap_state`, but a state the body returned comes back.

    Prefect's task engine returns the body's return value as it is, so a task that
    returns `Failed(...)` gives its caller that state (its run is Failed; nothing is
    raised). A flow call does not: it raises, as Prefect's flow engine does.
    """
    data = state.data
    if (
        type(data) in _PLAIN
        and type(state) is State
        and state.type is _COMPLETED
        and not return_state
    ):
        return data  # the common case, as in `unwrap_state`
    if type(state) is ReturnedState:
        return state
    return unwrap_state(state, return_state)
