"""Turning what was typed in the run form into parameter values, checked against the flow's JSON Schema.

The daemon validates again (and its refusal is shown too); checking here
means a typo is caught in the form, next to the field, before anything is
sent. Only what a form can get wrong is checked: types, required fields,
enums and bounds. Text that parses as JSON is taken as JSON for lists,
objects and untyped fields.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

_EXAMPLES = {"array": "[1, 2]", "object": '{"a": 1}'}


@dataclass(frozen=True)
class FormField:
    """One parameter as the form shows it."""

    name: str
    kind: str  # "string", "integer", "number", "boolean", "array", "object", or "" for any
    required: bool
    default_text: str
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass
class FormResult:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def form_fields(schema: dict[str, Any] | None, defaults: dict[str, Any]) -> list[FormField]:
    """The fields to ask for: the schema's properties, or the deployment's default parameters."""
    properties: dict[str, Any] = (schema or {}).get("properties", {})
    required = set((schema or {}).get("required", []))
    names = list(properties) or list(defaults)
    fields: list[FormField] = []
    for name in names:
        spec = properties.get(name, {})
        default = defaults.get(name, spec.get("default"))
        fields.append(
            FormField(
                name=name,
                kind=_kind(spec) or _kind_of_value(default),
                required=name in required and name not in defaults,
                default_text="" if default is None else _as_text(default),
                description=str(spec.get("description") or spec.get("title") or ""),
                choices=tuple(str(c) for c in spec.get("enum", ())),
            )
        )
    return fields


def check_form(
    fields: list[FormField], typed: dict[str, str], schema: dict[str, Any] | None
) -> FormResult:
    """Values for every field that has one, or a message per field that is wrong."""
    properties: dict[str, Any] = (schema or {}).get("properties", {})
    result = FormResult()
    for form_field in fields:
        raw = typed.get(form_field.name, "").strip()
        if not raw:
            if form_field.required:
                result.errors[form_field.name] = "required: type a value"
            continue
        try:
            value = coerce(form_field.kind, raw)
            _check_bounds(properties.get(form_field.name, {}), value)
        except ValueError as error:
            result.errors[form_field.name] = str(error)
        else:
            result.values[form_field.name] = value
    return result


def coerce(kind: str, raw: str) -> Any:
    """`raw` as a value of JSON Schema type `kind`; ValueError says what was expected."""
    if kind == "string":
        return raw
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        if not math.isfinite(number):  # JSON has no nan or inf: the run would refuse it
            raise ValueError(f"{raw!r} is not a finite number")
        return number
    if kind == "boolean":
        return _boolean(raw)
    return _json_or_text(kind, raw)


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"true", "yes", "y", "1", "on"}:
        return True
    if lowered in {"false", "no", "n", "0", "off"}:
        return False
    raise ValueError(f"{raw!r} is not true or false")


def _json_or_text(kind: str, raw: str) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        if kind in {"array", "object"}:
            raise ValueError(f"{raw!r} is not a JSON {kind}: e.g. {_EXAMPLES[kind]}") from None
        return raw
    if kind == "array" and not isinstance(value, list):
        raise ValueError(f"{raw!r} is not a JSON array: e.g. {_EXAMPLES[kind]}")
    if kind == "object" and not isinstance(value, dict):
        raise ValueError(f"{raw!r} is not a JSON object: e.g. {_EXAMPLES[kind]}")
    return value


def _check_bounds(spec: dict[str, Any], value: Any) -> None:
    if "enum" in spec and value not in spec["enum"]:
        raise ValueError(f"must be one of {', '.join(map(str, spec['enum']))}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            raise ValueError(f"must be at least {spec['minimum']}")
        if "maximum" in spec and value > spec["maximum"]:
            raise ValueError(f"must be at most {spec['maximum']}")


def _kind(spec: dict[str, Any]) -> str:
    kind = spec.get("type")
    if isinstance(kind, str):
        return kind
    options = [s.get("type") for s in spec.get("anyOf", []) if s.get("type") not in (None, "null")]
    return options[0] if len(options) == 1 and isinstance(options[0], str) else ""


def _kind_of_value(value: Any) -> str:
    kinds = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }
    return kinds.get(type(value), "")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
