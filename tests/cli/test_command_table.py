"""The README's command table names every `orc` command, and the operator docs exist."""

from __future__ import annotations

from pathlib import Path

import typer.main

from orchestrate.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> set[str]:
    """Every command the `orc` group answers to (they load when asked for)."""
    group = typer.main.get_command(app)
    return set(group.list_commands(None))  # type: ignore[attr-defined, arg-type]


def test_every_command_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| command | what it does |") :].split("\n\n")[0]
    missing = sorted(n for n in _commands() if f"`orc {n}" not in table)
    assert not missing, f"README's command table lacks: {missing}"
    assert (ROOT / "docs" / "operating.md").is_file()
