"""`orc sql` while `orc up` holds the store: the daemon answers on a cursor of its own."""

from __future__ import annotations

import csv
import filecmp
import io
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestrate.client.wire import LINE_LIMIT
from tests.daemon.conftest import FLOWS, ORC, Project, wait_for


@pytest.fixture
def two_runs(project: Project) -> Project:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
    """,
    )
    project.up()
    for x in ("1", "2"):
        result = project.orc("run", "tiny", "-p", f"x={x}", "--watch")
        assert result.returncode == 0, result.stdout + result.stderr
    return project


def _json(project: Project, *args: str) -> object:
    result = project.orc("sql", "--json", *args)
    assert result.returncode == 0, result.stderr + project.daemon_log()
    return json.loads(result.stdout)


def test_sql_counts_runs_and_task_runs_through_the_daemon(two_runs: Project) -> None:
    counted = _json(
        two_runs,
        """
        SELECT f.deployment, f.state_name, count(DISTINCT f.id) AS runs, count(t.id) AS task_runs
        FROM flow_runs f LEFT JOIN task_runs t ON t.flow_run_id = f.id
        GROUP BY ALL
    """,
    )
    assert counted == [{"deployment": "tiny", "state_name": "Completed", "runs": 2, "task_runs": 2}]
    logged = _json(two_runs, "SELECT message FROM logs WHERE message LIKE 'tiny got%' ORDER BY ts")
    assert logged == [{"message": "tiny got x=1"}, {"message": "tiny got x=2"}]


def test_a_delete_is_refused_and_the_daemon_goes_on(two_runs: Project) -> None:
    refused = two_runs.orc("sql", "DELETE FROM flow_runs")
    assert refused.returncode == 2
    assert "read-only" in refused.stderr
    assert _json(two_runs, "SELECT count(*) AS n FROM flow_runs") == [{"n": 2}]
    again = two_runs.orc("run", "tiny", "--watch")
    assert again.returncode == 0, again.stderr


def test_csv_streams_every_row_past_the_table_cap(two_runs: Project) -> None:
    result = two_runs.orc(
        "sql", "--csv", "--limit", "1", "SELECT run_id, state_name FROM states ORDER BY ts"
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["run_id", "state_name"]
    # Two flow runs and two task runs, each Pending/Running/Completed or more.
    assert len(rows) - 1 >= 8


def test_a_slow_query_is_stopped_at_its_timeout(two_runs: Project) -> None:
    slow = two_runs.orc(
        "sql", "--timeout", "0.3", "SELECT count(*) FROM range(10000000000) a, range(1000) b"
    )
    assert slow.returncode == 2
    assert "timeout of 0.3 s" in slow.stderr
    assert _json(two_runs, "SELECT count(*) AS n FROM flow_runs") == [{"n": 2}]


def test_schema_through_the_daemon(two_runs: Project) -> None:
    views = _json(two_runs, "--schema")
    assert isinstance(views, dict)
    assert "deployments" in views


def test_export_parquet_through_the_daemon_reads_back(two_runs: Project) -> None:
    out = two_runs.root / "exports" / "runs.parquet"
    result = two_runs.orc("export", "flow_runs", "--format", "parquet", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    back = duckdb.sql(f"SELECT deployment, state_name FROM read_parquet('{out}')").fetchall()
    assert back == [("tiny", "Completed"), ("tiny", "Completed")]


def test_a_backup_of_a_store_being_written_restores_whole(two_runs: Project) -> None:
    for _ in range(4):  # runs that record while the backup is taken
        started = two_runs.orc("run", "tiny")
        assert started.returncode == 0, started.stderr
    copy = two_runs.root / "orc.backup"
    made = two_runs.orc("backup", str(copy))
    assert made.returncode == 0, made.stderr + two_runs.daemon_log()
    assert copy.stat().st_mode & 0o777 == 0o600
    with duckdb.connect(str(copy), read_only=True) as backed_up:
        ids = backed_up.sql("SELECT id FROM flow_runs ORDER BY id").fetchall()
        orphans = backed_up.sql(
            "SELECT count(*) FROM task_runs WHERE flow_run_id NOT IN (SELECT id FROM flow_runs)"
        ).fetchall()
    assert len(ids) >= 2
    assert orphans == [(0,)]
    refused = two_runs.orc("restore", str(copy))
    assert refused.returncode == 5
    assert "stop it" in refused.stderr
    assert two_runs.stop() == 0
    restored = two_runs.orc("restore", str(copy))
    assert restored.returncode == 0, restored.stderr
    rows = _json(two_runs, "SELECT id FROM flow_runs ORDER BY id")
    assert [(r["id"],) for r in rows] == ids  # type: ignore[index]


def _printed(project: Project, out: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`orc sql ARGS` with stdout to a file: the answers here are larger than a socket reply."""
    with out.open("wb") as sink:
        return subprocess.run(
            [ORC, "sql", *args, "--project", str(project.root)],
            stdout=sink, stderr=subprocess.PIPE, timeout=300,
        )  # fmt: skip


