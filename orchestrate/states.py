"""States of flow and task runs (Prefect's `prefect.states`).

`Completed(data=...)`, `Failed(message=...)` and the rest build a `State`;
the transition table every run follows lives in `orchestrate.core.states`.
"""

from orchestrate.core.states import (
    ALLOWED_TRANSITIONS,
    STATE_NAMES,
    TERMINAL_STATES,
    AwaitingConcurrencySlot,
    AwaitingRetry,
    Cached,
    Cancelled,
    Cancelling,
    Completed,
    Crashed,
    Failed,
    Late,
    NotReady,
    Paused,
    Pending,
    Retrying,
    Running,
    Scheduled,
    State,
    StateType,
    Suspended,
    TimedOut,
    format_exception,
    validate_transition,
)

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
    "Suspended",
    "TimedOut",
    "format_exception",
    "validate_transition",
]
