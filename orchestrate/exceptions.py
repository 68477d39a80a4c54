"""Prefect's `prefect.exceptions` names, so `from prefect.exceptions import X` moves over."""

from orchestrate.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    InvalidStateTransition,
    MissingResult,
    OrcError,
    ParameterTypeError,
    UnfinishedRun,
    UpstreamTaskError,
)

PrefectException = OrcError

__all__ = [
    "CancelledRun",
    "CrashedRun",
    "FailedRun",
    "InvalidStateTransition",
    "MissingResult",
    "OrcError",
    "ParameterTypeError",
    "PrefectException",
    "UnfinishedRun",
    "UpstreamTaskError",
]
