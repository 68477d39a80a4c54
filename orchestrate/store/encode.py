"""Turning run values into what a DuckDB column holds, without ever failing a flush.

Parameters and event payloads are whatever users pass: pydantic models,
dataclasses, datetimes, open files. Each becomes JSON if it can and its
`repr` if it cannot, one value at a time, so one odd value costs only itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from orchestrate.core.jsonvalues import safe_repr, safe_str, to_json
from orchestrate.core.states import State, StateType, format_exception

__all__ = [
    "NULL",
    "ROW_SEPARATOR",
    "SEPARATOR",
    "TYPE_TEXT",
    "column_text",
    "rows_text",
    "safe_repr",
    "safe_str",
    "sanitised",
    "state_columns",
    "to_json",
]


def state_columns(state: State) -> tuple[Any, ...]:
    """(type, name, message, ts, error_type, error_message, traceback) of one state."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        return (
            TYPE_TEXT[state.type],
            state.name,
            state.message,
            state.ts,
            None,
            None,
            state.traceback,
        )
    error_type = type(exc).__qualname__
    module = type(exc).__module__
    if module not in ("builtins", "__main__"):
        error_type = f"{module}.{error_type}"
    return (
        TYPE_TEXT[state.type],
        state.name,
        state.message,
        state.ts,
        error_type,
        safe_str(exc),
        state.traceback or _traceback_of(exc),
    )


#: A state type's stored text (a dict lookup; `.value` of an enum member is a slow property).
TYPE_TEXT = {kind: kind.value for kind in StateType}


def _traceback_of(exc: BaseException) -> str | None:
    if exc.__traceback__ is None:
        return None
    try:
        return format_exception(exc)
    except Exception:
        return None


# --- columns as text -----------------------------------------------------------------
#
# DuckDB's Python binding turns a list parameter into one boxed value per element,
# holding the GIL, at about a microsecond each: with a flow's task runs competing for
# the GIL, that was most of what recording cost. A column sent as one string, its
# values joined by a separator and split again by DuckDB (GIL released), costs a
# join here and a vectorised split there.

#: Between two values of a column, or of a row (`rows_text`).
SEPARATOR = "\x1f"
#: Between two rows (`rows_text`).
ROW_SEPARATOR = "\x1e"
#: A NULL value.
NULL = "\x15"
_BOOL_TEXT = {True: "t", False: "f"}
_FAILED_TEXT = (TypeError, KeyError, ValueError, OverflowError)


def column_text(kind: str, values: Sequence[Any]) -> str | None:
    """`values` (a column of `kind`, as `batch` names them) as one string; None if text won't do.

    None means a value holds the separator or the NULL mark, or is not of the
    column's type: the column then goes to DuckDB as a list, as it always could.
    """
    try:
        texts = _texts(kind, values)
        text = None if texts is None else SEPARATOR.join(texts)  # a TypeError for a non-str
    except _FAILED_TEXT:
        return None
    if text is None or not _whole(text, len(values) - 1, 0, _nulls(kind, values)):
        return None
    return text


def rows_text(kinds: Sequence[str], columns: Sequence[Sequence[Any]]) -> str | None:
    """A table's columns (of `kinds`) as one string, row by row; None if text won't do.

    Rows go apart by `ROW_SEPARATOR`, a row's values by `SEPARATOR`. DuckDB
    splits one string into rows and each row into its values for less than it
    splits and unnests one string per column (five flow runs' 25 columns: 0.58
    against 0.82 ms), and a flush sends one such statement per table.
    """
    try:
        texts = [_texts(kind, column) for kind, column in zip(kinds, columns, strict=True)]
        if None in texts:
            return None
        text = ROW_SEPARATOR.join(map(SEPARATOR.join, zip(*texts, strict=True)))
    except _FAILED_TEXT:
        return None
    count = len(columns[0])
    nulls = sum(_nulls(kind, column) for kind, column in zip(kinds, columns, strict=True))
    return text if _whole(text, count * (len(kinds) - 1), count - 1, nulls) else None


