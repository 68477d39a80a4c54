"""Bad input exits 2 with a message and leaves the store as it was.

`-p`, `--params` and entrypoints of `orc flow run`; `orc emit` and every
socket method's params with a daemon up; and rows an older orc stored in a
shape that no longer fits, which listings show as malformed instead of failing.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrate.client import RemoteError, protocol
from orchestrate.core.project import store_path
from orchestrate.store import StoreWriter
from tests.cli.conftest import Orc, parse_json
from tests.daemon.conftest import FLOWS, Project, with_suppress


@pytest.fixture
def old_run(tmp_path: Path, build: SimpleNamespace) -> str:
    writer = StoreWriter(store_path(tmp_path))
    writer.put(build.flow_run("old-run-1"))
    writer.close()
    (tmp_path / "etl.py").write_text("def nightly(n: int = 1) -> int:\n    return n\n")
    (tmp_path / "bad.py").write_text("def nightly(:\n    pass\n")
    return "old-run-1"


BAD_INPUTS = {
    "p without =": (["etl.py:nightly", "-p", "days"], ["'days'", "key=value", "-p days=3"]),
    "p without key": (["etl.py:nightly", "-p", "=3"], ["key=value"]),
    "params not json": (["etl.py:nightly", "--params", "{days"], ["--params", "not valid JSON"]),
    "params not object": (["etl.py:nightly", "--params", "[1]"], ["JSON object", "list"]),
    "no colon": (["etl.py"], ["PATH.py:FUNCTION"]),
    "missing file": (["nope/etl.py:nightly"], ["nope/etl.py: no such file"]),
    "missing function": (["etl.py:weekly"], ["etl.py has no 'weekly'", "nightly"]),
    "syntax error": (["bad.py:nightly"], ["bad.py:1:", "SyntaxError"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_and_the_store_still_lists_old_runs(
    case: str, old_run: str, orc: Orc
) -> None:
    args, expected = BAD_INPUTS[case]
    result = orc("flow", "run", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert [run["id"] for run in parse_json(orc("runs", "ls", "--json"))] == [old_run]


# -- bad input to a running daemon: refused with the field named, nothing stored -------------

LIVE_TOML = """
    [project]
    name = "demo"

    [[deployments]]
    name = "tiny"
    entrypoint = "flows.py:tiny"
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """One `orc up` shared by the socket cases below: each case changes nothing."""
    project = Project(tmp_path_factory.mktemp("live"))
    project.write("flows.py", FLOWS)
    project.write("flows.toml", LIVE_TOML)
    project.up()
    yield project
    for proc in project.processes:
        with_suppress(lambda proc=proc: os.killpg(proc.pid, signal.SIGKILL))
        proc.wait(10)


