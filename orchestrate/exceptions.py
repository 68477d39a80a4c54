"""Prefect's `prefect.exceptions` names, so `from prefect.exceptions import X` moves over."""

from orchestrate.core.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    FlowPauseTimeout,
    FlowRunTimeoutError,
    InvalidStateTransition,
    MappingLengthMismatch,
    MappingMissingIterable,
    MissingResult,
    NotPausedError,
    OrcError,
    ParameterTypeError,
    PausedRun,
    ResultTimeout,
    RunTimeout,
    TaskRunTimeoutError,
    UnfinishedRun,
    UpstreamTaskError,
)
from orchestrate.logging import MissingContextError

PrefectException = OrcError
ParameterBindError = ParameterTypeError

__all__ = [
    "CancelledRun",
    "CrashedRun",
    "FailedRun",
    "FlowPauseTimeout",
    "FlowRunTimeoutError",
    "InvalidStateTransition",
    "MappingLengthMismatch",
    "MappingMissingIterable",
    "MissingContextError",
    "MissingResult",
    "NotPausedError",
    "OrcError",
    "ParameterBindError",
    "ParameterTypeError",
    "PausedRun",
    "PrefectException",
    "ResultTimeout",
    "RunTimeout",
    "TaskRunTimeoutError",
    "UnfinishedRun",
    "UpstreamTaskError",
]
