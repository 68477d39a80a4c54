"""`orchestrate.runtime`: what a run knows about itself, Prefect's defaults outside one, env overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrate import flow, task
from orchestrate.runtime import flow_run, task_run

FLOW_RUN_ATTRIBUTES = {
    "api_url",
    "deployment_name",
    "flow_name",
    "flow_version",
    "id",
    "job_variables",
    "name",
    "parameters",
    "parent_deployment_id",
    "parent_flow_run_id",
    "root_flow_run_id",
    "run_count",
    "scheduled_start_time",
    "tags",
    "ui_url",
}
TASK_RUN_ATTRIBUTES = {
    "api_url",
    "id",
    "name",
    "parameters",
    "run_count",
    "tags",
    "task_name",
    "ui_url",
}


def test_dir_lists_the_attributes() -> None:
    assert set(dir(flow_run)) >= FLOW_RUN_ATTRIBUTES
    assert set(dir(task_run)) >= TASK_RUN_ATTRIBUTES


def test_outside_a_run_the_values_are_prefects_defaults(recorded) -> None:
    before = datetime.now(UTC)
    assert flow_run.run_count == 0 and task_run.run_count == 0
    assert before - timedelta(seconds=1) <= flow_run.scheduled_start_time <= datetime.now(UTC)
    assert flow_run.id is None and flow_run.name is None and flow_run.flow_name is None
    assert flow_run.root_flow_run_id is None and flow_run.parent_flow_run_id is None
    assert flow_run.tags == [] and flow_run.parameters == {} and flow_run.job_variables is None
    assert flow_run.ui_url is None and flow_run.api_url is None
    assert task_run.id is None and task_run.task_name is None and task_run.tags == []


def test_inside_a_subflow_the_lineage_is_known(recorded) -> None:
    seen: dict[str, object] = {}

    @flow(version="7")
    def child() -> None:
        seen.update(
            id=flow_run.id,
            parent=flow_run.parent_flow_run_id,
            root=flow_run.root_flow_run_id,
            flow_name=flow_run.flow_name,
            version=flow_run.flow_version,
            count=flow_run.run_count,
            job_variables=flow_run.job_variables,
            urls=(flow_run.ui_url, flow_run.api_url),
            parent_deployment=flow_run.parent_deployment_id,
        )

    @flow
    def grandparent() -> str:
        parent()
        return str(flow_run.id)

    @flow
    def parent() -> None:
        seen["parent_id"] = flow_run.id
        child()

    root = grandparent()
    assert seen["root"] == root and seen["parent"] == seen["parent_id"] != seen["id"]
    assert seen["flow_name"] == "child" and seen["version"] == "7" and seen["count"] == 1
    assert seen["job_variables"] == {} and seen["urls"] == (None, None)
    assert seen["parent_deployment"] is None


def test_a_task_run_sees_its_flow_run_and_itself(recorded) -> None:
    seen: dict[str, object] = {}

    @task(tags=["db"])
    def load(table: str) -> None:
        seen.update(
            flow=flow_run.id, count=task_run.run_count, task=task_run.task_name, tags=task_run.tags
        )

    @flow
    def pipeline() -> str:
        load("users")
        return str(flow_run.id)

    assert seen.get("flow") is None
    assert pipeline() == seen["flow"]
    assert seen["count"] == 1 and seen["task"] == "load" and seen["tags"] == ["db"]


@pytest.mark.parametrize("prefix", ["ORC__RUNTIME__", "PREFECT__RUNTIME__"])
def test_environment_overrides_cast_to_the_real_type(recorded, monkeypatch, prefix) -> None:
    monkeypatch.setenv(f"{prefix}FLOW_RUN__RUN_COUNT", "3")
    monkeypatch.setenv(f"{prefix}FLOW_RUN__NAME", "mocked")
    monkeypatch.setenv(f"{prefix}FLOW_RUN__SCHEDULED_START_TIME", "2024-01-02T03:04:05")
    monkeypatch.setenv(f"{prefix}TASK_RUN__TASK_NAME", "mocked-task")
    monkeypatch.setenv(f"{prefix}FLOW_RUN__NEW_THING", "extra")
    assert flow_run.run_count == 3
    assert flow_run.name == "mocked"
    assert flow_run.scheduled_start_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert task_run.task_name == "mocked-task"
    assert flow_run.new_thing == "extra"


def test_an_override_that_cannot_be_cast_says_to_monkeypatch(recorded, monkeypatch) -> None:
    monkeypatch.setenv("PREFECT__RUNTIME__FLOW_RUN__PARAMETERS", "{}")
    with pytest.raises(ValueError, match="monkeypatch"):
        _ = flow_run.parameters


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nope"):
        _ = flow_run.nope
    with pytest.raises(AttributeError, match="nope"):
        _ = task_run.nope


def test_a_task_run_without_its_flow_context_still_knows_the_flow_run_id(recorded) -> None:
    from orchestrate.context import flow_run_context

    seen: dict[str, object] = {}

    @task
    def remote() -> None:
        token = flow_run_context.set(None)  # as on a Dask worker: only the task run's context
        try:
            seen["id"] = flow_run.id
        finally:
            flow_run_context.reset(token)

    @flow
    def pipeline() -> str:
        remote()
        return str(flow_run.id)

    assert pipeline() == seen["id"]
