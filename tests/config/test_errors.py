"""An invalid flows.toml: every problem at once, each as `file:line:col path: what and how to fix`."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.config import ConfigError, load_config
from orchestrate.core.errors import OrcError
from tests.config.conftest import Project

TWO_DEPLOYMENTS = """
[project]
name = "demo"

[[deployments]]
name = "nightly"
entrypoint = "examples/etl.py:nightly"

[[deployments]]
name = "cleanup"
entrypoint = "examples/etl.py:cleanup"

[[deployments.schedules]]
# hourly, on the hour
cron = "61 * * * *"
"""


def test_the_documented_message(project: Project) -> None:
    assert project.errors(TWO_DEPLOYMENTS) == [
        'flows.toml:14:8 deployments[1].schedules[0].cron: "61 * * * *" is not a valid cron '
        "expression (minute must be 0-59)"
    ]


def test_the_error_carries_structured_issues(project: Project) -> None:
    project.write(TWO_DEPLOYMENTS)
    with pytest.raises(ConfigError) as caught:
        load_config(project.file)
    assert isinstance(caught.value, OrcError)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.column) == ("flows.toml", 14, 8)
    assert issue.path == "deployments[1].schedules[0].cron"
    assert issue.to_dict()["severity"] == "error"


def test_every_problem_is_reported_in_file_order(project: Project) -> None:
    (project.root / "examples" / "broken.py").write_text("def job(:\n    pass\n")
    errors = project.errors(
        """
        [project]
        max_concurent_runs = 3

        [defaults]
        timezone = "Europe/Berlinn"
        retries = "3"

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:weekly"
        schedules = [{ cron = "0 2 * * *" }, { interval = "15 minutes" }]
        catchup = "sometimes"

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/broken.py:job"
        concurrency_limit = 0

        [[deployments]]
        entrypoint = "missing/flow.py:main"
        schedules = [{ cron = "0 2 * * *", interval = "1h" }, { rrule = "FREQ=SOMETIMES" }]
        """
    )
    assert errors == [
        'flows.toml:2:1 project.max_concurent_runs: unknown key "max_concurent_runs" (did you mean '
        '"max_concurrent_runs"?); allowed here: name, max_concurrent_runs, watch, tag_limits, event_retention, run_retention, secrets',
        'flows.toml:5:12 defaults.timezone: unknown timezone "Europe/Berlinn" (did you mean '
        '"Europe/Berlin"?); use an IANA name like "Europe/Berlin" or "UTC"',
        'flows.toml:6:11 defaults.retries: expected a whole number, not "3"',
        'flows.toml:10:14 deployments[0].entrypoint: examples/etl.py has no "weekly"; it defines '
        "extract, transform, load, nightly, cleanup. Fix the name after the colon",
        'flows.toml:11:51 deployments[0].schedules[1].interval: "15 minutes" is not a duration; '
        'write it like "90s", "15m", "1h30m", "2d", ISO 8601 "PT15M", or a number of seconds',
        'flows.toml:12:11 deployments[0].catchup: "sometimes" is not allowed; use "none", "latest" or "all"',
        'flows.toml:15:8 deployments[1].name: deployment name "nightly" is already used by '
        "deployments[0] (line 9); names must be unique",
        "flows.toml:16:14 deployments[1].entrypoint: examples/broken.py:1:9: SyntaxError: invalid "
        "syntax; fix the file (this deployment cannot run until then)",
        "flows.toml:17:21 deployments[1].concurrency_limit: 0 is too small; use at least 1",
        "flows.toml:19:1 deployments[2].name: name is missing; add it to this table",
        f'flows.toml:20:14 deployments[2].entrypoint: no such file "missing/flow.py" (relative to '
        f"{project.root}); fix the path before the colon",
        "flows.toml:21:14 deployments[2].schedules[0]: a schedule has exactly one of cron, interval "
        "or rrule; this one has cron and interval; split it into one schedule per kind",
        'flows.toml:21:65 deployments[2].schedules[1].rrule: "FREQ=SOMETIMES" is not a valid '
        "rrule (invalid 'FREQ': SOMETIMES)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[project]\nname = "demo\n', "flows.toml:2:13 not valid TOML: Illegal character"),
        ("[project]\nname = \n", "flows.toml:2:8 not valid TOML: Invalid value"),
        ("[[deployments]\n", "flows.toml:1:14 not valid TOML: Expected ']]'"),
        ("[project]\n[project]\n", "flows.toml:2:"),
    ],
)
def test_toml_syntax_errors_have_a_line_and_column(
    project: Project, text: str, expected: str
) -> None:
    [error] = project.errors(text)
    assert error.startswith(expected), error


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (
            'entrypoint = "examples/etl.py"',
            'deployments[0].entrypoint: "examples/etl.py" is not of the form PATH.py:FUNCTION',
        ),
        ('name = "my flow"', 'deployments[0].name: "my flow" is not a usable deployment name'),
        ('paused = "yes"', 'deployments[0].paused: expected true or false, not "yes"'),
        ('tags = "etl"', 'deployments[0].tags: expected an array, not "etl"'),
        ("timeout_seconds = 0", "deployments[0].timeout_seconds: 0 is too small; use more than 0"),
        ('collision_strategy = "replace"', 'use "enqueue", "cancel-new" or "skip"'),
        (
            "env = { TOKEN = [1] }",
            'deployments[0].env.TOKEN: an env value is text or { from_env = "NAME" }',
        ),
        (
            'env = { "MY-VAR" = "x" }',
            'deployments[0].env.MY-VAR: "MY-VAR" is not an environment variable name',
        ),
        (
            'env = { TOKEN = "a\\u0000b" }',
            "deployments[0].env.TOKEN: a NUL character cannot be in an environment variable",
        ),
        (
            'env = { T = { from = "X" } }',
            'deployments[0].env.T.from: unknown key "from" (did you mean "from_env"?)',
        ),
        (
            'task_runner = "processes"',
            'deployments[0].task_runner: "processes" is not allowed; use "thread" or "dask"',
        ),
        (
            'task_runner = { type = "thread", address = "tcp://x:1" }',
            'task_runner.address: unknown key "address"; allowed here: type, max_workers',
        ),
        ('working_dir = "nowhere"', 'deployments[0].working_dir: no such folder "nowhere"'),
        (
            "schedules = [{}]",
            "deployments[0].schedules[0]: a schedule needs one of cron, interval or rrule",
        ),
        ('schedules = ["0 2 * * *"]', "deployments[0].schedules[0]: "),
        ("parameters = 3", "deployments[0].parameters: expected a table, not 3"),
    ],
)
def test_deployment_key_errors(project: Project, snippet: str, expected: str) -> None:
    base = '[[deployments]]\nname = "nightly"\nentrypoint = "examples/etl.py:nightly"\n'
    key = snippet.split(" =")[0]
    lines = [line for line in base.splitlines() if not line.startswith(f"{key} =")]
    errors = project.errors("\n".join([*lines, snippet]) + "\n")
    assert any(expected in error for error in errors), errors
    assert all(error.startswith(f"flows.toml:{len(lines) + 1}:") for error in errors)


def test_automations_must_be_tables(project: Project) -> None:
    [error] = project.errors("automations = [1]\n")
    assert error == "flows.toml:1:16 automations[0]: expected a table, not 1"


def test_an_unreadable_file_is_one_issue(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "flows.toml")
    [issue] = caught.value.issues
    assert "cannot be read: No such file or directory" in str(issue)


def test_the_file_is_named_as_given_when_outside_the_current_folder(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write(TWO_DEPLOYMENTS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError) as caught:
        load_config(project.file)
    assert str(caught.value).startswith(f"{project.file}:14:8 ")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"0s"', '"0s" would keep no events; give how long events are kept, e.g. "30d"'),
        ("0", "0 would keep no events"),
        ('"a month"', '"a month" is not a duration; write it like "90s"'),
        ('"P1M"', '"P1M" uses months or years, which have no fixed length'),
        ("[1]", "[1] is not a duration"),
    ],
)
def test_a_bad_event_retention_names_the_place_and_the_fix(
    project: Project, written: str, message: str
) -> None:
    [error] = project.errors(f'[project]\nname = "demo"\nevent_retention = {written}\n')
    assert error.startswith(f"flows.toml:3:19 project.event_retention: {message}"), error
