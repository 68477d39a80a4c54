"""`orc runs ls`, `orc runs show`, `orc logs`, `orc version` against a store written by the writer."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.project import store_path
from orchestrate.core.records import EdgeRecord, LogRecord, Record, StateRecord
from orchestrate.states import Completed, Failed, Pending, Running, State
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json

BASE = 1_700_000_000.0


def _failed() -> Failed:
    state = Failed(message="Flow run failed", data=KeyError("customer_id"))
    state.traceback = (
        'Traceback (most recent call last):\n  File "etl.py", line 9\nKeyError: customer_id\n'
    )
    return state


def _at(state: State, ts: float) -> State:
    """States stamp themselves with now; tests pin the time."""
    state.ts = ts
    return state


@pytest.fixture
def populated(tmp_path: Path, build: SimpleNamespace) -> Path:
    failed = _failed()
    records: list[Record] = [
        build.flow_run("aaaa1111-run", failed, name="brave-otter", created=BASE, parameters={"days": 3},
                       start_time=BASE, end_time=BASE + 1.5, expected_start_time=BASE - 30),
        build.flow_run("aaaa2222-run", Completed(), name="calm-heron", created=BASE + 60),
        build.flow_run("bbbb3333-run", Running(), name="swift-fox", created=BASE + 120, flow_name="report",
                       end_time=None),
        build.task_run("t-extract", "aaaa1111-run", Completed(), name="extract", start_time=BASE + 1),
        build.task_run("t-load", "aaaa1111-run", failed, name="load", start_time=BASE + 2, run_count=2),
        EdgeRecord("aaaa1111-run", "t-load", "t-extract", "data"),
        StateRecord("aaaa1111-run", "aaaa1111-run", False, _at(Pending(), BASE)),
        StateRecord("aaaa1111-run", "aaaa1111-run", False, _at(Running(), BASE + 0.5)),
        StateRecord("aaaa1111-run", "aaaa1111-run", False, failed),
        LogRecord("aaaa1111-run", None, BASE + 0.6, 20, "orc.flow", "Starting nightly load"),
        LogRecord("aaaa1111-run", "t-load", BASE + 2.1, 40, "orc.task", "customer_id missing"),
    ]  # fmt: skip
    writer = StoreWriter(store_path(tmp_path))
    for record in records:
        writer.put(record)
    writer.close()
    return tmp_path


def test_runs_ls_json_has_the_documented_shape(populated: Path, orc: Orc) -> None:
    runs = parse_json(orc("runs", "ls", "--json"))
    assert [r["id"] for r in runs] == ["bbbb3333-run", "aaaa2222-run", "aaaa1111-run"]
    failed = runs[-1]
    assert failed["state_type"] == "FAILED" and failed["state_name"] == "Failed"
    assert failed["task_runs"] == {"Completed": 1, "Failed": 1}
    assert failed["parameters"] == {"days": 3} and failed["duration_seconds"] == 1.5
    assert failed["start_time"].startswith("2023-11-14T22:13:20")
    expected = {"id", "name", "flow_name", "state_type", "state_name", "start_time", "end_time",
                "duration_seconds", "parameters", "parent_task_run_id", "task_runs"}  # fmt: skip
    assert expected <= failed.keys()


def test_every_run_has_its_slot_time_as_expected_start_time(populated: Path, orc: Orc) -> None:
    runs = {r["id"]: r for r in parse_json(orc("runs", "ls", "--json"))}
    assert runs["aaaa1111-run"]["expected_start_time"] == "2023-11-14T22:12:50+00:00"
    assert runs["aaaa2222-run"]["expected_start_time"] is None  # a run no slot planned
    shown = parse_json(orc("runs", "show", "aaaa1", "--json"))
    assert shown["expected_start_time"] == "2023-11-14T22:12:50+00:00"
    assert "expected start" in orc("runs", "show", "aaaa1").stdout


def test_runs_ls_filters_and_prints_a_table(populated: Path, orc: Orc) -> None:
    assert [r["name"] for r in parse_json(orc("runs", "ls", "--state", "failed", "--json"))] == [
        "brave-otter"
    ]
    assert len(parse_json(orc("runs", "ls", "--flow", "report", "--json"))) == 1
    assert len(parse_json(orc("runs", "ls", "--limit", "2", "--json"))) == 2
    table = orc("runs", "ls")
    assert table.returncode == 0
    assert "aaaa1111 " in table.stdout and "brave-otter" in table.stdout
    assert "1✔ 1✘" in table.stdout  # task-run outcomes as glyphs


def test_runs_show_by_prefix_has_history_task_runs_and_error(populated: Path, orc: Orc) -> None:
    shown = orc("runs", "show", "aaaa1")
    assert shown.returncode == 0, shown.stderr
    for text in ("brave-otter", "State history", "extract", "load", "KeyError", "line 9"):
        assert text in shown.stdout
    data = parse_json(orc("runs", "show", "aaaa1", "--json"))
    assert [s["name"] for s in data["state_history"]] == ["Pending", "Running", "Failed"]
    load = data["task_run_details"][1]
    assert load["upstream"] == [{"id": "t-extract", "name": "extract", "kind": "data"}]
    assert load["run_count"] == 2
    assert data["error"]["type"] == "KeyError" and "line 9" in data["error"]["traceback"]


def test_logs_in_time_order_with_task_run_names(populated: Path, orc: Orc) -> None:
    lines = parse_json(orc("logs", "aaaa1111", "--json"))
    assert [(line["level"], line["task_run_name"], line["message"]) for line in lines] == [
        ("INFO", None, "Starting nightly load"),
        ("ERROR", "load", "customer_id missing"),
    ]
    text = orc("logs", "aaaa1111").stdout
    assert "ERROR" in text and "load | customer_id missing" in text


def test_unknown_run_id_exits_3_with_a_hint(populated: Path, orc: Orc) -> None:
    for command in (("runs", "show", "zzz"), ("logs", "zzz")):
        result = orc(*command)
        assert result.returncode == 3
        assert "No flow run matches 'zzz'" in result.stderr and "orc runs ls" in result.stderr


def test_an_ambiguous_prefix_exits_3_listing_the_candidates(populated: Path, orc: Orc) -> None:
    result = orc("runs", "show", "aaaa")
    assert result.returncode == 3
    assert "aaaa1111-run" in result.stderr and "aaaa2222-run" in result.stderr


def test_project_option_overrides_orc_home(
    populated: Path, orc: Orc, tmp_path_factory: pytest.TempPathFactory
) -> None:
    empty = tmp_path_factory.mktemp("other")
    assert parse_json(orc("runs", "ls", "--json", "--project", str(empty))) == []
    assert not (empty / ".orc").exists()


def test_an_empty_project_lists_nothing(orc: Orc, tmp_path: Path) -> None:
    assert parse_json(orc("runs", "ls", "--json")) == []
    assert "No flow runs yet" in orc("runs", "ls").stdout
    assert not (tmp_path / ".orc").exists()


def test_a_corrupt_store_exits_4(orc: Orc, tmp_path: Path) -> None:
    path = store_path(tmp_path)
    path.parent.mkdir()
    path.write_text("not a database\n" * 300)
    result = orc("runs", "ls")
    assert result.returncode == 4
    assert str(path) in result.stderr


def test_version_json(orc: Orc) -> None:
    data = parse_json(orc("version", "--json"))
    assert set(data) == {"orc", "python", "duckdb"}


def test_help_lists_the_exit_codes(orc: Orc) -> None:
    result = orc("--help")
    assert result.returncode == 0
    assert "Exit codes" in result.stdout and "3 not found" in result.stdout
