"""Loading a valid flows.toml: the documented example, defaults, ids, fingerprints and secrets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from orchestrate.config import FromEnv, diff_deployments, load_config
from orchestrate.schedules import CronSchedule, IntervalSchedule
from tests.config.conftest import REPO, Project

# The example in DESIGN.md, exactly as written there.
DESIGN_EXAMPLE = """
[project]
name = "demo"

[defaults]
retries = 1
retry_delay_seconds = 5
timezone = "Europe/Berlin"

[[deployments]]
name = "nightly-etl"
entrypoint = "examples/etl.py:nightly"
parameters = { days = 1 }
schedules = [{ cron = "0 2 * * *" }, { interval = "15m", anchor = "2026-01-01T00:00:00" }]
concurrency_limit = 1
collision_strategy = "enqueue"   # or "cancel-new", "skip"
catchup = "latest"               # or "all", "none"
timeout_seconds = 3600
tags = ["etl"]
env = { API_TOKEN = { from_env = "API_TOKEN" } }   # secrets never stored

[[deployments]]
name = "cleanup"
entrypoint = "examples/etl.py:cleanup"

[[automations]]
name = "cleanup-after-failure"
trigger = { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" }, threshold = 1, within = "10m" }
actions = [
  { type = "run-deployment", deployment = "cleanup", parameters = { run = "{{ event.resource.id }}" } },
  { type = "call-webhook", url = "http://127.0.0.1:9000/hook" },
]
"""


def test_the_design_example_loads_as_written(project: Project) -> None:
    config = project.load(DESIGN_EXAMPLE, environ={"API_TOKEN": "s3cret"})
    assert config.project.name == "demo"
    assert config.project.max_concurrent_runs == 4
    assert config.timezone == "Europe/Berlin"
    assert config.deployment_names == ["nightly-etl", "cleanup"]
    nightly = config.deployment("nightly-etl")
    assert nightly is not None
    cron, interval = nightly.schedules
    assert isinstance(cron, CronSchedule) and cron.cron == "0 2 * * *"
    assert isinstance(interval, IntervalSchedule) and interval.interval == timedelta(minutes=15)
    assert (nightly.retries, nightly.retry_delay_seconds) == (1, 5)
    assert (nightly.concurrency_limit, nightly.collision_strategy, nightly.catchup) == (
        1,
        "enqueue",
        "latest",
    )
    assert nightly.env == {"API_TOKEN": FromEnv(from_env="API_TOKEN")}
    assert [a["name"] for a in config.raw_automations] == ["cleanup-after-failure"]
    assert config.raw_automations[0]["trigger"]["within"] == "10m"
    assert config.warnings == ()


def test_the_shipped_flows_toml_validates() -> None:
    config = load_config(REPO / "flows.toml", environ={})
    assert config.root == REPO
    assert len(config.deployments) >= 4
    assert all(d.entrypoint.startswith("examples/") for d in config.deployments)


def test_a_missing_environment_variable_is_a_warning_not_an_error(project: Project) -> None:
    config = project.load(DESIGN_EXAMPLE, environ={})
    [warning] = config.warnings
    assert str(warning).startswith(
        "flows.toml:19:21 deployments[0].env.API_TOKEN: API_TOKEN is not set"
    )
    assert warning.severity == "warning"


def test_defaults_merge_into_each_deployment_and_the_deployment_wins(project: Project) -> None:
    (project.root / "examples" / "report.py").write_text(
        "def nightly(days: int = 1, verbose: bool = False) -> None: ...\n"
        "def cleanup(days: int = 1, verbose: bool = False) -> None: ...\n"
    )
    config = project.load(
        """
        [defaults]
        retries = 2
        tags = ["team-a"]
        parameters = { days = 1, verbose = true }
        env = { MODE = "prod", REGION = "eu" }
        task_runner = "thread"

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/report.py:nightly"
        retries = 0
        parameters = { days = 7 }
        env = { MODE = "test" }

        [[deployments]]
        name = "cleanup"
        entrypoint = "examples/report.py:cleanup"
        """
    )
    nightly, cleanup = config.deployments
    assert nightly.retries == 0 and cleanup.retries == 2
    assert nightly.tags == cleanup.tags == ("team-a",)
    assert nightly.parameters == {"days": 7, "verbose": True}
    assert nightly.env == {"MODE": "test", "REGION": "eu"}
    assert cleanup.parameters == {"days": 1, "verbose": True}
    assert nightly.task_runner is not None and nightly.task_runner.type == "thread"
    assert nightly.timezone == "UTC"


def test_a_minimal_file_gets_the_documented_defaults(project: Project) -> None:
    config = project.load(
        """
        [[deployments]]
        name = "cleanup"
        entrypoint = "examples/etl.py:cleanup"
        """
    )
    assert config.project.name == project.root.name
    assert config.project.watch == (project.root,)
    [cleanup] = config.deployments
    assert cleanup.to_dict() | {"working_dir": "-"} == {
        "name": "cleanup",
        "entrypoint": "examples/etl.py:cleanup",
        "description": None,
        "parameters": {},
        "schedules": [],
        "paused": False,
        "concurrency_limit": None,
        "collision_strategy": "enqueue",
        "catchup": "none",
        "retries": 0,
        "retry_delay_seconds": 0,
        "timeout_seconds": None,
        "tags": [],
        "env": {},
        "working_dir": "-",
        "task_runner": None,
        "timezone": "UTC",
    }
    assert cleanup.working_dir == project.root


def test_schedules_in_table_form_with_ids_and_parameter_overrides(project: Project) -> None:
    config = project.load(
        """
        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:nightly"
        parameters = { days = 1 }

        [[deployments.schedules]]
        cron = "0 2 * * *"
        timezone = "Europe/Berlin"

        [[deployments.schedules]]
        rrule = "FREQ=WEEKLY;BYDAY=SU;BYHOUR=3"
        parameters = { days = 7 }
        active = false
        """
    )
    [nightly] = config.deployments
    assert nightly.schedule_ids == ("0", "1")
    assert nightly.run_parameters("1") == {"days": 7}
    assert nightly.run_parameters("0") == nightly.run_parameters() == {"days": 1}
    assert nightly.schedule("2") is None
    infos = nightly.schedule_infos()
    assert [(i.id, i.kind, i.text, i.timezone, i.active) for i in infos] == [
        ("0", "cron", "every day at 02:00 (Europe/Berlin)", "Europe/Berlin", True),
        ("1", "rrule", "every week on Sun at 03:00 (UTC)", "UTC", False),
    ]


def test_task_runner_forms(project: Project) -> None:
    config = project.load(
        """
        [[deployments]]
        name = "threads"
        entrypoint = "examples/etl.py:nightly"
        task_runner = { type = "thread", max_workers = 8 }

        [[deployments]]
        name = "cluster"
        entrypoint = "examples/etl.py:nightly"
        task_runner = { type = "dask", address = "tcp://10.0.0.5:8786", client_kwargs = { timeout = 5 } }
        """
    )
    threads, cluster = (d.task_runner for d in config.deployments)
    assert threads is not None and (threads.type, threads.max_workers) == ("thread", 8)
    assert cluster is not None and cluster.address == "tcp://10.0.0.5:8786"
    assert cluster.client_kwargs == {"timeout": 5}


def test_env_values_are_resolved_only_when_asked_and_never_kept(project: Project) -> None:
    config = project.load(
        """
        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:nightly"
        env = { TOKEN = { from_env = "ORC_TEST_TOKEN" }, PORT = 8080, DEBUG = true, NAME = "etl" }
        """,
        environ={"ORC_TEST_TOKEN": "s3cret"},
    )
    [nightly] = config.deployments
    values, missing = nightly.environment({"ORC_TEST_TOKEN": "s3cret"})
    assert values == {"TOKEN": "s3cret", "PORT": "8080", "DEBUG": "true", "NAME": "etl"}
    assert missing == []
    assert nightly.environment({}) == (
        {"PORT": "8080", "DEBUG": "true", "NAME": "etl"},
        ["ORC_TEST_TOKEN"],
    )
    assert "s3cret" not in repr(config) and "s3cret" not in str(nightly.to_dict())


FLOW_FILE = """
[[deployments]]
name = "nightly"
entrypoint = "examples/etl.py:nightly"
schedules = [{ cron = "0 2 * * *" }]

[[deployments]]
name = "cleanup"
entrypoint = "examples/etl.py:cleanup"
"""


def test_fingerprints_are_stable_and_an_edit_diffs_by_deployment(project: Project) -> None:
    first = project.load(FLOW_FILE)
    again = project.load(FLOW_FILE + "\n# a comment changes nothing\n")
    assert first.fingerprints() == again.fingerprints()
    assert not diff_deployments(first, again)
    edited = project.load(
        FLOW_FILE.replace('"0 2 * * *"', '"0 3 * * *"').replace('name = "cleanup"', 'name = "tidy"')
        + '\n[[deployments]]\nname = "weekly"\nentrypoint = "examples/etl.py:nightly"\n'
    )
    diff = diff_deployments(first, edited)
    assert (diff.added, diff.changed, diff.removed) == (
        ("tidy", "weekly"),
        ("nightly",),
        ("cleanup",),
    )
    old, new = first.deployment("nightly"), edited.deployment("nightly")
    assert old is not None and new is not None
    assert old.schedule_fingerprint("0") != new.schedule_fingerprint("0")


def test_a_defaults_edit_changes_every_deployment_it_reaches(project: Project) -> None:
    first = project.load(FLOW_FILE)
    edited = project.load('[defaults]\ntimezone = "Europe/Berlin"\n' + FLOW_FILE)
    assert diff_deployments(first, edited).changed == ("nightly", "cleanup")


def test_entrypoints_defined_by_assignment_import_or_inside_if_are_found(project: Project) -> None:
    (project.root / "flows2.py").write_text(
        "import sys\nfrom examples import etl as tools\n"
        "from orchestrate import flow\n"
        "def _body(): return 1\n"
        "wrapped = flow(_body)\n"
        "if sys.version_info >= (3, 11):\n    async def modern():\n        return 2\n"
    )
    config = project.load(
        """
        [[deployments]]
        name = "wrapped"
        entrypoint = "flows2.py:wrapped"
        [[deployments]]
        name = "imported"
        entrypoint = "flows2.py:tools"
        [[deployments]]
        name = "modern"
        entrypoint = "flows2.py:modern"
        """
    )
    assert len(config.deployments) == 3


def test_the_file_is_not_imported_while_validating(project: Project) -> None:
    (project.root / "loud.py").write_text(
        "from pathlib import Path\nPath('imported.txt').write_text('yes')\ndef job(): pass\n"
    )
    project.load('[[deployments]]\nname = "loud"\nentrypoint = "loud.py:job"\n')
    assert not (project.root / "imported.txt").exists()


def test_watch_and_working_dir_are_relative_to_the_file(project: Project, tmp_path: Path) -> None:
    (project.root / "src").mkdir()
    (project.root / "data").mkdir()
    config = project.load(
        """
        [project]
        watch = ["src", "examples"]
        tag_limits = { etl = 2 }

        [[deployments]]
        name = "nightly"
        entrypoint = "examples/etl.py:nightly"
        working_dir = "data"
        """
    )
    assert config.project.watch == (project.root / "src", project.root / "examples")
    assert config.project.tag_limits == {"etl": 2}
    assert config.deployments[0].working_dir == project.root / "data"


@pytest.mark.parametrize("name", ["nightly-etl", "etl_v2", "a.b", "7days"])
def test_usable_deployment_names(project: Project, name: str) -> None:
    config = project.load(
        f'[[deployments]]\nname = "{name}"\nentrypoint = "examples/etl.py:nightly"\n'
    )
    assert config.deployment(name) is not None
    assert config.deployment("missing") is None


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (None, timedelta(days=30)),
        ('"12h"', timedelta(hours=12)),
        ('"P7D"', timedelta(days=7)),
        ("3600", timedelta(hours=1)),
        ('"1d12h"', timedelta(days=1, hours=12)),
    ],
)
def test_event_retention_is_a_duration_with_a_30_day_default(
    project: Project, written: str | None, kept: timedelta
) -> None:
    setting = "" if written is None else f"event_retention = {written}"
    config = project.load(f'[project]\nname = "demo"\n{setting}\n')
    assert config.project.event_retention == kept