def test_emit_with_a_payload_that_is_not_an_object_exits_2_and_stores_nothing(
    live: Project,
) -> None:
    result = live.orc("emit", "bad.payload", "--resource", "r", "--payload", "[1]")

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--payload must be a JSON object" in result.stderr
    assert "Traceback" not in result.stderr
    listed = live.orc("events", "ls", "--name", "bad.*", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


EMIT = {"event": "bad.socket", "resource": {"orc.resource.id": "r"}}
BAD_PARAMS = {
    "related not objects": ("events.emit", {**EMIT, "related": [1, 2]}, "related.0"),
    "no event name": ("events.emit", {"resource": EMIT["resource"]}, "event: Field required"),
    "occurred past year 9999": ("events.emit", {**EMIT, "occurred": 1e300}, "occurred"),
    "payload a list": ("events.emit", {**EMIT, "payload": [1]}, "payload"),
    "resource without id": ("events.emit", {**EMIT, "resource": {"a": "b"}}, "orc.resource.id"),
    "limit a string": ("runs.list", {"limit": "abc"}, "limit"),
    "limit zero": (
        "events.list",
        {"limit": 0},
        "limit: Input should be greater than or equal to 1",
    ),
    "since not a number": ("events.list", {"since": "yesterday"}, "since"),
    "since out of range": ("runs.list", {"since": 1e300}, "since"),
    "run id a number": ("runs.logs", {"id": 5}, "id"),
    "log level a string": ("runs.logs", {"id": "x", "level": "INFO"}, "level"),
    "deployment name a list": ("deployments.get", {"name": ["tiny"]}, "name"),
    "parameters a list": ("runs.create", {"deployment": "tiny", "parameters": [1]}, "parameters"),
    "automation name a number": ("automations.pause", {"name": 5}, "name"),
    "subscription a string": ("unsubscribe", {"subscription": "x"}, "subscription"),
    "emit batch empty": ("events.emit_many", {"events": []}, "events"),
    "emit batch event without resource": (
        "events.emit_many",
        {"events": [EMIT, {"event": "bad.socket"}]},
        "events.1.resource",
    ),
    "log page of size 0": ("runs.log_page", {"id": "x", "size": 0}, "size"),
    "log page cursor a string": ("runs.log_page", {"id": "x", "after": "later"}, "after"),
}


@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_wrong_params_over_the_socket_are_refused_naming_the_field(
    case: str, live: Project
) -> None:
    method, params, field = BAD_PARAMS[case]
    with live.client() as client:
        with pytest.raises(RemoteError) as refused:
            client.call(method, **params)
        stored = client.events(name="bad.socket")
        assert client.status().pid > 0  # still answering

    assert refused.value.code == protocol.INVALID_PARAMS, str(refused.value)
    assert f"`{method}`" in str(refused.value)
    assert field in str(refused.value)
    assert "Traceback" not in str(refused.value)
    assert stored == []


def test_a_shipped_record_that_cannot_be_stored_is_left_out_and_the_rest_kept(
    live: Project,
) -> None:
    good = {"id": "kept-1", "occurred": time.time(), "event": "shipped.kept",
            "resource": {"orc.resource.id": "r"}}  # fmt: skip
    bad = {**good, "id": "bad-1", "event": "shipped.bad", "occurred": "noon", "payload": [1]}
    with live.client() as client:
        client.notify("records", {"records": [["event", bad], ["event", good]]})
        client.emit_event("shipped.after", {"orc.resource.id": "r"})
        names = {e.event for e in client.events(name="shipped.*")}

    assert names == {"shipped.kept", "shipped.after"}
    assert "left out record 0 (event)" in live.daemon_log()
    assert "occurred: Input should be a valid number" in live.daemon_log()


# -- a stored row that does not fit: listed as malformed, daemon up or down ------------------


def _old_bad_rows(root: Path) -> None:
    """Rows an older orc could have written: an event whose payload is a list, a run with no name."""
    writer = StoreWriter(store_path(root))
    writer.put(_good_event())
    writer.close()
    import duckdb

    with duckdb.connect(str(store_path(root))) as conn:
        conn.execute(
            "INSERT INTO events VALUES ('bad-event', now(), 'acme.odd', "
            """'{"orc.resource.id": "r"}', '[1, 2]', '[1]')"""
        )
        conn.execute(
            "INSERT INTO flow_runs (id, name, flow_name, state_type, state_name, parameters, "
            "created) VALUES ('bad-run', NULL, 'etl', NULL, 'Completed', '[3]', now())"
        )
        conn.execute("INSERT INTO logs VALUES ('bad-run', NULL, now(), NULL, NULL, 'still here')")


def _good_event() -> Any:
    from orchestrate.core.records import EventRecord

    return EventRecord(
        id="good-event", occurred=time.time() - 60, event="acme.fine",
        resource={"orc.resource.id": "r"}, payload={"rows": 3},
    )  # fmt: skip


@pytest.mark.parametrize("daemon", ["down", "up"])
def test_a_stored_row_that_does_not_fit_is_listed_as_malformed(daemon: str, tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write("flows.toml", '[project]\nname = "demo"\n')
    _old_bad_rows(tmp_path)
    if daemon == "up":
        project.up()
    try:
        text = project.orc("events", "ls")
        as_json = project.orc("events", "ls", "--json")
        runs = project.orc("runs", "ls", "--json")
        logs = project.orc("logs", "bad-run")
    finally:
        for proc in project.processes:
            project.stop(proc)

    for result in (text, as_json, runs, logs):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    bad_line = next(line for line in text.stdout.splitlines() if "acme.odd" in line)
    assert "(malformed: " in bad_line and "payload: not a JSON object ([1])" in bad_line
    assert "acme.fine" in text.stdout
    events = {e["id"]: e for e in json.loads(as_json.stdout)}
    assert events["good-event"]["payload"] == {"rows": 3}
    assert events["good-event"]["malformed"] is None
    assert "related: not a list of objects of strings ([1, 2])" in events["bad-event"]["malformed"]
    assert [r["id"] for r in json.loads(runs.stdout)] == ["bad-run"]
    assert "still here" in logs.stdout


@pytest.mark.parametrize(
    "args",
    [["runs", "x" * 3000], ["x" * 3000]],
    ids=["unknown subcommand", "unknown command"],
)
def test_a_pasted_wall_of_text_gets_a_usage_error_quoting_it_cut_short(
    args: list[str], orc: Orc
) -> None:
    result = orc(*args)

    assert result.returncode == 2
    assert "x" * 100 not in result.stderr
    assert len(result.stderr) < 1000
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["runs", "ls"], ["events", "ls"]])
def test_a_limit_past_any_table_size_lists_everything(
    command: list[str], old_run: str, orc: Orc
) -> None:
    """From the store file here; with a daemon up the limit reaches the same store reads."""
    result = orc(*command, "--limit", str(10**23), "--json")

    assert result.returncode == 0, result.stderr
    if command == ["runs", "ls"]:
        assert [run["id"] for run in json.loads(result.stdout)] == [old_run]


def test_emit_without_a_resource_or_with_one_for_stdin_says_what_to_give(live: Project) -> None:
    missing = live.orc("emit", "acme.x")
    assert missing.returncode == 2
    assert "--resource is missing; give the event's resource id" in missing.stderr
    both = live.orc("emit", "-", "--resource", "r")
    assert both.returncode == 2
    assert "with '-' each stdin line holds its own" in both.stderr
