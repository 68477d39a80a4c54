"""Checking a resume's input against the JSON schema of the model a paused flow waits for.

The daemon has the schema only (the model lives in the flow's code, in a worker
that may be gone), so it checks what pydantic's schemas say: types, required
and unknown fields, enums, bounds, nested models and lists. It is as lax as
pydantic's own validation (`"3"` fits an integer); the worker validates with
the model itself when the run goes on.
"""

from __future__ import annotations

from typing import Any

_INTEGER_TEXT = frozenset("0123456789+-")


def problems(value: Any, schema: dict[str, Any]) -> list[str]:
    """What is wrong with `value` for `schema`, one sentence each; empty when it fits."""
    found: list[str] = []
    _check(value, schema, schema.get("$defs", {}), "input", found)
    return found


def _check(
    value: Any, schema: dict[str, Any], defs: dict[str, Any], at: str, out: list[str]
) -> None:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = defs.get(ref.rpartition("/")[2], {})
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        if not any(not _problems_of(value, option, defs, at) for option in options):
            out.append(f"{at} fits none of {_kinds(options)}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{at} must be one of {', '.join(map(repr, schema['enum']))}, not {value!r}")
        return
    if "const" in schema and value != schema["const"]:
        out.append(f"{at} must be {schema['const']!r}")
        return
    kind = schema.get("type")
    if kind is not None and not _fits_type(value, kind):
        out.append(f"{at} must be {_article(kind)}, not {value!r}")
        return
    if isinstance(value, dict):
        _check_object(value, schema, defs, at, out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check(item, schema["items"], defs, f"{at}[{i}]", out)
    _check_bounds(value, schema, at, out)


def _check_object(
    value: dict[str, Any], schema: dict[str, Any], defs: dict[str, Any], at: str, out: list[str]
) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            out.append(f"{at} lacks the required field {name!r}")
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], defs, f"{name!r}", out)
        elif schema.get("additionalProperties") is False:
            out.append(f"{at} has no field {name!r} (it has: {', '.join(properties) or 'none'})")


def _check_bounds(value: Any, schema: dict[str, Any], at: str, out: list[str]) -> None:
    number = _number(value)
    if number is not None and not isinstance(value, bool):
        for key, ok, words in (
            ("minimum", lambda b: number >= b, "at least"),
            ("maximum", lambda b: number <= b, "at most"),
            ("exclusiveMinimum", lambda b: number > b, "more than"),
            ("exclusiveMaximum", lambda b: number < b, "less than"),
        ):
            if key in schema and not ok(schema[key]):
                out.append(f"{at} must be {words} {schema[key]}, not {value!r}")
    if isinstance(value, str | list):
        low, high = (
            schema.get("minLength", schema.get("minItems")),
            schema.get("maxLength", schema.get("maxItems")),
        )
        if low is not None and len(value) < low:
            out.append(f"{at} must have at least {low} character(s) or item(s)")
        if high is not None and len(value) > high:
            out.append(f"{at} must have at most {high} character(s) or item(s)")


def _problems_of(value: Any, schema: dict[str, Any], defs: dict[str, Any], at: str) -> list[str]:
    found: list[str] = []
    _check(value, schema, defs, at, found)
    return found


def _fits_type(value: Any, kind: str | list[str]) -> bool:
    if isinstance(kind, list):
        return any(_fits_type(value, k) for k in kind)
    if kind == "integer":
        return _integer(value)
    if kind == "number":
        return _number(value) is not None and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool) or value in (0, 1, "true", "false", "True", "False")
    return isinstance(value, _JSON_TYPES.get(kind, object))


def _integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and bool(value.strip()) and set(value.strip()) <= _INTEGER_TEXT


def _number(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "array": list,
    "null": type(None),
}


def _kinds(options: list[dict[str, Any]]) -> str:
    return " or ".join(str(o.get("type") or o.get("$ref", "?").rpartition("/")[2]) for o in options)


def _article(kind: str | list[str]) -> str:
    if isinstance(kind, list):
        return " or ".join(_article(k) for k in kind)
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


__all__ = ["problems"]