def _whole(text: str, separators: int, row_separators: int, nulls: int) -> bool:
    """No value holds a separator, a NULL mark, or a NUL that SQL text can't."""
    return (
        text.count(SEPARATOR) == separators
        and text.count(ROW_SEPARATOR) == row_separators
        and text.count(NULL) == nulls
        and "\x00" not in text
    )


def _nulls(kind: str, values: Sequence[Any]) -> int:
    """The NULL marks `_texts` put in (tags have none: no tags are `[]`)."""
    return 0 if kind == "tags" else values.count(None)


def _texts(kind: str, values: Sequence[Any]) -> Sequence[Any] | None:
    """Each value's text (NULL for None); None, or an error, when a value's type won't go as text.

    Strings are checked as they are joined (a TypeError for anything but str).
    """
    if kind in ("str", "json"):
        if not values.count(None):
            return values
        return [NULL if value is None else value for value in values]
    if kind in ("time", "int"):
        return _numbers(values, kind)
    if kind == "bool":
        return list(map(_BOOL_TEXT.__getitem__, values))
    if kind == "tags":
        if not any(values):  # no run in the flush has tags: the common case, at C speed
            return ["[]"] * len(values)
        return ["[]" if not tags else json.dumps(tags) for tags in values]
    return None


def _numbers(values: Sequence[Any], kind: str) -> list[str] | None:
    types = set(map(type, values))
    if not types <= (_TIME_TYPES if kind == "time" else _INT_TYPES):
        return None  # a bool, or anything else: as a list
    if kind == "int":
        if _NONE_TYPE not in types:
            return list(map(repr, values))
        return [NULL if value is None else repr(value) for value in values]
    if _NONE_TYPE in types:
        return [NULL if value is None else str(round(value * 1e6)) for value in values]
    # Whole microseconds, rounded as DuckDB's to_timestamp rounds the float: three
    # times cheaper than the float's repr, which a flush would take for every state.
    return [str(round(value * 1e6)) for value in values]


_NONE_TYPE = type(None)
_TIME_TYPES = {int, float, _NONE_TYPE}
_INT_TYPES = {int, _NONE_TYPE}


# --- a record DuckDB refused, made storable ---------------------------------------------

R = TypeVar("R")

#: INTEGER columns (run_count, dynamic_key, level) hold 32 bits.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def sanitised(record: R) -> R | None:
    """A copy of `record` whose every field has the type its column holds; None if its state is unusable.

    A writer calls this for a record DuckDB refused (a name that is not a
    string, a NaN time, a count past 32 bits): what can be kept is kept, a value
    that cannot be is stored as its text or as NULL.
    """
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return None
    changes: dict[str, Any] = {}
    for spec in dataclasses.fields(record):
        value = getattr(record, spec.name)
        fix = _FIXES.get(str(spec.type).replace(" | None", ""))
        if fix is not None and (value is not None or fix is _tags):
            changes[spec.name] = fix(value)
    if "state" in changes and changes["state"] is None:
        return None
    return dataclasses.replace(record, **changes)


def _text(value: Any) -> str:
    return (value if isinstance(value, str) else safe_str(value)).replace("\x00", "\ufffd")


def _time(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e11 else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and _INT_MIN <= value <= _INT_MAX else None


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    try:
        return tuple(_text(tag) for tag in value)
    except TypeError:
        return (_text(value),)


def _state(state: Any) -> State | None:
    if not isinstance(state, State) or state.type not in TYPE_TEXT:
        return None
    message = None if state.message is None else _text(state.message)
    fixed = State(state.type, _text(state.name), message, state.data, _time(state.ts))
    fixed.traceback = None if state.traceback is None else _text(state.traceback)
    return fixed


#: How a field of each annotated type is made storable (optional types share their fixer).
_FIXES: dict[str, Callable[[Any], Any]] = {
    "str": _text,
    "EdgeKind": _text,
    "TaskRunKind": _text,
    "float": _time,
    "int": _int,
    "bool": bool,
    "tuple[str, ...]": _tags,
    "State": _state,
}
