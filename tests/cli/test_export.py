"""`orc export`, `orc backup` and `orc restore` with no daemon, against a store in `tmp_path`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestrate.core.project import store_path
from orchestrate.states import Completed
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json


def _put_runs(root: Path, build: SimpleNamespace, ids: list[str]) -> None:
    writer = StoreWriter(store_path(root))
    for run_id in ids:
        writer.put(build.flow_run(run_id, Completed(), deployment="etl"))
        writer.put(build.task_run(f"{run_id}-t", run_id, Completed()))
    writer.close()


@pytest.fixture
def populated(tmp_path: Path, build: SimpleNamespace) -> Path:
    _put_runs(tmp_path, build, ["run-a", "run-b"])
    return tmp_path


@pytest.mark.parametrize(
    ("suffix", "reader"), [("parquet", "read_parquet"), ("csv", "read_csv"), ("json", "read_json")]
)
def test_a_view_exports_in_the_format_of_its_suffix(
    populated: Path, orc: Orc, suffix: str, reader: str
) -> None:
    out = populated / f"runs.{suffix}"
    result = orc("export", "flow_runs", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Wrote 2 row(s)" in result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    ids = duckdb.sql(f"SELECT id FROM {reader}('{out}') ORDER BY id").fetchall()
    assert ids == [("run-a",), ("run-b",)]


def test_a_query_exports_with_an_explicit_format(populated: Path, orc: Orc) -> None:
    out = populated / "tasks.out"
    result = orc(
        "export", "--query", "SELECT flow_run_id FROM task_runs", "--format", "csv", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[0] == "flow_run_id"


def test_an_unknown_view_or_a_write_is_refused(populated: Path, orc: Orc) -> None:
    unknown = orc("export", "secrets", "-o", str(populated / "x.csv"))
    assert unknown.returncode == 2
    assert "flow_runs" in unknown.stderr
    write = orc("export", "--query", "DELETE FROM flow_runs", "-o", str(populated / "x.csv"))
    assert write.returncode == 2
    assert "read-only" in write.stderr
    assert not (populated / "x.csv").exists()


def test_backup_then_restore_puts_the_old_history_back(
    populated: Path, orc: Orc, build: SimpleNamespace
) -> None:
    copy = populated / "backups" / "orc.backup"
    made = orc("backup", str(copy))
    assert made.returncode == 0, made.stderr
    assert copy.stat().st_mode & 0o777 == 0o600
    _put_runs(populated, build, ["run-c"])
    restored = orc("restore", str(copy))
    assert restored.returncode == 0, restored.stderr
    assert "before-restore" in restored.stderr
    rows = parse_json(orc("sql", "--json", "SELECT id FROM flow_runs ORDER BY id"))
    assert rows == [{"id": "run-a"}, {"id": "run-b"}]
    assert store_path(populated).stat().st_mode & 0o777 == 0o600


def test_restore_refuses_a_file_that_is_not_a_store(populated: Path, orc: Orc) -> None:
    junk = populated / "junk.duckdb"
    duckdb.connect(str(junk)).close()
    refused = orc("restore", str(junk))
    assert refused.returncode == 4
    assert "not an orc store" in refused.stderr
    assert len(parse_json(orc("sql", "--json", "SELECT id FROM flow_runs"))) == 2
