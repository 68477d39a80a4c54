"""`orc version`: the versions that matter when reporting a problem."""

from __future__ import annotations

from orchestrate.cli.about import versions as versions
from orchestrate.cli.options import JsonOption


def version(json_output: JsonOption = False) -> None:
    """Show the orc, Python and DuckDB versions."""
    from orchestrate.cli.about import print_versions

    print_versions(json_output)
