"""The automations package stays out of the heavy parts: no DuckDB, Textual or Typer, no daemon or store."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrate" / "automations"


def test_importing_the_automations_loads_no_duckdb_textual_or_typer() -> None:
    code = "import orchestrate.automations, sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    assert not ({"duckdb", "textual", "typer"} & loaded)


def test_the_automations_never_import_the_daemon_store_or_cli() -> None:
    forbidden = (
        "orchestrate.daemon",
        "orchestrate.store",
        "orchestrate.cli",
        "orchestrate.engine",
        "tui",
    )

    def is_forbidden(module: str) -> bool:
        return any(module == f or module.startswith(f + ".") for f in forbidden)

    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not is_forbidden(node.module), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                bad = [a.name for a in node.names if is_forbidden(a.name)]
                assert not bad, f"{path.name} imports {bad}"
