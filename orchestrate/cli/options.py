"""Options every read command shares, and opening the project's store from them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from orchestrate.store.queries import Store

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="The project folder (default: $ORC_HOME, or the nearest folder with flows.toml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def project_folder(project: Path | None) -> Path:
    from orchestrate.core.project import command_project

    return command_project(project)


def open_store(project: Path | None) -> Store:
    """The project's store, opened read-only (a project with no runs yet reads as empty)."""
    from orchestrate.core.project import store_path
    from orchestrate.store.queries import Store

    store = Store(store_path(project_folder(project)))
    store.open()
    return store
