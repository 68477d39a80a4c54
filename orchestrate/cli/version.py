"""`orc version`: the versions that matter when reporting a problem."""

from __future__ import annotations

from orchestrate.cli.options import JsonOption


def versions() -> dict[str, str]:
    """orc, Python and DuckDB versions, read without importing DuckDB."""
    import platform
    from importlib import metadata

    from orchestrate._version import __version__

    try:
        duckdb_version = metadata.version("duckdb")
    except metadata.PackageNotFoundError:
        duckdb_version = "not installed"
    return {"orc": __version__, "python": platform.python_version(), "duckdb": duckdb_version}


def version(json_output: JsonOption = False) -> None:
    """Show the orc, Python and DuckDB versions."""
    from orchestrate.cli import render

    found = versions()
    if json_output:
        render.print_json(found)
    else:
        for name, value in found.items():
            print(f"{name} {value}")
