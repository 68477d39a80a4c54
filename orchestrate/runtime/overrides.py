"""Environment overrides of runtime attributes, for testing code that reads them.

As Prefect's `PREFECT__RUNTIME__FLOW_RUN__NAME=...`: a variable named after
the attribute replaces its value, cast to the type the real value has. orc
reads its own prefix first (`ORC__RUNTIME__...`) and Prefect's too, so tests
written for Prefect keep working.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

PREFIXES = ("ORC__RUNTIME__", "PREFECT__RUNTIME__")
_MISSING = object()


def _utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_CASTS: dict[type, Callable[[str], Any]] = {
    bool: lambda text: text.lower() == "true",
    int: int,
    float: float,
    str: str,
    datetime: _utc,
    type(None): str,  # an attribute unset here (None) takes the text as it is
}


def override(section: str, attribute: str) -> str | None:
    """The text set in the environment for `section.attribute`, if any."""
    suffix = f"{section.upper()}__{attribute.upper()}"
    for prefix in PREFIXES:
        text = os.environ.get(prefix + suffix)
        if text is not None:
            return text
    return None


def read(module: str, section: str, attribute: str, getters: dict[str, Callable[[], Any]]) -> Any:
    """An attribute's value: the real one, or its override cast to the real one's type."""
    getter = getters.get(attribute)
    text = override(section, attribute)
    if getter is None:
        if text is None:
            raise AttributeError(f"{module} has no attribute {attribute!r}")
        return text
    value = getter()
    if text is None:
        return value
    cast = _CASTS.get(type(value))
    if cast is None:
        raise ValueError(
            f"{module}.{attribute} ({type(value).__name__}) cannot be set from an environment "
            "variable; use pytest's monkeypatch on the attribute instead."
        )
    return cast(text)
