"""A `from_env` secret a flow prints, logs, raises and emits leaves no trace under `.orc/`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import Project

pytestmark = pytest.mark.timeout(120)

TOKEN = "tok-3f9a-SECRET-77"
LISTED = "listed-secret-value-42"
SHORT = "abc"

LEAKY = """
    import os
    import sys

    from orchestrate import flow, get_run_logger, task
    from orchestrate.events import emit_event


    @task
    def use_token() -> str:
        token = os.environ["API_TOKEN"]
        get_run_logger().info("calling the API with %s", token)
        return token


    @flow
    def leaky() -> None:
        token = use_token()
        print("token on stdout:", token)
        print("listed on stderr:", os.environ["LISTED_SECRET"], file=sys.stderr)
        print("short one:", os.environ["SHORT_SECRET"])
        emit_event("acme.token.used", {"orc.resource.id": f"acme.{token}"}, payload={"t": token})
        raise ValueError(f"the API refused {token}")
"""


@pytest.fixture
def leaky(project: Project) -> Iterator[Project]:
    project.write("flows.py", LEAKY)
    project.write(
        "flows.toml",
        """
        [project]
        name = "secrets"
        secrets = ["LISTED_SECRET"]
        [[deployments]]
        name = "leaky"
        entrypoint = "flows.py:leaky"
        retries = 0
        env = { API_TOKEN = { from_env = "API_TOKEN" }, SHORT_SECRET = { from_env = "SHORT_SECRET" } }
    """,
    )
    env = {"API_TOKEN": TOKEN, "LISTED_SECRET": LISTED, "SHORT_SECRET": SHORT}
    up = project.orc("up", "--detach", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield project
    finally:
        project.orc("down")


def _files(root: Path) -> Iterator[Path]:
    for path in sorted((root / ".orc").rglob("*")):
        if path.is_file():
            yield path


def test_no_file_under_orc_holds_a_secret(leaky: Project) -> None:
    ran = leaky.orc("run", "leaky", "--watch")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert TOKEN not in ran.stdout + ran.stderr
    assert "***" in ran.stdout
    run_id = leaky.runs(deployment="leaky")[0].id
    logs = leaky.orc("logs", run_id).stdout
    assert "calling the API with ***" in logs
    assert "token on stdout: ***" in logs
    assert "listed on stderr: ***" in logs
    assert "short one: abc" in logs  # too short to mask
    shown = leaky.orc("runs", "show", run_id).stdout
    assert "the API refused ***" in shown
    events = leaky.orc("events", "ls", "--name", "acme.*", "--json").stdout
    assert "acme.***" in events
    assert leaky.orc("down").returncode == 0
    found = list(_files(leaky.root))
    assert any(p.name == "orc.log" for p in found)
    assert any(p.suffix == ".duckdb" for p in found)
    for path in found:
        raw = path.read_bytes()
        for secret in (TOKEN, LISTED):
            assert secret.encode() not in raw, f"{secret} is in {path}"


def test_validate_warns_of_a_secret_too_short_to_mask(project: Project) -> None:
    project.write("flows.py", "from orchestrate import flow\n\n@flow\ndef f() -> None: ...\n")
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "f"
        entrypoint = "flows.py:f"
        env = { SHORT_SECRET = { from_env = "SHORT_SECRET" } }
    """,
    )
    result = project.orc("validate", env={"SHORT_SECRET": SHORT})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SHORT_SECRET" in result.stdout + result.stderr
    assert "shorter than 4" in result.stdout + result.stderr
    quiet = project.orc("validate", env={"SHORT_SECRET": "long-enough"})
    assert "shorter than 4" not in quiet.stdout + quiet.stderr
    assert os.environ.get("SHORT_SECRET") is None


def test_a_plain_python_flow_shipping_to_the_daemon_is_masked_too(leaky: Project) -> None:
    script = leaky.write(
        "plain.py",
        """
        import os
        from orchestrate import flow, get_run_logger

        @flow
        def plain() -> None:
            get_run_logger().info("plain sees %s", os.environ["API_TOKEN"])

        plain()
    """,
    )
    env = {**os.environ, "API_TOKEN": TOKEN, "ORC_HOME": str(leaky.root)}
    done = subprocess.run([sys.executable, str(script)], cwd=leaky.root, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = next(r.id for r in leaky.runs() if r.flow_name == "plain")
    logs = leaky.orc("logs", run_id).stdout
    assert "plain sees ***" in logs, logs


PLAIN = """
    import os

    from orchestrate import flow, get_run_logger, task
    from orchestrate.events import emit_event


    @task
    def use_token() -> str:
        get_run_logger().info("task sees %s", os.environ["API_TOKEN"])
        return os.environ["API_TOKEN"]


    @flow(log_prints=True)
    def plain() -> None:
        token = use_token()
        print("listed:", os.environ["LISTED_SECRET"])
        emit_event("acme.token.used", {"orc.resource.id": f"acme.{token}"}, payload={"t": token})
        raise ValueError(f"the API refused {token}")


    plain(return_state=True)
"""


def test_a_plain_python_flow_with_no_daemon_stores_and_prints_no_secret(project: Project) -> None:
    """`python flow.py` records into the store itself; the project's secrets are masked there too."""
    project.write("plain.py", PLAIN)
    project.write(
        "flows.toml",
        """
        [project]
        name = "secrets"
        secrets = ["LISTED_SECRET"]
        [defaults]
        env = { API_TOKEN = { from_env = "API_TOKEN" } }
    """,
    )
    env = {**os.environ, "API_TOKEN": TOKEN, "LISTED_SECRET": LISTED, "ORC_HOME": str(project.root)}
    done = subprocess.run([sys.executable, "plain.py"], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for secret in (TOKEN, LISTED):
        assert secret not in done.stdout + done.stderr, done.stdout + done.stderr
    assert "task sees ***" in done.stderr
    listed = project.orc("runs", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    run_id = next(r["id"] for r in json.loads(listed.stdout) if r["flow_name"] == "plain")
    logs = project.orc("logs", run_id).stdout
    assert "task sees ***" in logs and "listed: ***" in logs, logs
    assert "the API refused ***" in project.orc("runs", "show", run_id).stdout
    assert "acme.***" in project.orc("events", "ls", "--name", "acme.*", "--json").stdout
    for path in _files(project.root):
        raw = path.read_bytes()
        for secret in (TOKEN, LISTED):
            assert secret.encode() not in raw, f"{secret} is in {path}"
