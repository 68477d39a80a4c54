"""Tab completes deployment and automation names, run ids and state names (Typer's completion)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

from orchestrate.core.project import store_path
from orchestrate.states import Completed, Failed
from orchestrate.store import StoreWriter
from tests.daemon.conftest import ORC

CONFIG = """
[[deployments]]
name = "nightly-etl"
entrypoint = "flows.py:etl"
[[deployments]]
name = "hourly"
entrypoint = "flows.py:etl"
[[automations]]
name = "notify-on-failure"
trigger = { event = "orc.flow-run.Failed" }
actions = [{ type = "pause-deployment", deployment = "hourly" }]
"""


def _complete(root: Path, line: str) -> list[str]:
    """What bash would offer for `line` (its last word being completed)."""
    words = line.split(" ")
    env = {**os.environ, "_ORC_COMPLETE": "complete_bash", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}  # fmt: skip
    env.pop("ORC_HOME", None)
    done = subprocess.run([ORC], cwd=root, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_names_states_and_run_ids_complete(tmp_path: Path, build: SimpleNamespace) -> None:
    (tmp_path / "flows.toml").write_text(CONFIG)
    writer = StoreWriter(store_path(tmp_path))
    writer.put(build.flow_run("abc12345-0000", Completed(), deployment="hourly"))
    writer.put(build.flow_run("abd99999-0000", Failed(), deployment="hourly"))
    writer.close()
    assert _complete(tmp_path, "orc run night") == ["nightly-etl"]
    assert _complete(tmp_path, "orc backfill night") == ["nightly-etl"]
    assert _complete(tmp_path, "orc runs ls --deployment hou") == ["hourly"]
    assert _complete(tmp_path, "orc prune --deployment hou") == ["hourly"]
    assert sorted(_complete(tmp_path, "orc deployments show ")) == ["hourly", "nightly-etl"]
    assert _complete(tmp_path, "orc automations show no") == ["notify-on-failure"]
    assert _complete(tmp_path, "orc runs ls --state Fai") == ["Failed"]
    assert sorted(_complete(tmp_path, "orc runs show ab")) == ["abc12345-0000", "abd99999-0000"]
    assert _complete(tmp_path, "orc logs abc") == ["abc12345-0000"]
    assert _complete(tmp_path, "orc retry zz") == []
