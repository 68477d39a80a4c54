"""A run's final state from what its body returned (Prefect's rules, for flows and tasks alike).

A returned State becomes the run's state; futures anywhere in the returned
value are resolved to their states; a collection of states is Completed only
if every one of them is, and keeps the states as its data.
"""

from __future__ import annotations

from typing import Any

from orchestrate.core.states import (
    STATE_NAMES,
    Completed,
    Crashed,
    Failed,
    State,
    TimedOut,
    format_exception,
)
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.timeouts import RunTimeout


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
        return Completed(data=value)
    value = resolve_futures_to_states(value)
    if isinstance(value, State):
        state = State(value.type, value.name, value.message, value.data)
        state.traceback = value.traceback
        return state
    if isinstance(value, list | tuple | set) and value and all(isinstance(v, State) for v in value):
        failed = [s for s in value if not s.is_completed()]
        if failed:
            return Failed(message=f"{len(failed)}/{len(value)} states failed.", data=value)
        return Completed(data=value)
    return Completed(data=value)


_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})


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


def failure_state(exc: BaseException) -> State:
    """The state a run ends in when its body raised: TimedOut, Failed, or Crashed (an interrupt)."""
    if isinstance(exc, RunAborted):
        return exc.state()
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RunTimeout):
        state = TimedOut(message=message, data=exc)
    elif isinstance(exc, Exception):
        state = Failed(message=message, data=exc)
    else:
        state = Crashed(message=f"Interrupted by {type(exc).__name__}", data=exc)
    state.traceback = format_exception(exc)
    return state


def unwrap_state(state: State, return_state: bool) -> Any:
    """What a direct call returns: the state, or its result (raising the run's error)."""
    error = state.data
    if isinstance(error, BaseException) and not isinstance(error, Exception):
        raise error  # an interrupt or an outer timeout goes on up
    return state if return_state else state.sync_result()
