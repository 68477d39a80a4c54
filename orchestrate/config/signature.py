"""A flow's parameters read from its source with `ast`, never by importing user code.

`orc validate`, `orc up` and every reload check the parameters in
`flows.toml` against this; the daemon shows it (the TUI's run form) and
refuses `orc run NAME -p days=abc` at once, with the parameter named, instead
of starting a worker that would fail. The worker still validates with
pydantic against the real signature; this is the early, cheap check, so it
only refuses what pydantic would refuse too, and accepts any type it cannot read.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal

from orchestrate.config.issues import toml_value

_SIMPLE = {
    "int": "integer",
    "float": "number",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
    "tuple": "array",
    "set": "array",
}
_WORDS = {
    "integer": "an integer",
    "array": "a list",
    "object": "an object",
    "null": "null",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
}
_PLAIN = {
    "integer": "integer",
    "number": "number",
    "string": "string",
    "boolean": "true or false",
    "array": "array",
    "object": "table",
    "null": "nothing",
}
_BOOL_TEXT = ("true", "false", "0", "1", "yes", "no", "on", "off", "t", "f", "y", "n")


@dataclass(frozen=True)
class FlowSignature:
    """What a flow function takes: its JSON Schema, and each parameter as written in the source."""

    schema: dict[str, Any]
    written: dict[str, str] = field(default_factory=dict)  # "days" -> "days: int = 1"
    #: The `name=` its `@flow(...)` decorator gives, when that is a literal string.
    given_name: str | None = None

    @property
    def required(self) -> list[str]:
        return list(self.schema.get("required", []))

    @property
    def takes_any_name(self) -> bool:
        """True when the flow has `**kwargs`: every name is accepted."""
        return self.schema.get("additionalProperties") is not False

    def describe(self) -> str:
        """`days: int = 1, name: str`, or `no parameters`."""
        return ", ".join(self.written.values()) or "no parameters"


@dataclass(frozen=True)
class ParameterProblem:
    """One parameter that does not fit: an unknown name, a missing one, or a wrong type."""

    name: str
    kind: Literal["unknown", "missing", "type"]
    message: str  # worded for flows.toml: 'expected integer, got "abc"'


_signatures: dict[tuple[str, int, int], dict[str, FlowSignature]] = {}


def flow_signature(path: Path, function: str) -> FlowSignature | None:
    """The signature of top-level `function` in the file `path`; None if it cannot be read.

    Cached by the file's modification time and size: reloads are frequent.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _signatures:
        if len(_signatures) > 256:
            _signatures.clear()
        _signatures[key] = _read_signatures(path)
    return _signatures[key].get(function)


def parameter_schema(path: Path, function: str) -> dict[str, Any] | None:
    """JSON Schema of `function`'s parameters in the file `path`; None if it cannot be read."""
    signature = flow_signature(path, function)
    return signature.schema if signature else None


