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
from collections.abc import Callable
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


def _encoder() -> Callable[[Any], str]:
    """`json.dumps(value, default=json_default, allow_nan=False)`, built once for every call.

    `JSONEncoder.encode` builds its C encoder anew on each call, about half of
    what a small value costs, and the store encodes three JSON columns per
    event. This C encoder is built once, with no table of the containers being
    encoded (`check_circular` off), so threads may share it: a circular value
    raises RecursionError instead of ValueError, and `to_json` takes the same
    slow path for either. The text is the same as `json.dumps` gives.
    """
    fallback = json.JSONEncoder(default=json_default, allow_nan=False).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return fallback
    ascii_text = json.encoder.encode_basestring_ascii
    # (markers, default, encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan)
    encode = make(None, json_default, ascii_text, None, ": ", ", ", False, False, False)

    def encoded(value: Any) -> str:
        return "".join(encode(value, 0))

    return encoded


_ENCODE = _encoder()
