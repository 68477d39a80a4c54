"""User values as JSON, without ever failing: the nearest JSON form, else the value's repr.

Parameters and event payloads are whatever users pass: pydantic models,
dataclasses, datetimes, open files. The store writes them as JSON columns and
workers ship them over the wire; both use these functions, one value at a time,
so one odd value costs only itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from typing import Any

_MAX_DEPTH = 20


def to_json(value: Any) -> str:
    """JSON text for `value`; non-JSON parts become their nearest JSON form or their repr."""
    try:
        return _ENCODE(value)
    except Exception:
        return json.dumps(_sanitize(value, 0), allow_nan=False)


def json_default(value: Any) -> Any:
    """`json.dumps` fallback for one value that is not plain JSON."""
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, PurePath):
        return str(value)
    return safe_repr(value)


def _sanitize(value: Any, depth: int) -> Any:
    """Slow path: rebuild `value` from parts that are certainly JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth > _MAX_DEPTH:
        return safe_repr(value)
    if isinstance(value, dict):
        return {safe_str(k): _sanitize(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_sanitize(v, depth + 1) for v in value]
    try:
        converted = json_default(value)
    except Exception:
        return safe_repr(value)
    if isinstance(converted, str):
        return converted
    return _sanitize(converted, depth + 1)


def safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


def safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return safe_repr(value)


#: One encoder for every call: `json.dumps` with a `default` builds a new one each time, and
#: the store encodes three JSON columns per event.
_ENCODE = json.JSONEncoder(default=json_default, allow_nan=False).encode
