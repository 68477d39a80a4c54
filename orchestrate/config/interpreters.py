"""A Python per deployment: `python = "..."` or `venv = "..."` in flows.toml, and what can be
checked of one.

Relative paths are relative to flows.toml and `~` is expanded; symlinks are
kept (a venv's `bin/python` is one, and resolving it would leave the venv).
Loading checks that the interpreter exists and is executable (`disk_issues`,
cheap); `orc validate` also starts it once (`probe_issues`) to see that it
can import orchestrate and speaks this daemon's worker protocol, since a
run under it would otherwise fail only when it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from orchestrate._version import __version__
from orchestrate.config.issues import ConfigIssue, SourceFile
from orchestrate.config.locate import FieldPath
from orchestrate.config.reading import parse_toml
from orchestrate.worker.handshake import PROTOCOL, install_hint

#: The keys that name an interpreter; a table sets at most one, and a deployment's replaces [defaults]'.
KEYS = ("python", "venv")
#: How long `orc validate` waits for an interpreter to say what it has.
PROBE_TIMEOUT = 10.0

_PROBE = """
import json
try:
    from orchestrate._version import __version__ as orc
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    raise SystemExit(0)
try:
    from orchestrate.worker.handshake import PROTOCOL as protocol
except Exception:
    protocol = 0
print(json.dumps({"orc": orc, "protocol": protocol}))
"""


def interpreter(python: str | None, venv: str | None, root: Path) -> str | None:
    """The absolute path of the interpreter `python` or `venv` names (None: orc's own)."""
    if python is not None:
        return _absolute(python, root)
    if venv is not None:
        return os.path.join(_absolute(venv, root), "bin", "python")
    return None


def _absolute(path: str, root: Path) -> str:
    return os.path.normpath(os.path.join(root, os.path.expanduser(path)))


def disk_issues(
    table: Mapping[str, Any], path: FieldPath, root: Path, source: SourceFile
) -> list[ConfigIssue]:
    """Both keys set, or an interpreter that is not there or cannot be run."""
    python, venv = table.get("python"), table.get("venv")
    if python is not None and venv is not None:
        message = (
            "python and venv both name the interpreter; keep one (venv = FOLDER means "
            "python = FOLDER/bin/python)"
        )
        return [source.issue((*path, "venv"), message, at_key=True)]
    key = "python" if python is not None else "venv"
    value = python if python is not None else venv
    if not isinstance(value, str):
        return []  # no such key, or not text: the models say so
    problem = _missing(interpreter(python, venv, root) or "", value, key)
    return [source.issue((*path, key), problem)] if problem else []


def _missing(python: str, written: str, key: str) -> str | None:
    if not os.path.exists(python):
        fix = (
            f"create it (python3 -m venv {os.path.dirname(os.path.dirname(python))}) or fix the path"
            if key == "venv"
            else "fix the path, or point venv at the virtualenv's folder"
        )
        return f"no interpreter at {python} (from {json.dumps(written)}); {fix}"
    if os.path.isdir(python) or not os.access(python, os.X_OK):
        return f"{python} (from {json.dumps(written)}) is not an executable file; fix the path"
    return None


def probe(python: str, cwd: Path, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why workers cannot run under `python` (no orchestrate there, another protocol), or None."""
    try:
        done = subprocess.run(
            [python, "-c", _PROBE], cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"{python} did not start within {timeout:g}s; check that it runs"
    except OSError as exc:
        return f"{python} cannot be started ({exc.strerror or exc}); fix the path"
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"{python} does not run Python: {done.stderr.strip()[-200:]!r}"
    hint = install_hint(python)
    if "error" in answer:
        return f"{python} cannot import orchestrate ({answer['error']}); install orc there: {hint}"
    if answer.get("protocol") != PROTOCOL:
        return (
            f"{python} has orc {answer.get('orc')} (worker protocol v{answer.get('protocol')}), "
            f"this orc {__version__} speaks v{PROTOCOL}; install it there: {hint}"
        )
    return None


def probe_issues(source: SourceFile, root: Path) -> list[ConfigIssue]:
    """`probe` each interpreter the file names (once each), as issues at its setting."""
    answers: dict[str, str | None] = {}
    issues = []
    for path, table in _tables(parse_toml(source)):
        python, venv = table.get("python"), table.get("venv")
        if not (isinstance(python, str) or isinstance(venv, str)) or (python and venv):
            continue
        found = interpreter(python, venv, root) or ""
        if found not in answers:
            answers[found] = probe(found, root)
        problem = answers[found]
        if problem:
            issues.append(source.issue((*path, "python" if python else "venv"), problem))
    return issues


def _tables(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    if isinstance(data.get("defaults"), dict):
        yield ("defaults",), data["defaults"]
    deployments = data.get("deployments")
    for index, table in enumerate(deployments if isinstance(deployments, list) else []):
        if isinstance(table, dict):
            yield ("deployments", index), table


__all__ = ["KEYS", "PROBE_TIMEOUT", "disk_issues", "interpreter", "probe", "probe_issues"]
