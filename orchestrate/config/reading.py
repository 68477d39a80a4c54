"""From the bytes of `flows.toml` to TOML data, refusing what would break the readers after it.

Each refusal is a `ConfigError` located in the file: bytes that are not UTF-8
(at the first bad byte), a UTF-16 or UTF-32 byte order mark, TOML syntax,
numbers with more digits than Python converts, and values nested deeper than
`MAX_DEPTH`. The TOML parser, the source map, pydantic and the JSON encoders
all recurse, so 500 nested arrays would otherwise end in a `RecursionError`
far from the file. A UTF-8 byte order mark, which some editors write, is skipped.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestrate.config.issues import ConfigError, ConfigIssue, SourceFile
from orchestrate.config.locate import FieldPath, Position, format_path

#: How deep arrays and tables may nest, counted from the top of the file.
MAX_DEPTH = 32

_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_LONG_NUMBER = re.compile(r"[0-9A-Fa-f_]{4000,}")


def decode(raw: bytes, display: str) -> str:
    """The text of the file: UTF-8, with a leading UTF-8 byte order mark dropped."""
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            raise _error(display, 1, 1, f"is saved as {name}; save it as UTF-8 (no BOM)")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8")) + 1
        message = f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason}); save it as UTF-8"
        raise _error(display, line, column, message) from None


def parse_toml(source: SourceFile) -> dict[str, Any]:
    """The TOML data of `source`, nested at most `MAX_DEPTH` deep."""
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, str(exc)) from None
    except RecursionError:
        raise _too_deep(source, ()) from None
    except ValueError:  # Python refuses to convert a number of more than 4300 digits
        where = _position(source.text, _LONG_NUMBER.search(source.text))
        message = "a number has more than 4300 digits; shorten it"
        raise _error(source.display, where.line, where.column, message) from None
    deep = _first_too_deep(data)
    if deep is not None:
        raise _too_deep(source, deep)
    return data


def _syntax_error(source: SourceFile, message: str) -> ConfigError:
    where = _TOML_WHERE.search(message)
    if where:
        line, column = int(where[1]), int(where[2])
    else:  # "(at end of document)"
        lines = source.text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    reason = re.sub(r"\s*\(at [^)]*\)$", "", message)
    return _error(source.display, line, column, f"not valid TOML: {reason}")


def _first_too_deep(data: dict[str, Any]) -> FieldPath | None:
    """The path of the first value nested deeper than `MAX_DEPTH`, found without recursion."""
    stack: list[tuple[FieldPath, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        stack.extend(_children(path, value))
    return None


def _children(path: FieldPath, value: Any) -> Iterator[tuple[FieldPath, Any]]:
    if isinstance(value, dict):
        yield from (((*path, key), item) for key, item in value.items())
    elif isinstance(value, list):
        yield from (((*path, index), item) for index, item in enumerate(value))


def _too_deep(source: SourceFile, path: FieldPath) -> ConfigError:
    where = _deepest_bracket(source.text)
    shown = format_path(path[:4]) + ("..." if len(path) > 4 else "")
    message = (
        f"arrays and tables nest more than {MAX_DEPTH} levels deep here; "
        "flatten this value (orc reads at most that many)"
    )
    issue = ConfigIssue(source.display, where.line, where.column, shown, message)
    return ConfigError([issue])


def _deepest_bracket(text: str) -> Position:
    """Where `[` and `{` nest deepest (outside strings and comments): where a reader gives up."""
    depth = deepest = best = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest, best = depth, match.start()
        elif token in "]}":
            depth = max(depth - 1, 0)
    return _offset_position(text, best)


#: Strings of TOML's four kinds and comments (skipped whole), and single brackets.
_TOKENS = re.compile(
    r'"""(?:\\.|[^\\])*?"""|\'\'\'.*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]',
    re.DOTALL,
)


def _position(text: str, match: re.Match[str] | None) -> Position:
    return _offset_position(text, match.start() if match else 0)


def _offset_position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _error(display: str, line: int, column: int, message: str) -> ConfigError:
    return ConfigError([ConfigIssue(display, line, column, "", message)])


def is_blank(path: Path) -> bool:
    """Whether the file holds no TOML table or key at all: blank lines and comments only, as a
    save caught half-way (emptied, not yet written) leaves it. Not parsed here: the loader
    says what is wrong with a file that is not TOML. False if it cannot be read."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return False
    return all(not line.strip() or line.lstrip().startswith("#") for line in lines)
