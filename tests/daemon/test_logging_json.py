"""`orc up --log-format json`: every line on stderr is one JSON object, tracebacks included."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest

from orchestrate.daemon.logs import JsonFormatter
from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)

CONFIG = """
    [[deployments]]
    name = "fails"
    entrypoint = "flows.py:fails"
    retries = 0

    [[automations]]
    name = "complain"
    trigger = { event = "orc.flow-run.Failed" }
    actions = [{ type = "run-command", command = ["false"] }]
"""

MORE = """
    [[automations]]
    name = "note"
    trigger = { event = "acme.*" }
    actions = [{ type = "pause-automation" }]
"""


def _lines(project: Project) -> list[dict[str, Any]]:
    """Every line of the daemon's output as JSON; fails naming the first line that is not."""
    parsed = []
    for line in project.daemon_log().splitlines():
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    return parsed


def _said(project: Project, text: str) -> bool:
    return any(text in entry["message"] for entry in _lines(project))


def test_every_line_of_the_json_log_parses_through_a_reload_a_failure_and_an_automation(
    project: Project,
) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.up("--log-format", "json")
    with project.client() as client:
        client.create_run("fails")
    wait_for(lambda: _said(project, "exited with code 1"), 30, "the automation's command to fail")
    project.write("flows.toml", CONFIG + MORE)
    wait_for(lambda: _said(project, "automations reloaded"), 30, "the reload to be logged")
    project.stop()
    lines = _lines(project)
    assert all({"ts", "level", "logger", "message"} <= entry.keys() for entry in lines)
    assert all(entry["logger"].startswith(("orc.", "orchestrate.")) for entry in lines)
    [reload] = [e["message"] for e in lines if "automations reloaded" in e["message"]]
    assert reload == "automations reloaded: added note; 1 kept"  # words, not a Python repr
    failed = [e for e in lines if "(run-command) failed" in e["message"]]
    assert failed and failed[0]["level"] == "WARNING" and failed[0]["logger"] == "orc.automations"
    assert any(e["message"].startswith("listening on") for e in lines)  # the socket server's logger


def test_an_exception_s_traceback_is_a_field_of_its_json_line() -> None:
    try:
        raise KeyError("customer_id")
    except KeyError:
        record = logging.LogRecord(
            "orc.daemon", logging.ERROR, __file__, 1, "run %s failed", ("r1",), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "run r1 failed" and entry["level"] == "ERROR"
    assert entry["traceback"].startswith("Traceback (most recent call last)")
    assert entry["traceback"].rstrip().endswith("KeyError: 'customer_id'")
