"""Argument annotations for task calls (Prefect's `prefect.utilities.annotations`)."""

from orchestrate.core.annotations import (
    BaseAnnotation,
    allow_failure,
    quote,
    unmapped,
)

__all__ = [
    "BaseAnnotation",
    "allow_failure",
    "quote",
    "unmapped",
]
