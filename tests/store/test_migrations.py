"""Numbered migrations: a new file gets the schema, re-opening is a no-op, newer files are refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestrate.core.errors import StoreError
from orchestrate.store import Store, migrations

TABLES = {"flow_runs", "task_runs", "task_run_edges", "state_history_rows", "logs", "events"}


def _tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_migrates_an_empty_file_to_the_latest_version(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "orc.duckdb")) as conn:
        assert migrations.migrate(conn, tmp_path) == 0
        assert migrations.current_version(conn) == migrations.LATEST_VERSION
        assert TABLES | {"schema_version"} <= _tables(conn)


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "orc.duckdb"
    for _ in range(3):
        with duckdb.connect(str(path)) as conn:
            migrations.migrate(conn, path)
    with duckdb.connect(str(path)) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    assert versions == [(number,) for number, _ in migrations.MIGRATIONS]


def test_an_older_file_is_upgraded_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "orc.duckdb"
    with duckdb.connect(str(path)) as conn:
        migrations.migrate(conn, path)
    newer = [*migrations.MIGRATIONS, (99, "CREATE TABLE later_addition (i INTEGER)")]
    monkeypatch.setattr(migrations, "MIGRATIONS", newer)
    monkeypatch.setattr(migrations, "LATEST_VERSION", 99)
    with Store(path) as store:
        assert store.list_flow_runs() == []
    with duckdb.connect(str(path)) as conn:
        assert "later_addition" in _tables(conn)
        assert migrations.current_version(conn) == 99


def test_a_file_from_a_newer_orc_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orc.duckdb"
    with duckdb.connect(str(path)) as conn:
        migrations.migrate(conn, path)
        conn.execute(
            "INSERT INTO schema_version (version) VALUES (?)", [migrations.LATEST_VERSION + 1]
        )
    with pytest.raises(StoreError, match="Upgrade orc"), Store(path):
        pass
    with duckdb.connect(str(path)) as conn, pytest.raises(StoreError, match=str(path)):
        migrations.migrate(conn, path)
