"""Dynamic shell completion: deployment and automation names, run-id prefixes, state names.

A completion runs on every Tab, so it reads flows.toml with `tomllib` (no
config models) and asks for at most 50 recent runs; anything that goes wrong
completes nothing rather than print a traceback into the user's prompt.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

#: Runs offered for a run id: the most recent ones.
RECENT_RUNS = 50


def _root(ctx: typer.Context) -> Path:
    from orchestrate.cli.options import project_folder

    project = ctx.params.get("project")
    return project_folder(Path(project) if project else None)


def _tables(ctx: typer.Context, key: str) -> Iterator[dict[str, Any]]:
    from orchestrate.core.project import CONFIG_FILE

    try:
        data = tomllib.loads((_root(ctx) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return
    tables = data.get(key)
    yield from (t for t in (tables if isinstance(tables, list) else []) if isinstance(t, dict))


def _named(ctx: typer.Context, key: str, incomplete: str) -> list[tuple[str, str]]:
    return [
        (str(t["name"]), str(t.get("description") or t.get("entrypoint") or ""))
        for t in _tables(ctx, key)
        if isinstance(t.get("name"), str) and t["name"].startswith(incomplete)
    ]


def deployments(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Deployment names from flows.toml."""
    return _named(ctx, "deployments", incomplete)


def automations(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Automation names from flows.toml."""
    return _named(ctx, "automations", incomplete)


def states(incomplete: str) -> list[str]:
    """State names and types, as `--state` takes them."""
    from orchestrate.core.states import STATE_NAMES, StateType

    words = [*STATE_NAMES, *(t.value for t in StateType)]
    return sorted({w for w in words if w.lower().startswith(incomplete.lower())})


def run_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Recent flow run ids (from the daemon, or the store file), with name and state."""
    try:
        runs = _recent_runs(_root(ctx))
    except Exception:  # a completion never fails loudly
        return []
    return [(i, words) for i, words in runs if i.startswith(incomplete)]


def _recent_runs(root: Path) -> list[tuple[str, str]]:
    from orchestrate.cli.reads import daemon_client

    client = daemon_client(root, timeout=1.0)
    if client is not None:
        with client:
            return [
                (r.id, f"{r.name} {r.deployment or r.flow_name} {r.state.name}")
                for r in client.runs(limit=RECENT_RUNS)
            ]
    from orchestrate.core.project import store_path
    from orchestrate.store.queries import Store

    if not store_path(root).exists():
        return []
    with Store(store_path(root)) as store:
        views = store.list_flow_runs(limit=RECENT_RUNS)
    return [(v.id, f"{v.name} {v.deployment or v.flow_name} {v.state.name}") for v in views]


#: A run id argument that completes recent ids.
RunArgument = Annotated[
    str, typer.Argument(help="A flow run id, or a unique prefix of one.", autocompletion=run_ids)
]
