"""Turning run values into what a DuckDB column holds, without ever failing a flush.

Parameters and event payloads are whatever users pass: pydantic models,
dataclasses, datetimes, open files. Each becomes JSON if it can and its
`repr` if it cannot, one value at a time, so one odd value costs only itself.
"""

from __future__ import annotations

from typing import Any

from orchestrate.jsonvalues import safe_repr, safe_str, to_json
from orchestrate.states import State, format_exception

__all__ = ["safe_repr", "safe_str", "state_columns", "to_json"]


def state_columns(state: State) -> tuple[Any, ...]:
    """(type, name, message, ts, error_type, error_message, traceback) of one state."""
    exc = state.exception
    if exc is None:
        return (state.type.value, state.name, state.message, state.ts, None, None, state.traceback)
    error_type = type(exc).__qualname__
    module = type(exc).__module__
    if module not in ("builtins", "__main__"):
        error_type = f"{module}.{error_type}"
    return (
        state.type.value,
        state.name,
        state.message,
        state.ts,
        error_type,
        safe_str(exc),
        state.traceback or _traceback_of(exc),
    )


def _traceback_of(exc: BaseException) -> str | None:
    if exc.__traceback__ is None:
        return None
    try:
        return format_exception(exc)
    except Exception:
        return None