def _read_signatures(path: Path) -> dict[str, FlowSignature]:
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    return {
        node.name: dataclasses.replace(_signature_of(node.args), given_name=_given_name(node))
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def flow_name(path: Path, function: str) -> str:
    """The name a run of top-level `function` in `path` records, read from the source as
    `@flow` gives it: its `name=`, else the function's name with `-` for `_`."""
    signature = flow_signature(path, function)
    given = signature.given_name if signature else None
    return given or function.replace("_", "-")


def _given_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and _name(decorator.func) == "flow":
            for keyword in decorator.keywords:
                value = keyword.value
                if keyword.arg == "name" and isinstance(value, ast.Constant):
                    return value.value if isinstance(value.value, str) and value.value else None
    return None


def _signature_of(args: ast.arguments) -> FlowSignature:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(
        args.defaults
    )
    pairs = [
        *zip(positional, defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    properties: dict[str, Any] = {}
    required: list[str] = []
    written: dict[str, str] = {}
    for arg, default in pairs:
        prop = _annotation(arg.annotation)
        if default is None:
            required.append(arg.arg)
        else:
            with contextlib.suppress(Exception):  # not a literal: no default shown
                prop["default"] = ast.literal_eval(default)
        properties[arg.arg] = {"title": arg.arg, **prop}
        written[arg.arg] = _written(arg, default)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if args.kwarg is None:
        schema["additionalProperties"] = False
    return FlowSignature(schema, written)


def _written(arg: ast.arg, default: ast.expr | None) -> str:
    """A parameter as it reads in the source: `days: int = 1`."""
    text = arg.arg
    with contextlib.suppress(Exception):
        if arg.annotation is not None:
            text += f": {ast.unparse(arg.annotation)}"
        if default is not None:
            value = ast.unparse(default)
            text += f" = {value if len(value) <= 30 else '...'}"
    return text


def _annotation(node: ast.expr | None) -> dict[str, Any]:
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        options = [_annotation(node.left), _annotation(node.right)]
        return {"anyOf": options} if all(options) else {}
    if isinstance(node, ast.Constant) and node.value is None:
        return {"type": "null"}
    if isinstance(node, ast.Subscript):
        base = _name(node.value)
        if base == "Optional":
            inner = _annotation(node.slice)
            return {"anyOf": [inner, {"type": "null"}]} if inner else {}
        return {"type": _SIMPLE[base]} if base in _SIMPLE else {}
    base = _name(node)
    return {"type": _SIMPLE[base]} if base in _SIMPLE else {}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def strings_as_typed(
    schema: dict[str, Any] | None, values: dict[str, Any], texts: dict[str, str]
) -> dict[str, Any]:
    """`values` with each parameter the flow takes as a string (`day: str`) given as typed on
    the command line when `texts` has it: `-p day=20261201` reads as JSON 20261201, which a
    string parameter would refuse."""
    properties = (schema or {}).get("properties", {})
    typed = {
        name: text
        for name, text in texts.items()
        if name in values
        and not isinstance(values[name], str)
        and properties.get(name, {}).get("type") == "string"
    }
    return {**values, **typed}


def validate_parameters(schema: dict[str, Any] | None, values: dict[str, Any]) -> list[str]:
    """Problems with `values` against `schema`, one sentence each (empty when fine)."""
    if not schema:
        return []
    properties: dict[str, Any] = schema.get("properties", {})
    problems = []
    if schema.get("additionalProperties") is False:
        problems += [
            f"there is no parameter {name!r} (parameters: {', '.join(properties) or 'none'})"
            for name in values
            if name not in properties
        ]
    problems += [
        f"parameter {name!r} is required"
        for name in schema.get("required", [])
        if name not in values
    ]
    for name, value in values.items():
        if name in properties and not fits(properties[name], value):
            problems.append(f"parameter {name!r} must be {_words(properties[name])}, got {value!r}")
    return problems


def parameter_problems(
    signature: FlowSignature, values: dict[str, Any], *, present: Collection[str] | None = None
) -> list[ParameterProblem]:
    """What in `values` the flow would refuse; with `present`, required names missing from it too.

    Args:
        signature: the flow's.
        values: parameter values as written in flows.toml.
        present: every name a run would get a value for (None: do not look for missing ones).
    """
    properties: dict[str, Any] = signature.schema.get("properties", {})
    problems = []
    for name, value in values.items():
        if name not in properties:
            if not signature.takes_any_name:
                problems.append(ParameterProblem(name, "unknown", _unknown(name, properties)))
        elif not fits(properties[name], value):
            expected = _plain(properties[name])
            problems.append(
                ParameterProblem(name, "type", f"expected {expected}, got {_shown(value)}")
            )
    if present is not None:
        problems += [
            ParameterProblem(name, "missing", f"{name!r} has no value")
            for name in signature.required
            if name not in present
        ]
    return problems


def _unknown(name: str, properties: dict[str, Any]) -> str:
    close = get_close_matches(name, list(properties), n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f'there is no parameter "{name}"{hint}'


def fits(prop: dict[str, Any], value: Any) -> bool:
    """Whether pydantic, in its default lax mode, could accept `value` for `prop`."""
    if "anyOf" in prop:
        return any(fits(option, value) for option in prop["anyOf"])
    kind = prop.get("type")
    return kind is None or _CHECKS[kind](value)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and value.strip().lstrip("+-").isdigit()


def _is_number(value: Any) -> bool:
    """A number JSON can carry: a run's parameters travel as JSON, which has no nan or inf
    (such a run failed at its start, spending an attempt)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if not isinstance(value, float | str):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


_CHECKS = {
    "integer": _is_int,
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool) or str(v).lower() in _BOOL_TEXT,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _words(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_words(o) for o in prop["anyOf"])
    kind = prop.get("type", "any value")
    return _WORDS.get(kind, kind)


def _plain(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_plain(o) for o in prop["anyOf"])
    kind = prop.get("type", "any value")
    return _PLAIN.get(kind, kind)


def _shown(value: Any) -> str:
    """A value as it reads in TOML, shortened: `"abc"`, `1.5`, `true`, `an array`."""
    return toml_value(value)
