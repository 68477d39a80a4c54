"""Reading stored values that may not fit their view, without failing the read.

A row written by an older orc, or by hand, can hold anything. Each value
that does not fit is replaced by an empty one, and the problem is noted with
the raw value, so one bad row never fails a whole listing and the view's
`malformed` still says what was wrong.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

_RAW_SHOWN = 200
_UNREADABLE = object()


def time_of(epoch: float | None) -> datetime | None:
    """A stored time; one out of Python's range (DuckDB allows `infinity`) reads as unknown."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def raw(value: Any) -> str:
    """A stored value as it reads in the file, cut short."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _RAW_SHOWN else text[: _RAW_SHOWN - 1] + "…"


def noted(notes: list[str]) -> str | None:
    """What a view's `malformed` says: every problem noted, or None."""
    return "; ".join(notes) if notes else None


def text_of(value: Any, name: str, notes: list[str]) -> str:
    """A text column that must hold text: empty (and noted) when it does not."""
    if isinstance(value, str):
        return value
    notes.append(f"{name}: missing" if value is None else f"{name}: not text ({raw(value)})")
    return "" if value is None else str(value)


def is_labels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def is_label_list(value: Any) -> bool:
    return isinstance(value, list) and all(is_labels(item) for item in value)


def fitting(text: Any, fits: Any, empty: Any, problem: str, notes: list[str]) -> Any:
    """The JSON in `text` if `fits(value)`; else `empty`, and the problem noted with the raw text."""
    if text is None or text == "":
        return empty
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        value = _UNREADABLE
    if value is not _UNREADABLE and fits(value):
        return value
    notes.append(f"{problem} ({raw(text)})")
    return empty


def params_of(text: str | None, notes: list[str] | None = None) -> dict[str, Any]:
    """A run's stored parameters: a JSON object, or a lone JSON value kept under "value"."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = _UNREADABLE
    if isinstance(value, dict):
        return value
    if notes is not None:
        notes.append(f"parameters: not a JSON object ({raw(text)})")
    return {} if value is _UNREADABLE else {"value": value}
