"""`orc validate` and `orc schema`, through the real `orc` command and Typer's runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrate.cli import config_cmds
from orchestrate.cli.app import app
from tests.config.conftest import REPO, Project
from tests.config.test_errors import TWO_DEPLOYMENTS
from tests.config.test_load import DESIGN_EXAMPLE


def orc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    env.pop("ORC_HOME", None)
    env.pop("API_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "orchestrate.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_validate_lists_every_error_and_exits_2(project: Project) -> None:
    project.write(TWO_DEPLOYMENTS.replace('name = "cleanup"', 'name = "nightly"'))
    result = orc("validate", cwd=project.root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'flows.toml:9:8 deployments[1].name: deployment name "nightly" is already used by '
        "deployments[0] (line 5); names must be unique",
        'flows.toml:14:8 deployments[1].schedules[0].cron: "61 * * * *" is not a valid cron '
        "expression (minute must be 0-59)",
        "2 errors; fix them and run `orc validate` again.",
    ]


def test_validate_summarises_what_would_run(project: Project) -> None:
    project.write(DESIGN_EXAMPLE)
    result = orc("validate", cwd=project.root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == 'flows.toml is valid: project "demo", 2 deployments, at most 4 runs at once, events kept 30d.'
    )
    assert "nightly-etl  examples/etl.py:nightly" in lines
    assert any(line.startswith("  every day at 02:00 (Europe/Berlin)  next ") for line in lines)
    assert "  no schedule; runs when asked: orc run cleanup" in lines
    assert result.stderr.startswith("warning: flows.toml:19:21 deployments[0].env.API_TOKEN: ")


def test_validate_finds_the_file_from_project_or_file(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project.write(DESIGN_EXAMPLE)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert orc("validate", "--project", str(project.root), cwd=elsewhere).returncode == 0
    assert orc("validate", "--file", str(project.file), cwd=elsewhere).returncode == 0
    missing = orc("validate", cwd=elsewhere)
    assert missing.returncode == 2
    assert f"no flows.toml at {elsewhere}" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_validate_json(project: Project) -> None:
    project.write(TWO_DEPLOYMENTS)
    bad = orc("validate", "--json", cwd=project.root)
    assert bad.returncode == 2
    report = json.loads(bad.stdout)
    assert report["valid"] is False
    assert report["errors"] == [
        {
            "file": "flows.toml",
            "line": 14,
            "column": 8,
            "path": "deployments[1].schedules[0].cron",
            "message": '"61 * * * *" is not a valid cron expression (minute must be 0-59)',
            "severity": "error",
        }
    ]
    project.write(DESIGN_EXAMPLE)
    good = json.loads(orc("validate", "--json", cwd=project.root).stdout)
    assert good["valid"] is True and good["project"]["event_retention"] == "30d"
    nightly = good["deployments"][0]
    assert nightly["env"] == {"API_TOKEN": {"from_env": "API_TOKEN"}}
    assert [s["id"] for s in nightly["schedules"]] == ["0", "1"]
    assert nightly["schedules"][0]["text"] == "every day at 02:00 (Europe/Berlin)"
    assert len(nightly["fingerprint"]) == 16
    assert good["warnings"][0]["path"] == "deployments[0].env.API_TOKEN"


def test_next_run_times_are_shown_in_each_schedule_timezone(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write(
        """
        [defaults]
        timezone = "Europe/Berlin"

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:nightly"
        schedules = [
          { cron = "30 2 * * *" },
          { cron = "0 9 * * mon", timezone = "America/New_York" },
          { interval = "90s", active = false },
        ]

        [[deployments]]
        name = "held"
        entrypoint = "examples/etl.py:cleanup"
        paused = true
        schedules = [{ interval = "1h" }]
        """
    )
    monkeypatch.setattr(config_cmds, "_now", lambda: datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        'flows.toml is valid: project "'
        + project.root.name
        + '", 2 deployments, at most 4 runs at once, events kept 30d.',
        "",
        "nightly  examples/etl.py:nightly",
        "  every day at 02:30 (Europe/Berlin)  next 2026-03-29 03:00 CEST",
        "  at 09:00 on Monday (America/New_York)  next 2026-03-30 09:00 EDT",
        "  every 1 minute 30 seconds  (inactive)",
        "",
        "held  examples/etl.py:cleanup  (paused: no scheduled runs)",
        "  every hour",
    ]


def test_schema_describes_the_file() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "flows.toml"
    assert set(schema["properties"]) == {"project", "defaults", "deployments", "automations"}
    assert schema["additionalProperties"] is False
    deployment = schema["$defs"]["DeploymentSpec"]
    assert deployment["required"] == ["name", "entrypoint"]
    assert deployment["properties"]["collision_strategy"]["enum"] == [
        "enqueue",
        "cancel-new",
        "skip",
    ]
    kinds = deployment["properties"]["schedules"]["items"]["oneOf"]
    assert [k["$ref"].rsplit("/", 1)[1] for k in kinds] == [
        "CronSchedule",
        "IntervalSchedule",
        "RRuleSchedule",
    ]
    assert '"type": "null"' not in result.output  # TOML has no null
    retention = schema["$defs"]["ProjectSection"]["properties"]["event_retention"]
    assert retention["default"] == "30d"
    assert {kind["type"] for kind in retention["anyOf"]} == {"string", "number"}


def test_an_unset_from_env_variable_names_the_deployments_it_blocks(project: Project) -> None:
    project.write(
        """
        [defaults]
        env = { SHARED = { from_env = "ORC_TEST_UNSET_SHARED" } }

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:nightly"
        env = { API_TOKEN = { from_env = "ORC_TEST_UNSET_TOKEN" } }

        [[deployments]]
        name = "cleanup"
        entrypoint = "examples/etl.py:cleanup"
        env = { SHARED = "set here" }
        """
    )
    result = orc("validate", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: flows.toml:2:18 defaults.env.SHARED: ORC_TEST_UNSET_SHARED is not set in this "
        'environment; deployment "nightly" is blocked until it is: `orc up` runs the others, but '
        "refuses `orc run` of it and ends scheduled runs Failed. Set ORC_TEST_UNSET_SHARED where "
        "`orc up` runs, then restart it",
        "warning: flows.toml:7:21 deployments[0].env.API_TOKEN: ORC_TEST_UNSET_TOKEN is not set in "
        'this environment; deployment "nightly" is blocked until it is: `orc up` runs the others, '
        "but refuses `orc run` of it and ends scheduled runs Failed. Set ORC_TEST_UNSET_TOKEN where "
        "`orc up` runs, then restart it",
    ]
    strict = orc("validate", "--strict", cwd=project.root)
    assert strict.returncode == 2
    assert strict.stdout == ""
    assert strict.stderr.splitlines()[-1] == (
        "2 warnings (--strict treats warnings as errors); fix them and run `orc validate` again."
    )
    strict_json = json.loads(orc("validate", "--strict", "--json", cwd=project.root).stdout)
    assert strict_json["valid"] is False
    assert [e["path"] for e in strict_json["errors"]] == [
        "defaults.env.SHARED",
        "deployments[0].env.API_TOKEN",
    ]


def test_blocked_reason_names_the_deployment_and_the_variable(project: Project) -> None:
    config = project.load(DESIGN_EXAMPLE, environ={})
    nightly, cleanup = config.deployments
    assert nightly.blocked_reason({}) == (
        'deployment "nightly-etl" needs API_TOKEN from the environment (env { from_env = ... } in '
        "flows.toml), which is not set where `orc up` runs; set it there and restart `orc up`"
    )
    assert nightly.blocked_reason({"API_TOKEN": "x"}) is None
    assert cleanup.blocked_reason({}) is None


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        pytest.param(
            "x = " + "[" * 500 + "]" * 500,
            "flows.toml:1:504 arrays and tables nest more than 32 levels",
            id="deep",
        ),
        pytest.param(
            '[[deployments]]\nname = "a"\nentrypoint = "examples/etl.py:nightly"\n'
            'schedules = [{ interval = "99999999999d" }]',
            'flows.toml:4:27 deployments[0].schedules[0].interval: "99999999999d" is too long',
            id="huge interval",
        ),
        pytest.param(
            '[[deployments]]\nname = "a"\nentrypoint = "examples/etl.py:nightly"\n'
            'parameters = { days = "abc" }',
            'flows.toml:4:23 deployments[0].parameters.days: expected integer, got "abc" '
            "(flow examples/etl.py:nightly takes days: int = 1)",
            id="parameter type",
        ),
    ],
)
def test_validate_refuses_what_crashed_or_passed_before_with_exit_2_and_no_traceback(
    project: Project, text: str, first_line: str
) -> None:
    project.file.write_text(text + "\n")
    result = orc("validate", cwd=project.root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(first_line)
