"""The versions `orc version` shows, read without importing DuckDB (or Typer)."""

from __future__ import annotations

import os


def versions() -> dict[str, str]:
    """orc, Python and DuckDB versions, read without importing DuckDB."""
    import sys

    from orchestrate._version import __version__

    # `platform.python_version()` reads the same word of `sys.version`; importing
    # `platform` cost `orc version` a tenth of its time
    python = sys.version.split()[0]
    return {"orc": __version__, "python": python, "duckdb": _duckdb_version()}


def _duckdb_version() -> str:
    """DuckDB's version from its `duckdb-X.dist-info` folder name (importlib.metadata, which
    reads the same folder, costs more to import than this command's own work)."""
    import sys

    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("duckdb-") and name.endswith(".dist-info"):
                return name[len("duckdb-") : -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version("duckdb")
    except metadata.PackageNotFoundError:
        return "not installed"


def print_versions(json_output: bool) -> None:
    """One `name version` line each, or one JSON object."""
    found = versions()
    if json_output:
        from orchestrate.cli import render

        render.print_json(found)
    else:
        for name, value in found.items():
            print(f"{name} {value}")