def test_json_and_csv_past_the_reply_limit_print_alike_with_the_daemon_up_and_down(
    two_runs: Project, tmp_path: Path
) -> None:
    rows = LINE_LIMIT // 1000 + 2000  # about 1 kB a row: the answer is larger than any one reply
    query = (
        "SELECT i, repeat('x', 1000) AS pad, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS at,"
        f" {{'n': i, 'tags': [i, NULL]}} AS nested, i / 3 AS ratio FROM range({rows}) t(i) ORDER BY i"
    )
    outputs: dict[str, Path] = {}
    for mode in ("up", "down"):
        if mode == "down":
            assert two_runs.stop() == 0
        for fmt in ("--json", "--csv"):
            out = outputs[f"{fmt}-{mode}"] = tmp_path / f"{mode}{fmt}"
            result = _printed(two_runs, out, fmt, query)
            assert result.returncode == 0, result.stderr.decode() + two_runs.daemon_log()
    assert outputs["--json-up"].stat().st_size > LINE_LIMIT
    assert filecmp.cmp(outputs["--json-up"], outputs["--json-down"], shallow=False)
    assert filecmp.cmp(outputs["--csv-up"], outputs["--csv-down"], shallow=False)
    with outputs["--json-up"].open() as printed:
        first = printed.readline() + printed.readline()
    assert first.startswith('[\n{"i": 0, "pad": "xxx')
    tail = outputs["--json-up"].read_bytes()[-2000:].decode()
    assert tail.endswith('"ratio": %r}\n]\n' % ((rows - 1) / 3))
    assert list((two_runs.root / ".orc" / "sql").iterdir()) == []  # the spool file is gone


def test_a_delete_is_refused_as_json_too(two_runs: Project) -> None:
    refused = two_runs.orc("sql", "--json", "DELETE FROM flow_runs")
    assert refused.returncode == 2
    assert "read-only" in refused.stderr
    assert refused.stdout == ""
    assert _json(two_runs, "SELECT count(*) AS n FROM flow_runs") == [{"n": 2}]


def test_the_cli_waits_for_the_daemon_as_long_as_the_query_may_run(two_runs: Project) -> None:
    """A client gives up on a reply after 5 s by default; a query may take its whole --timeout."""
    from orchestrate.cli.history import History

    with History.of(two_runs.root, 120.0) as history:
        assert history.through_daemon
        assert history._client is not None and history._client.timeout is not None
        assert history._client.timeout > 120.0


def test_a_spool_file_left_by_a_killed_reader_goes_after_a_day(tmp_path: Path) -> None:
    from orchestrate.daemon.history_methods import SPOOL_KEPT, spool_path

    first = spool_path(tmp_path)
    first.write_text("[1]\n")
    os.utime(first, (1_000_000.0, 1_000_000.0))
    fresh = spool_path(tmp_path, now=1_000_000.0 + SPOOL_KEPT / 2)
    fresh.write_text("[2]\n")
    assert first.exists()
    spool_path(tmp_path, now=1_000_000.0 + SPOOL_KEPT + 1)
    assert not first.exists() and fresh.exists()
    assert (tmp_path / ".orc" / "sql").stat().st_mode & 0o777 == 0o700


def _query_threads(pid: int) -> int:
    """How many of the daemon's query threads exist (each made for a query handed to it)."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            continue  # ended while listed
    return sum(name.startswith("orc-sql") for name in names)


def test_a_query_whose_client_was_killed_stops_and_frees_its_thread(two_runs: Project) -> None:
    """Two `orc sql` killed by a cron `timeout` held both query threads for their whole
    --timeout: every other query then waited, and `orc sql "SELECT 1"` gave up (exit 5)."""
    slow = "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3"
    command = [ORC, "sql", "--timeout", "600", slow, "--project", str(two_runs.root)]
    clients = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    daemon = two_runs.processes[-1].pid
    wait_for(lambda: _query_threads(daemon) >= 2, 30, "both queries handed to query threads")
    for client in clients:
        client.kill()
        client.wait()
    quick = two_runs.orc("sql", "--json", "SELECT 42 AS answer", timeout=30)
    assert quick.returncode == 0, quick.stderr + two_runs.daemon_log()
    assert json.loads(quick.stdout) == [{"answer": 42}]
