"""Where a value sits in a TOML file: field path → line and column.

`tomllib` gives values without positions, so this scanner walks the source
text once and records where each key and value starts: tables, arrays of
tables, dotted keys, inline tables and (multi-line) arrays. It assumes the
text already parsed as TOML and never raises; for a path it cannot find,
`locate` answers with the nearest enclosing table or array it did find.

    source_map = SourceMap.from_text(text)
    source_map.locate(("deployments", 1, "schedules", 0, "cron"))  # Position(14, 22)
"""

from __future__ import annotations

import bisect
import contextlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

FieldPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\n]")


@dataclass(frozen=True, order=True)
class Position:
    """A place in the text, both 1-based, as editors count them."""

    line: int
    column: int


@dataclass
class SourceMap:
    """The positions of the keys and values of one TOML text."""

    keys: dict[FieldPath, Position] = field(default_factory=dict)
    values: dict[FieldPath, Position] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str) -> SourceMap:
        scanner = _Scanner(text)
        # On text it cannot follow, keep what was found up to there.
        with contextlib.suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
            scanner.scan()
        return cls(scanner.keys, scanner.values)

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> Position:
        """Where the value at `path` starts (its key with `key=True`), or its nearest ancestor's."""
        wanted = tuple(path)
        for length in range(len(wanted), 0, -1):
            prefix = wanted[:length]
            if key and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return Position(1, 1)


class _Scanner:
    """A single pass over valid TOML that records positions instead of building values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.keys: dict[FieldPath, Position] = {}
        self.values: dict[FieldPath, Position] = {}
        self.table_counts: dict[FieldPath, int] = {}  # arrays of tables: how many so far

    def position(self, index: int) -> Position:
        line = bisect.bisect_right(self.line_starts, index)
        return Position(line, index - self.line_starts[line - 1] + 1)

    def scan(self) -> None:
        table: FieldPath = ()
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.text):
                return
            start = self.i
            if self.text[self.i] == "[":
                table = self.header()
            else:
                self.key_value(table)
            if self.i == start:
                self.i += 1  # never loop on text this scanner does not understand

    def skip(self, newlines: bool) -> None:
        """Skip spaces and comments (and line breaks when `newlines`)."""
        blank = " \t\r\n" if newlines else " \t"
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in blank:
                self.i += 1
            elif char == "#" and newlines:
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def header(self) -> FieldPath:
        start = self.i
        is_array = self.text.startswith("[[", self.i)
        self.i += 2 if is_array else 1
        names = [name for name, _ in self.dotted_key()]
        self.i = self.text.index("]", self.i) + (2 if is_array else 1)
        path = self.table_path(names, is_array)
        here = self.position(start)
        self.keys[path] = self.values[path] = here
        if is_array:
            self.keys.setdefault(path[:-1], here)
        return path

    def table_path(self, names: list[str], is_array: bool) -> FieldPath:
        """The path a header names, with the index of each array of tables it passes through."""
        path: FieldPath = ()
        for number, name in enumerate(names, start=1):
            path += (name,)
            if number == len(names) and is_array:
                count = self.table_counts.get(path, 0)
                self.table_counts[path] = count + 1
                path += (count,)
            elif path in self.table_counts:
                path += (self.table_counts[path] - 1,)
        return path

    def dotted_key(self) -> list[tuple[str, int]]:
        """`a."b c".d` → [("a", i), ("b c", j), ("d", k)], each with where it starts."""
        parts = []
        while True:
            self.skip(newlines=False)
            start = self.i
            parts.append((self.simple_key(), start))
            self.skip(newlines=False)
            if self.i < len(self.text) and self.text[self.i] == ".":
                self.i += 1
                continue
            return parts

    def simple_key(self) -> str:
        char = self.text[self.i]
        if char in "\"'":
            raw = self.string_token()
            return tomllib.loads(f"k = {raw}")["k"]
        match = _BARE_KEY.match(self.text, self.i)
        if match is None:
            raise ValueError(f"no key at offset {self.i}")
        self.i = match.end()
        return match.group()

    def key_value(self, table: FieldPath) -> None:
        path = table
        for name, start in self.dotted_key():
            path += (name,)
            here = self.position(start)
            self.keys.setdefault(path, here)
            self.values.setdefault(path, here)
        self.skip(newlines=False)
        if self.text[self.i] != "=":
            raise ValueError(f"no '=' at offset {self.i}")
        self.i += 1
        self.skip(newlines=False)
        self.value(path)

    def value(self, path: FieldPath) -> None:
        self.values[path] = self.position(self.i)
        char = self.text[self.i]
        if char == "{":
            self.inline_table(path)
        elif char == "[":
            self.array(path)
        elif char in "\"'":
            self.string_token()
        else:
            end = _SCALAR_END.search(self.text, self.i)
            self.i = len(self.text) if end is None else end.start()

    def inline_table(self, path: FieldPath) -> None:
        self.i += 1
        while True:
            self.skip(newlines=True)
            if self.text[self.i] == "}":
                self.i += 1
                return
            self.key_value(path)
            self.skip(newlines=True)
            if self.text[self.i] == ",":
                self.i += 1

    def array(self, path: FieldPath) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip(newlines=True)
            if self.text[self.i] == "]":
                self.i += 1
                return
            self.value((*path, index))
            index += 1
            self.skip(newlines=True)
            if self.text[self.i] == ",":
                self.i += 1

    def string_token(self) -> str:
        """Step over one string of any of TOML's four kinds; return its source text."""
        start = self.i
        quote = self.text[self.i]
        triple = self.text.startswith(quote * 3, self.i)
        closing = quote * 3 if triple else quote
        self.i += len(closing)
        while True:
            if quote == '"' and self.text[self.i] == "\\":
                self.i += 2
            elif self.text.startswith(closing, self.i):
                self.i += len(closing)
                while triple and self.text.startswith(quote, self.i):
                    self.i += 1  # up to two quotes may end a multi-line string's content
                return self.text[start : self.i]
            else:
                self.i += 1


def format_path(path: Sequence[str | int]) -> str:
    """`("deployments", 1, "schedules", 0, "cron")` → `deployments[1].schedules[0].cron`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else _quote(part)
            text += f".{name}" if text else name
    return text


def _quote(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
