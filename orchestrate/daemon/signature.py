"""A flow's parameters read from its source with `ast`, never by importing user code.

The daemon uses this to show a deployment's parameters (the TUI's run form)
and to refuse `orc run NAME -p days=abc` at once, with the parameter named,
instead of starting a worker that would fail. The worker still validates
with pydantic against the real signature; this is the early, cheap check.
"""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path
from typing import Any

_SIMPLE = {"int": "integer", "float": "number", "str": "string", "bool": "boolean",
           "list": "array", "dict": "object", "tuple": "array", "set": "array"}  # fmt: skip


def parameter_schema(path: Path, function: str) -> dict[str, Any] | None:
    """JSON Schema of `function`'s parameters in the file `path`; None if it cannot be read."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return _schema_of(node.args)
    return None


def _schema_of(args: ast.arguments) -> dict[str, Any]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, default in pairs:
        prop = _annotation(arg.annotation)
        if default is None:
            required.append(arg.arg)
        else:
            with contextlib.suppress(Exception):  # not a literal: no default shown
                prop["default"] = ast.literal_eval(default)
        properties[arg.arg] = {"title": arg.arg, **prop}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if args.kwarg is None:
        schema["additionalProperties"] = False
    return schema


def _annotation(node: ast.expr | None) -> dict[str, Any]:
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
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


def validate_parameters(schema: dict[str, Any] | None, values: dict[str, Any]) -> list[str]:
    """Problems with `values` against `schema`, one sentence each (empty when fine)."""
    if not schema:
        return []
    properties: dict[str, Any] = schema.get("properties", {})
    problems = []
    if schema.get("additionalProperties") is False:
        problems += [f"there is no parameter {name!r} (parameters: {', '.join(properties) or 'none'})"
                     for name in values if name not in properties]  # fmt: skip
    problems += [f"parameter {name!r} is required" for name in schema.get("required", [])
                 if name not in values]  # fmt: skip
    for name, value in values.items():
        if name in properties and not _fits(properties[name], value):
            problems.append(f"parameter {name!r} must be {_words(properties[name])}, got {value!r}")
    return problems


def _fits(prop: dict[str, Any], value: Any) -> bool:
    if "anyOf" in prop:
        return any(_fits(option, value) for option in prop["anyOf"])
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
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


_CHECKS = {
    "integer": _is_int,
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool) or str(v).lower() in ("true", "false", "0", "1"),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _words(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_words(o) for o in prop["anyOf"])
    kind = prop.get("type", "any value")
    return {"integer": "an integer", "array": "a list", "object": "an object", "null": "null",
            "number": "a number", "string": "a string", "boolean": "true or false"}.get(kind, kind)  # fmt: skip
