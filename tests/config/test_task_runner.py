"""`task_runner` in flows.toml: one table per runner type, and what a worker builds from it.

The daemon sends a deployment's runner setting to the worker as the model
dumps it; these tests compose the two halves, so a setting `orc validate`
accepts is one the worker can build.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrate.config import json_schema
from orchestrate.config.models import DaskRunnerConfig, ThreadRunnerConfig
from orchestrate.engine.runners import ThreadPoolTaskRunner
from orchestrate.worker.runners import SPEC_KEYS, task_runner_from_spec
from tests.config.conftest import Project

DEPLOYMENT = '[[deployments]]\nname = "d"\nentrypoint = "examples/etl.py:nightly"\n'


def _sent_to_worker(project: Project, setting: str) -> Any:
    """What the daemon hands the worker for this setting (the model, dumped)."""
    [deployment] = project.load(DEPLOYMENT + f"task_runner = {setting}\n").deployments
    assert deployment.task_runner is not None
    return deployment.task_runner.model_dump()


@pytest.mark.parametrize(
    ("setting", "sent"),
    [
        ('"thread"', {"type": "thread"}),
        ('{ type = "thread", max_workers = 3 }', {"type": "thread", "max_workers": 3}),
        ("{ max_workers = 3 }", {"type": "thread", "max_workers": 3}),
        ('"dask"', {"type": "dask"}),
        (
            '{ type = "dask", address = "tcp://10.0.0.5:8786", keep_results_over = 0 }',
            {"type": "dask", "address": "tcp://10.0.0.5:8786", "keep_results_over": 0},
        ),
        (
            '{ type = "dask", cluster_class = "distributed.LocalCluster", '
            "cluster_kwargs = { n_workers = 2 }, adapt_kwargs = { minimum = 1, maximum = 4 } }",
            {
                "type": "dask",
                "cluster_class": "distributed.LocalCluster",
                "cluster_kwargs": {"n_workers": 2},
                "adapt_kwargs": {"minimum": 1, "maximum": 4},
            },
        ),
    ],
)
def test_the_worker_gets_only_the_keys_the_table_set(
    project: Project, setting: str, sent: dict[str, Any]
) -> None:
    assert _sent_to_worker(project, setting) == sent


def test_every_accepted_thread_setting_builds_its_runner(project: Project) -> None:
    runner = task_runner_from_spec(_sent_to_worker(project, "{ max_workers = 3 }"))
    assert isinstance(runner, ThreadPoolTaskRunner) and runner.max_workers == 3
    assert isinstance(
        task_runner_from_spec(_sent_to_worker(project, '"thread"')), ThreadPoolTaskRunner
    )


def test_every_accepted_dask_setting_builds_its_runner(project: Project) -> None:
    pytest.importorskip("distributed")
    from orchestrate.integrations.dask import DaskTaskRunner
    from orchestrate.integrations.dask.runner import KEEP_RESULTS_OVER

    setting = (
        '{ type = "dask", cluster_class = "distributed.LocalCluster", '
        "cluster_kwargs = { n_workers = 2 }, adapt_kwargs = { maximum = 4 } }"
    )
    runner = task_runner_from_spec(_sent_to_worker(project, setting))
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_class == "distributed.LocalCluster"
    assert runner.cluster_kwargs == {"n_workers": 2} and runner.adapt_kwargs == {"maximum": 4}
    assert runner.keep_results_over == KEEP_RESULTS_OVER  # unset: the runner's own default
    address = '{ type = "dask", address = "tcp://10.0.0.5:8786", keep_results_over = 0 }'
    runner = task_runner_from_spec(_sent_to_worker(project, address))
    assert isinstance(runner, DaskTaskRunner)
    assert (runner.address, runner.keep_results_over) == ("tcp://10.0.0.5:8786", 0)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            '{ type = "dask", max_workers = 4 }',
            'unknown key "max_workers"; allowed here: type, address, cluster_class, '
            "cluster_kwargs, adapt_kwargs, client_kwargs, keep_results_over",
        ),
        (
            '{ type = "thread", address = "tcp://x:1" }',
            'unknown key "address"; allowed here: type, max_workers',
        ),
        ('{ type = "process" }', 'task_runner type is "thread" or "dask"'),
        (
            '{ type = "dask", address = "tcp://x:1", adapt_kwargs = { maximum = 2 } }',
            "adapt_kwargs configure a cluster started for the run, but address names a running one",
        ),
    ],
)
def test_a_key_of_the_other_type_is_refused_naming_the_keys_this_type_takes(
    project: Project, setting: str, expected: str
) -> None:
    errors = project.errors(DEPLOYMENT + f"task_runner = {setting}\n")
    assert any(expected in error for error in errors), errors


def test_the_schema_shows_each_type_with_exactly_its_keys() -> None:
    schema = json_schema()
    tables = {name: schema["$defs"][name] for name in ("ThreadRunnerConfig", "DaskRunnerConfig")}
    keys = {name: set(table["properties"]) for name, table in tables.items()}
    assert keys["ThreadRunnerConfig"] == SPEC_KEYS["thread"]
    assert keys["DaskRunnerConfig"] == SPEC_KEYS["dask"]


def test_the_models_the_worker_and_the_runners_take_the_same_keys() -> None:
    pytest.importorskip("distributed")
    from orchestrate.integrations.dask import DaskTaskRunner

    assert set(ThreadRunnerConfig.model_fields) == SPEC_KEYS["thread"]
    assert set(DaskRunnerConfig.model_fields) == SPEC_KEYS["dask"]
    in_code = set(inspect.signature(DaskTaskRunner).parameters) - {
        "cluster"
    }  # an object: code only
    assert in_code | {"type"} == SPEC_KEYS["dask"]
    thread = set(inspect.signature(ThreadPoolTaskRunner).parameters)
    assert thread | {"type"} == SPEC_KEYS["thread"]


def test_the_docs_list_each_types_keys() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "dask.md").read_text()
    for kind, keys in SPEC_KEYS.items():
        [row] = [line for line in text.splitlines() if line.startswith(f'| `"{kind}"`')]
        listed = set(re.findall(r"`([a-z_]+)`", row.split("|")[2]))
        assert listed == keys - {"type"}, (kind, row)
