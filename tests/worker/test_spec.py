"""A run spec reads back from JSON exactly, and a wrong one says which field is wrong."""

from __future__ import annotations

import json

import pytest

from orchestrate.worker.spec import RunSpec, SpecError

BASE = {
    "flow_run_id": "r1",
    "deployment": "etl",
    "entrypoint": "etl.py:etl",
    "project_root": "/srv/p",
}


def test_a_spec_survives_json() -> None:
    spec = RunSpec(**BASE, parameters={"n": 1}, env={"TOKEN": "s3cret"}, tags=["a"], timeout_seconds=5,
                   task_runner={"type": "dask"}, run_count=2)  # fmt: skip
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_the_environment_is_never_shown() -> None:
    assert "s3cret" not in repr(RunSpec(**BASE, env={"TOKEN": "s3cret"}))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"flow_run_id": None}, "'flow_run_id'"),
        ({"env": {"A": 1}}, "'env'"),
        ({"tags": "etl"}, "'tags'"),
        ({"run_count": True}, "'run_count'"),
        ({"run_count": 0}, "'run_count'"),
        ({"timeout_seconds": "5"}, "'timeout_seconds'"),
    ],
)
def test_a_wrong_field_is_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(SpecError, match=named):
        RunSpec.from_dict({**BASE, **change})


def test_missing_fields_are_listed_and_unknown_ones_ignored() -> None:
    with pytest.raises(SpecError, match="entrypoint, project_root"):
        RunSpec.from_dict({"flow_run_id": "r", "deployment": "d"})
    assert RunSpec.from_dict({**BASE, "added_later": 1}) == RunSpec(**BASE)


def test_a_run_that_never_started_is_recorded_with_the_daemons_names() -> None:
    record = RunSpec(
        **BASE, flow_run_name="calm-otter", tags=["b", "a"], run_count=3
    ).flow_run_record()
    assert (record.id, record.name, record.flow_name, record.deployment) == (
        "r1",
        "calm-otter",
        "etl",
        "etl",
    )
    assert record.tags == ("a", "b") and record.run_count == 3 and record.state.name == "Pending"
