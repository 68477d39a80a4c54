"""`orc flow run`: a real flow run in a real `orc` process, recorded and readable afterwards."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.cli.conftest import Orc, parse_json

pytest.importorskip("orchestrate.flows", reason="the engine has not landed yet")

FLOWS = textwrap.dedent(
    """
    from orchestrate import flow, get_run_logger, task


    @task
    def extract(n: int) -> list[int]:
        get_run_logger().info("extracting %s rows", n)
        return list(range(n))


    @task
    def load(rows: list[int]) -> int:
        return sum(rows)


    @flow
    def nightly(n: int = 3, label: str = "x") -> int:
        get_run_logger().info("label is %s", label)
        return load.submit(extract.submit(n)).result()


    @flow
    def broken() -> None:
        raise KeyError("customer_id")


    def plain(x: int = 1) -> int:
        return x * 2
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "etl.py").write_text(FLOWS)
    return tmp_path


def _only_run(orc: Orc, *filters: str) -> dict:
    runs = parse_json(orc("runs", "ls", "--json", *filters))
    assert len(runs) == 1, runs
    return runs[0]


def test_a_completed_run_exits_0_and_is_recorded(project: Path, orc: Orc) -> None:
    result = orc("flow", "run", "etl.py:nightly", "-p", "n=4", "-p", "label=Ford")
    assert result.returncode == 0, result.stderr
    assert "Completed" in result.stdout
    run = _only_run(orc)
    assert run["state_name"] == "Completed" and run["flow_name"] == "nightly"
    assert run["parameters"] == {"n": 4, "label": "Ford"}
    assert run["task_runs"] == {"Completed": 2}
    assert run["name"] in result.stdout
    shown = parse_json(orc("runs", "show", run["id"][:8], "--json"))
    load = next(t for t in shown["task_run_details"] if t["name"].startswith("load"))
    assert [up["name"] for up in load["upstream"]] == [
        next(t["name"] for t in shown["task_run_details"] if t["name"].startswith("extract"))
    ]
    messages = [line["message"] for line in parse_json(orc("logs", run["id"], "--json"))]
    assert "label is Ford" in messages and "extracting 4 rows" in messages


def test_a_failed_run_exits_1_and_keeps_its_error(project: Path, orc: Orc) -> None:
    result = orc("flow", "run", "etl.py:broken")
    assert result.returncode == 1
    assert "Failed" in result.stdout
    shown = parse_json(orc("runs", "show", _only_run(orc)["id"], "--json"))
    assert shown["error"]["type"] == "KeyError"
    assert "customer_id" in shown["error"]["traceback"]


def test_a_plain_function_is_wrapped_as_a_flow(project: Path, orc: Orc) -> None:
    result = orc("flow", "run", "etl.py:plain", "--params", '{"x": 5}')
    assert result.returncode == 0, result.stderr
    assert _only_run(orc)["flow_name"] == "plain"


def test_a_parameter_of_the_wrong_type_exits_2(project: Path, orc: Orc) -> None:
    result = orc("flow", "run", "etl.py:nightly", "-p", "n=abc")
    assert result.returncode == 2
    assert "'n'" in result.stderr


def test_a_number_typed_for_a_string_parameter_is_taken_as_typed(project: Path, orc: Orc) -> None:
    """`-p label=20261201` reads as JSON 20261201; `label: str` used to refuse it (exit 2)."""
    result = orc("flow", "run", "etl.py:nightly", "-p", "label=20261201", "-p", "n=2")
    assert result.returncode == 0, result.stderr
    assert _only_run(orc)["parameters"] == {"label": "20261201", "n": 2}


def test_the_last_p_of_a_name_wins_and_a_list_stays_a_list(project: Path, orc: Orc) -> None:
    result = orc("flow", "run", "etl.py:nightly", "-p", "label=1", "-p", "label=[1]")
    assert result.returncode == 2, result.stderr  # [1] is no string: refused, not sent as "1"
    assert "'label'" in result.stderr


def test_an_unknown_parameter_exits_2(project: Path, orc: Orc) -> None:
    result = orc("flow", "run", "etl.py:nightly", "-p", "bogus=1")
    assert result.returncode == 2
    assert "bogus" in result.stderr
