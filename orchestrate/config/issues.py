"""Problems found in `flows.toml`, each with its file:line:column, field path and fix.

`SourceFile.issue(path, message)` makes one; `issues_from_validation_error`
turns a pydantic `ValidationError` into many, worded for people who edit TOML
rather than for Python programmers. Both are reusable by anything else that
validates part of the file (automations validate `raw_automations` with them).
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from difflib import get_close_matches
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag

from orchestrate.config.locate import FieldPath, Position, SourceMap, format_path
from orchestrate.core.errors import OrcError

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file.

    `str(issue)` is `flows.toml:14:8 deployments[1].schedules[0].cron: <message>`.
    """

    file: str
    line: int
    column: int
    path: str  # like deployments[1].schedules[0].cron; empty for a TOML syntax error
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SourceFile:
    """The text of a config file, and the name it has in messages."""

    text: str
    display: str

    @cached_property
    def source_map(self) -> SourceMap:
        """Built on first use only: a valid file never pays for it."""
        return SourceMap.from_text(self.text)

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> Position:
        return self.source_map.locate(path, key=key)

    def issue(
        self,
        path: Sequence[str | int],
        message: str,
        *,
        severity: Severity = "error",
        at_key: bool = False,
    ) -> ConfigIssue:
        """An issue at the value of `path` (at its key with `at_key`)."""
        where = self.locate(path, key=at_key)
        return ConfigIssue(
            self.display, where.line, where.column, format_path(path), message, severity
        )


def issues_from_validation_error(
    error: ValidationError,
    model: type[BaseModel],
    source: SourceFile,
    prefix: FieldPath = (),
) -> list[ConfigIssue]:
    """Every error in `error`, located in `source`.

    Args:
        error: raised by validating the data at `prefix` with `model`.
        model: the model that was validated (used to list allowed keys).
        source: the file the data came from.
        prefix: where that data sits in the file, e.g. `("automations", 2)`.
    """
    issues = []
    for detail in error.errors(include_url=False):
        raw_loc = tuple(detail["loc"])
        path = prefix + tuple(part for part in raw_loc if not _is_marker(part))
        extra = detail["type"] == "extra_forbidden"
        message = _message(detail, path, model, raw_loc)
        issues.append(source.issue(path, message, at_key=extra))
    return issues


def _is_marker(part: str | int) -> bool:
    """Union tags like `<cron>` and pydantic's `[key]` are not places in the file."""
    return isinstance(part, str) and (part == "[key]" or (part[:1] == "<" and part[-1:] == ">"))


_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text in quotes",
    "dict": "a table",
    "model": "a table",
    "model_attributes": "a table",
    "list": "an array",
    "datetime": "a date and time",
    "timedelta": "a duration",
}


def _message(detail: ErrorDetails, path: FieldPath, model: type[BaseModel], raw_loc: tuple) -> str:
    kind, ctx, given = detail["type"], detail.get("ctx") or {}, detail.get("input")
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "extra_forbidden":
        return _unknown_key_message(str(path[-1]), _model_at(model, raw_loc[:-1]))
    if kind == "missing":
        return f"{format_path(path[-1:])} is missing; add it to this table"
    if kind == "literal_error":
        return f"{toml_value(given)} is not allowed; use {_options(ctx.get('expected', ''))}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = _number(next(iter(ctx.values()), ""))
        words = {"greater_than_equal": "at least", "greater_than": "more than"}
        limit = words.get(kind, "at most" if kind == "less_than_equal" else "less than")
        return f"{toml_value(given)} is too {'small' if 'greater' in kind else 'large'}; use {limit} {bound}"
    if kind == "finite_number":
        return f"{toml_value(given)} is not a finite number; write a number like 30"
    base = kind.removesuffix("_type").removesuffix("_parsing")
    if base in _EXPECTED:
        return f"expected {_EXPECTED[base]}, not {toml_value(given)}"
    message = detail["msg"]
    return message[:1].lower() + message[1:]


def _number(bound: Any) -> Any:
    """A limit as people write it: 3600, not 3600.0."""
    return int(bound) if isinstance(bound, float) and bound.is_integer() else bound


def _options(expected: str) -> str:
    """pydantic's `'a', 'b' or 'c'` as TOML strings: `"a", "b" or "c"`."""
    return expected.replace("'", '"')


def _unknown_key_message(key: str, model: type[BaseModel] | None) -> str:
    text = f"unknown key {json.dumps(key)}"
    if model is None:
        return text
    allowed = list(model.model_fields)
    close = get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {json.dumps(close[0])}?)" if close else ""
    return f"{text}{hint}; allowed here: {', '.join(allowed)}"


def toml_value(value: Any) -> str:
    """A value the way it looks in TOML, shortened: `"text"`, `3`, `true`, `a table`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:57] + '..."'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


def _model_at(annotation: Any, loc: tuple) -> type[BaseModel] | None:
    """The model whose table is at `loc` (a pydantic error location, tags included)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        tags = [meta.tag for meta in args[1:] if isinstance(meta, Tag)]
        if tags:
            return _model_at(args[0], loc[1:]) if loc[:1] == (tags[0],) else None
        return _model_at(args[0], loc)
    if origin in (Union, types.UnionType):
        found = (_model_at(member, loc) for member in args)
        return next((model for model in found if model is not None), None)
    if not loc:
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        return annotation if is_model else None
    part, rest = loc[0], loc[1:]
    if origin in (list, tuple) and isinstance(part, int):
        return _model_at(args[0], rest)
    if origin is dict and isinstance(part, str):
        return _model_at(args[1], rest)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        return _model_at(fields[part].annotation, rest) if part in fields else None
    return None


class ConfigError(OrcError):
    """`flows.toml` is not valid; `issues` lists every problem, one per line in `str()`.

    Each issue is a `ConfigIssue` (file, line, column, field path, message).
    """

    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues
