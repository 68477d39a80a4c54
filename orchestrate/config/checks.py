"""What only the disk and the environment can tell about `flows.toml`.

These checks read the raw TOML data, not the validated models, so they run
(and report) even when other keys in the same file are wrong: `orc validate`
lists every problem at once. Entrypoint files are parsed with `ast`, never
imported: validating must not run user code, and a syntax error is reported
with its line.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.config import interpreters
from orchestrate.config.issues import ConfigIssue, SourceFile
from orchestrate.config.locate import FieldPath
from orchestrate.config.models import entrypoint_parts


def disk_issues(
    data: Mapping[str, Any], root: Path, source: SourceFile, environ: Mapping[str, str]
) -> list[ConfigIssue]:
    """Errors and warnings about files, folders, names and environment variables."""
    issues = _watch_issues(data, root, source)
    for path, table in _settings_tables(data):
        issues += _working_dir_issues(table, path, root, source)
        issues += _env_warnings(table, path, source, environ, _users(data, path))
        issues += _task_runner_warnings(table, path, source)
        issues += interpreters.disk_issues(table, path, root, source)
    issues += _duplicate_names(data, source)
    issues += _short_secret_warnings(data, source, environ)
    problems: dict[tuple[str, str], str | None] = {}  # deployments often share a file
    for path, table in _settings_tables(data):
        if path[0] == "deployments":
            issues += _entrypoint_issues(table, path, root, source, problems)
    return issues


def _settings_tables(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, dict[str, Any]]]:
    if isinstance(data.get("defaults"), dict):
        yield ("defaults",), data["defaults"]
    deployments = data.get("deployments")
    for index, table in enumerate(deployments if isinstance(deployments, list) else []):
        if isinstance(table, dict):
            yield ("deployments", index), table


def _watch_issues(data: Mapping[str, Any], root: Path, source: SourceFile) -> list[ConfigIssue]:
    project = data.get("project")
    folders = project.get("watch") if isinstance(project, dict) else None
    issues = []
    for index, folder in enumerate(folders if isinstance(folders, list) else []):
        if isinstance(folder, str) and not (root / folder).is_dir():
            message = f"no such folder {json.dumps(folder)} (relative to {root}); fix or remove it"
            issues.append(source.issue(("project", "watch", index), message))
    return issues


def _working_dir_issues(
    table: dict[str, Any], path: FieldPath, root: Path, source: SourceFile
) -> list[ConfigIssue]:
    folder = table.get("working_dir")
    if not isinstance(folder, str) or (root / folder).is_dir():
        return []
    message = f"no such folder {json.dumps(folder)} (relative to {root}); create it or fix the path"
    return [source.issue((*path, "working_dir"), message)]


def _users(data: Mapping[str, Any], path: FieldPath) -> Callable[[str], list[str]]:
    """For an env key of the table at `path`: the deployments that take it from there."""
    if path[0] == "deployments":
        name = data["deployments"][path[1]].get("name")
        return lambda key: [name if isinstance(name, str) else f"deployments[{path[1]}]"]
    deployments = [t for p, t in _settings_tables(data) if p[0] == "deployments"]

    def inheriting(key: str) -> list[str]:
        return [str(t.get("name")) for t in deployments if key not in _table(t.get("env"))]

    return inheriting


def _env_warnings(
    table: dict[str, Any],
    path: FieldPath,
    source: SourceFile,
    environ: Mapping[str, str],
    users: Callable[[str], list[str]],
) -> list[ConfigIssue]:
    """A `from_env` variable that is not set blocks the deployments that use it (and only them)."""
    issues = []
    for key, value in _table(table.get("env")).items():
        name = _table(value).get("from_env")
        if not isinstance(name, str) or name in environ:
            continue
        blocked = users(key)
        if blocked:
            message = f"{name} is not set in this environment; {blocked_words(blocked, name)}"
            issues.append(source.issue((*path, "env", key), message, severity="warning"))
    return issues


def _short_secret_warnings(
    data: Mapping[str, Any], source: SourceFile, environ: Mapping[str, str]
) -> list[ConfigIssue]:
    """A secret shorter than 4 characters is not masked in logs: say so where it is named."""
    from orchestrate.core.secrets import MIN_LENGTH

    places: list[tuple[FieldPath, str]] = []
    for path, table in _settings_tables(data):
        for key, value in _table(table.get("env")).items():
            name = _table(value).get("from_env")
            if isinstance(name, str):
                places.append(((*path, "env", key), name))
    listed = _table(data.get("project")).get("secrets")
    for index, name in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(name, str):
            places.append((("project", "secrets", index), name))
    return [
        source.issue(
            place,
            f"{name} is shorter than {MIN_LENGTH} characters, so its value is not masked as *** "
            "in logs, states and events (a short value would mask innocent text); use a "
            "longer secret",
            severity="warning",
        )
        for place, name in places
        if 0 < len(environ.get(name, "")) < MIN_LENGTH
    ]


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def blocked_words(deployments: list[str], variable: str) -> str:
    """What an unset `from_env` variable does, said once for `orc validate`, status and run refusals."""
    names = ", ".join(json.dumps(name) for name in deployments)
    which = f"deployment {names} is" if len(deployments) == 1 else f"deployments {names} are"
    return (
        f"{which} blocked until it is: `orc up` runs the others, but refuses `orc run` of "
        f"{'it' if len(deployments) == 1 else 'them'} and ends scheduled runs Failed. "
        f"Set {variable} where `orc up` runs, then restart it"
    )


def _task_runner_warnings(
    table: dict[str, Any], path: FieldPath, source: SourceFile
) -> list[ConfigIssue]:
    runner = table.get("task_runner")
    kind = runner.get("type") if isinstance(runner, dict) else runner
    if kind != "dask" or importlib.util.find_spec("distributed") is not None:
        return []
    message = 'task_runner "dask" needs the distributed package; install it with pip install distributed (or orc\'s dask extra)'
    return [source.issue((*path, "task_runner"), message, severity="warning")]


def _duplicate_names(data: Mapping[str, Any], source: SourceFile) -> list[ConfigIssue]:
    first: dict[str, int] = {}
    issues = []
    for path, table in _settings_tables(data):
        name = table.get("name")
        if path[0] != "deployments" or not isinstance(name, str):
            continue
        if name in first:
            where = source.locate(("deployments", first[name], "name"))
            message = (
                f"deployment name {json.dumps(name)} is already used by "
                f"deployments[{first[name]}] (line {where.line}); names must be unique"
            )
            issues.append(source.issue((*path, "name"), message))
        else:
            first[name] = int(path[1])
    return issues


def _entrypoint_issues(
    table: dict[str, Any],
    path: FieldPath,
    root: Path,
    source: SourceFile,
    problems: dict[tuple[str, str], str | None],
) -> list[ConfigIssue]:
    entrypoint = table.get("entrypoint")
    parts = entrypoint_parts(entrypoint) if isinstance(entrypoint, str) else None
    if parts is None:
        return []  # a missing or malformed entrypoint is reported by the models
    if parts not in problems:
        problems[parts] = entrypoint_problem(root, *parts)
    problem = problems[parts]
    return [source.issue((*path, "entrypoint"), problem)] if problem else []


def entrypoint_problem(root: Path, file: str, function: str) -> str | None:
    """Why `file:function` cannot be a flow (read with `ast`, not imported), or None if it can."""
    module_path = root / file
    if not module_path.is_file():
        return (
            f"no such file {json.dumps(file)} (relative to {root}); fix the path before the colon"
        )
    names = module_names(module_path)
    if names.error:
        return f"{file}:{names.error}; fix the file (this deployment cannot run until then)"
    if function in names.bound or names.star_import:
        return None
    defined = ", ".join(names.functions) if names.functions else "no functions"
    return (
        f"{file} has no {json.dumps(function)}; it defines {defined}. Fix the name after the colon"
    )


@dataclass(frozen=True)
class ModuleNames:
    """The names a Python file binds at its top level, or why it cannot be parsed."""

    bound: frozenset[str] = frozenset()
    functions: tuple[str, ...] = ()
    star_import: bool = False
    error: str | None = None  # "12:5: SyntaxError: invalid syntax"


_parsed: dict[tuple[str, int, int], ModuleNames] = {}


def module_names(path: Path) -> ModuleNames:
    """The top-level names of `path`, cached by modification time and size (reloads are frequent)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _parsed:
        if len(_parsed) > 512:
            _parsed.clear()
        _parsed[key] = _read_names(path)
    return _parsed[key]


def _read_names(path: Path) -> ModuleNames:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return ModuleNames(error=f"{exc.lineno or 1}:{exc.offset or 1}: SyntaxError: {exc.msg}")
    except (ValueError, OSError) as exc:
        return ModuleNames(error=f"1:1: cannot be read as Python ({exc})")
    bound: set[str] = set()
    functions: list[str] = []
    star = False
    for node in _top_level(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node.name)
        star = star or any(alias.name == "*" for alias in getattr(node, "names", ()))
        bound.update(_bound_names(node))
    return ModuleNames(frozenset(bound), tuple(functions), star)


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements at module level, including those inside if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.With | ast.AsyncWith):
            yield from _top_level(node.body)
            yield from _top_level(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)


def _bound_names(node: ast.stmt) -> Iterator[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            yield alias.asname or alias.name.split(".")[0]
    elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            yield from (name.id for name in ast.walk(target) if isinstance(name, ast.Name))
