"""Prefect's `prefect.exceptions` names, so `from prefect.exceptions import X` moves over."""

from orchestrate.core.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    InvalidStateTransition,
    MappingLengthMismatch,
    MappingMissingIterable,
    MissingResult,
    OrcError,
    ParameterTypeError,
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
    "InvalidStateTransition",
    "MappingLengthMismatch",
    "MappingMissingIterable",
    "MissingContextError",
    "MissingResult",
    "OrcError",
    "ParameterBindError",
    "ParameterTypeError",
    "PrefectException",
    "UnfinishedRun",
    "UpstreamTaskError",
]
