"""Secret values masked as `***` before anything is stored, sent or printed.

The values are those of every `{ from_env = ... }` variable and of the names
under `[project] secrets`. Each process holds one `Masker` (`use`, `current`):
the worker applies it to every record line before the line reaches its
journal or the daemon, and the daemon to what a worker writes on its pipes
and to its own log lines. A value shorter than `MIN_LENGTH` is left alone: it
would mask innocent text everywhere (`orc validate` warns about it).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

MASK = "***"
#: Shorter values are not masked (a 2-letter secret would blank every word holding it).
MIN_LENGTH = 4


class Masker:
    """Replaces each secret value in text, and in JSON lines as `json.dumps` escapes it."""

    __slots__ = ("_byte_forms", "_texts")

    def __init__(self, values: Iterable[str]) -> None:
        chosen = sorted({v for v in values if len(v) >= MIN_LENGTH}, key=len, reverse=True)
        self._texts = tuple(chosen)  # longest first: a secret holding another is masked whole
        forms: dict[bytes, None] = {}
        for value in chosen:
            forms[encode_basestring_ascii(value)[1:-1].encode()] = None
            forms[value.encode("utf-8", "surrogatepass")] = None
        self._byte_forms = tuple(forms)

    def __bool__(self) -> bool:
        return bool(self._texts)

    def text(self, text: str) -> str:
        """`text` with every secret replaced by `***`."""
        for value in self._texts:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def line(self, line: bytes) -> bytes:
        """An encoded line (a JSON record batch, a pipe's bytes) with every secret masked."""
        for form in self._byte_forms:
            if form in line:
                line = line.replace(form, MASK.encode())
        return line


_current = Masker(())


def use(masker: Masker) -> None:
    """Make `masker` the one this process applies from now on."""
    global _current
    _current = masker


def current() -> Masker:
    return _current


def too_short(values: Iterable[str]) -> bool:
    """Whether any of `values` is a secret too short to be masked."""
    return any(0 < len(v) < MIN_LENGTH for v in values)


def project_masker(config_file: Path, environ: Mapping[str, str]) -> Masker:
    """The masker of a flow run called from plain Python, from `flows.toml` as written.

    The daemon builds its masker from the checked config; a plain `python
    flow.py` has no daemon and must not pay for the config models, so the
    names come straight from the TOML: `[project] secrets` and every
    `{ from_env = ... }` in `[defaults]` and the deployments. A file that does
    not read gives no secrets (running the flow is not the place to report it).
    """
    try:
        data = tomllib.loads(config_file.read_text())
    except (OSError, ValueError):
        return Masker(())
    return Masker(environ[name] for name in sorted(_secret_names(data)) if environ.get(name))


def _secret_names(data: dict[str, Any]) -> set[str]:
    project, defaults = data.get("project"), data.get("defaults")
    listed = project.get("secrets") if isinstance(project, dict) else None
    names = {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else set()
    deployments = data.get("deployments")
    tables = [defaults, *(deployments if isinstance(deployments, list) else [])]
    for table in tables:
        env = table.get("env") if isinstance(table, dict) else None
        for value in env.values() if isinstance(env, dict) else ():
            if isinstance(value, dict) and isinstance(value.get("from_env"), str):
                names.add(value["from_env"])
    return names
