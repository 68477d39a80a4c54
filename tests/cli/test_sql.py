"""`orc sql` with no daemon: the store file opened read-only, printed four ways."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestrate.core.project import store_path
from orchestrate.core.records import LogRecord
from orchestrate.states import Completed, Failed
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json

BASE = 1_700_000_000.0


@pytest.fixture
def populated(tmp_path: Path, build: SimpleNamespace) -> Path:
    writer = StoreWriter(store_path(tmp_path))
    for i in range(5):
        state = Failed() if i % 2 else Completed()
        writer.put(build.flow_run(f"run-{i}", state, deployment="etl", created=BASE + i))
    writer.put(LogRecord("run-0", None, BASE, 20, "orc.flow", "a line, with a comma"))
    writer.close()
    return tmp_path


def test_counts_as_json_objects(populated: Path, orc: Orc) -> None:
    rows = parse_json(
        orc(
            "sql", "--json", "SELECT state_name, count(*) AS n FROM flow_runs GROUP BY 1 ORDER BY 1"
        )
    )
    assert rows == [{"state_name": "Completed", "n": 3}, {"state_name": "Failed", "n": 2}]


def test_a_table_is_capped_by_limit_and_says_so(populated: Path, orc: Orc) -> None:
    result = orc("sql", "--limit", "2", "SELECT id FROM flow_runs ORDER BY id")
    assert result.returncode == 0, result.stderr
    assert "run-0" in result.stdout and "run-1" in result.stdout
    assert "run-2" not in result.stdout
    assert "first 2 row(s)" in result.stdout


def test_csv_prints_every_row_past_the_table_cap(populated: Path, orc: Orc) -> None:
    result = orc(
        "sql",
        "--csv",
        "--limit",
        "1",
        "SELECT id, message FROM flow_runs LEFT JOIN logs ON flow_run_id = id ORDER BY id",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "message"]
    assert rows[1] == ["run-0", "a line, with a comma"]
    assert len(rows) == 6


def test_the_query_comes_from_a_file_or_stdin(populated: Path, orc: Orc, tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT count(*) AS n FROM flow_runs;\n")
    assert parse_json(orc("sql", "--json", "-f", str(tmp_path / "q.sql"))) == [{"n": 5}]
    piped = subprocess.run(
        ["sh", "-c", f"echo 'SELECT 7 AS seven' | {orc_command()} sql --json --project {tmp_path}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert parse_json(piped) == [{"seven": 7}]


def orc_command() -> str:
    import sys

    return f"{sys.executable} -m orchestrate.cli"


def test_a_delete_is_refused_as_read_only_and_nothing_changes(populated: Path, orc: Orc) -> None:
    refused = orc("sql", "DELETE FROM flow_runs")
    assert refused.returncode == 2
    assert "read-only" in refused.stderr
    assert parse_json(orc("sql", "--json", "SELECT count(*) AS n FROM flow_runs")) == [{"n": 5}]


def test_parquet_is_written_private_and_reads_back(
    populated: Path, orc: Orc, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "runs.parquet"
    result = orc("sql", "--parquet", str(out), "SELECT id FROM flow_runs")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert duckdb.sql(f"SELECT count(*) FROM '{out}'").fetchall() == [(5,)]


def test_schema_lists_the_views(orc: Orc) -> None:
    views = parse_json(orc("sql", "--schema", "--json"))
    assert list(views) == [
        "flow_runs",
        "task_runs",
        "states",
        "logs",
        "events",
        "edges",
        "deployments",
    ]
    assert {"column": "expected_start_time", "type": "TIMESTAMP WITH TIME ZONE"} in views[
        "flow_runs"
    ]


def test_a_project_with_no_runs_yet_reads_as_empty(orc: Orc) -> None:
    assert parse_json(orc("sql", "--json", "SELECT count(*) AS n FROM task_runs")) == [{"n": 0}]


def test_a_bad_query_exits_2_with_duckdbs_reason(populated: Path, orc: Orc) -> None:
    result = orc("sql", "SELECT nope FROM flow_runs")
    assert result.returncode == 2
    assert "nope" in result.stderr


def test_json_keeps_every_column_of_a_join_whose_names_repeat(populated: Path, orc: Orc) -> None:
    """`--json` gave `{"a": 2}` for `SELECT 1 a, 2 a`: a join's task run columns were lost."""
    rows = parse_json(orc("sql", "--json", "SELECT 1 AS a, 2 AS a, 3 AS a_1"))
    assert rows == [{"a": 1, "a_1": 2, "a_1_1": 3}]


def test_times_are_in_utc_whatever_the_shells_zone(populated: Path, tmp_path: Path) -> None:
    """With the daemon up a query ran in its zone, with it down in the shell's: day buckets
    moved with `TZ`. Both now run in UTC."""
    query = "SELECT current_setting('TimeZone') AS zone, date_trunc('day', to_timestamp(0)) AS day"
    done = subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", "sql", "--json", query],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "ORC_HOME": str(tmp_path), "TZ": "Asia/Tokyo"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert parse_json(done) == [{"zone": "UTC", "day": "1970-01-01T00:00:00+00:00"}]


def test_a_query_never_installs_or_loads_an_extension(populated: Path, orc: Orc) -> None:
    result = orc("sql", f"SELECT * FROM sqlite_attach('{populated / 'x.db'}')")
    assert result.returncode == 2
    assert "automatically install" not in result.stderr
    assert "sqlite_scanner" in result.stderr
