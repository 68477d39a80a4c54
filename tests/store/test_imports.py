"""Importing the store or the CLI package costs nothing: DuckDB loads only where it is used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, time
from pathlib import Path
import orchestrate.cli, orchestrate.recording, orchestrate.store
assert "duckdb" not in sys.modules, "importing the store loaded duckdb"
from orchestrate.core.records import LogRecord
from orchestrate.store import StoreWriter
writer = StoreWriter(Path(sys.argv[1]))
writer.put(LogRecord("f", None, time.time(), 20, "orc", "hi"))
assert writer.flush(10)
writer.close()
assert "duckdb" in sys.modules  # loaded by the writer thread, not at import
"""


def test_duckdb_loads_in_the_writer_thread_only(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "orc.duckdb")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
