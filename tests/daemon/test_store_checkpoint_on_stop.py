"""`orc down` leaves a checkpointed store: no WAL for the next open, or a read with no daemon, to replay."""

from __future__ import annotations

import json

import pytest

from tests.daemon.conftest import FLOWS, Project

pytestmark = pytest.mark.timeout(120)

CONFIG = """
    [project]
    name = "stop-twice"
    [[deployments]]
    name = "tiny"
    entrypoint = "flows.py:tiny"
"""


def test_a_clean_stop_on_a_store_that_already_held_data_leaves_no_wal(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    store = project.root / ".orc" / "orc.duckdb"
    for attempt in range(2):  # the second daemon opens a store the first one filled
        project.up()
        ran = project.orc("run", "tiny", "-p", f"x={attempt}", "--watch")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert project.stop() == 0
        assert not store.with_name("orc.duckdb.wal").exists(), project.daemon_log()
        assert "Could not checkpoint" not in project.daemon_log(), project.daemon_log()
    listed = project.orc("runs", "ls", "--json")  # read from the file, with no daemon up
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
