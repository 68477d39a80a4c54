"""Prefect 3's result options: result_storage, result_storage_key, result_serializer,
cache_result_in_memory, persist_result derived as Prefect derives it, and task on_running.

Written from Prefect's `Task.__init__`/`Flow.__init__` and `ResultStore.update_for_task`:
a storage key is templated with the run's parameters and, unless the policy is
NO_CACHE, is the key a later run finds its result under.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.cache_policies import INPUTS, NO_CACHE
from orchestrate.core.errors import MissingResult
from orchestrate.core.project import results_dir


class LocalFileSystem:
    """What Prefect's `LocalFileSystem` block offers orc: a folder, as `basepath`."""

    def __init__(self, basepath: str) -> None:
        self.basepath = basepath


def counting(**options: Any):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    @task(**options)
    def add(x: int, y: int = 1) -> int:
        calls.append(x)
        return x + y

    return add, calls


# --- result_storage and result_storage_key ---------------------------------------------


def test_a_storage_key_names_the_file_in_the_storage_and_is_found_again(recorded, tmp_path) -> None:
    store = tmp_path / "store"
    add, calls = counting(result_storage=str(store), result_storage_key="sum-{parameters[x]}.pkl")

    @flow
    def pipeline(x: int) -> int:
        return add(x)

    assert pipeline(3) == 4
    assert pipeline(3) == 4  # found under its key: not run again
    assert pipeline(5) == 6
    assert calls == [3, 5]
    assert sorted(p.name for p in store.iterdir()) == ["sum-3.pkl", "sum-5.pkl"]
    assert stat.S_IMODE((store / "sum-3.pkl").stat().st_mode) == 0o600
    names = [r.state.name for r in recorded.task_runs()]
    assert names == ["Completed", "Cached", "Completed"]


@pytest.mark.parametrize("storage", ["path", "block"])
def test_result_storage_may_be_a_path_or_a_local_file_system(recorded, tmp_path, storage) -> None:
    folder = tmp_path / "results-here"
    given = folder if storage == "path" else LocalFileSystem(basepath=str(folder))

    @task(result_storage=given)
    def one() -> int:
        return 1

    @flow
    def pipeline() -> int:
        return one()

    assert pipeline() == 1
    (run,) = recorded.task_runs()
    assert [p.name for p in folder.iterdir()] == [run.cache_key]  # persisted: storage implies it


@pytest.mark.parametrize(
    ("storage", "words"),
    [
        (42, "got int"),
        ("s3://bucket/results", "remote"),
        (object(), "got object"),
    ],
)
def test_result_storage_that_is_not_local_is_refused_when_decorated(storage, words) -> None:
    with pytest.raises((TypeError, ValueError), match="result_storage") as refused:

        @task(result_storage=storage)
        def one() -> int:
            return 1

    assert words in str(refused.value)
    assert "basepath" in str(refused.value)  # says what is accepted


def test_a_storage_key_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(TypeError, match="result_storage_key"):
        task(result_storage_key=3)(lambda: 1)  # type: ignore[arg-type]


def test_a_storage_key_naming_an_unknown_parameter_fails_the_run_and_says_why(recorded) -> None:
    @task(result_storage_key="{parameters[nope]}.pkl")
    def one(x: int) -> int:
        return x

    states: list[Any] = []

    @flow
    def pipeline() -> None:
        states.append(one(1, return_state=True))

    pipeline()
    (state,) = states
    assert state.is_failed()
    assert "result_storage_key" in state.message and "nope" in state.message
    assert "parameters[x]" in state.message  # what it could have used


def test_a_storage_key_with_no_cache_is_written_but_never_read(recorded) -> None:
    add, calls = counting(cache_policy=NO_CACHE, result_storage_key="always-{parameters[x]}")

    @flow
    def pipeline() -> int:
        return add(2) + add(2)

    assert pipeline() == 6
    assert calls == [2, 2]
    assert (results_dir(Path.cwd()) / "always-2").is_file()


def test_a_storage_key_in_the_default_results_is_the_runs_cache_key_so_pruning_finds_it(
    recorded,
) -> None:
    add, _ = counting(result_storage_key="kept-{parameters[x]}")

    @flow
    def pipeline() -> int:
        return add(7)

    pipeline()
    (run,) = recorded.task_runs()
    assert run.cache_key == "kept-7"
    assert (results_dir(Path.cwd()) / "kept-7").is_file()


def test_the_flow_result_storage_is_inherited_by_its_tasks(recorded, tmp_path) -> None:
    folder = tmp_path / "flow-store"

    @task(persist_result=True)
    def one() -> int:
        return 1

    @flow(result_storage=folder)
    def pipeline() -> int:
        return one()

    assert pipeline() == 1
    (flow_run,) = recorded.flow_runs()
    (task_run,) = recorded.task_runs()
    assert {p.name for p in folder.iterdir()} == {flow_run.id, task_run.cache_key}


# --- result_serializer -------------------------------------------------------------------


class Upper:
    """A serializer object, as Prefect accepts one: `dumps` and `loads`."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value).upper().encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data.decode().lower())


def test_a_serializer_object_writes_and_reads_the_result(recorded) -> None:
    @task(result_serializer=Upper(), result_storage_key="greeting")
    def greet() -> str:
        return "hello"

    @flow
    def pipeline() -> str:
        return greet()

    assert pipeline() == "hello"
    assert pipeline() == "hello"
    assert (results_dir(Path.cwd()) / "greeting").read_bytes().endswith(b'"HELLO"')
    assert [r.state.name for r in recorded.task_runs()] == ["Completed", "Cached"]


@pytest.mark.parametrize("serializer", ["yaml", 42])
def test_an_unknown_serializer_is_refused_with_the_choices(serializer) -> None:
    with pytest.raises((TypeError, ValueError), match="result_serializer") as refused:
        task(result_serializer=serializer)(lambda: 1)
    assert "dumps" in str(refused.value) and "json" in str(refused.value)


def test_the_flow_serializer_is_inherited_by_its_tasks(recorded) -> None:
    @task(result_storage_key="value")
    def one() -> dict[str, int]:
        return {"a": 1}

    @flow(result_serializer="json")
    def pipeline() -> dict[str, int]:
        return one()

    assert pipeline() == {"a": 1}
    assert (results_dir(Path.cwd()) / "value").read_bytes().endswith(b'{"a": 1}')


# --- cache_result_in_memory --------------------------------------------------------------


def test_a_result_not_kept_in_memory_is_read_back_from_storage(recorded) -> None:
    payload = list(range(100))

    @task(cache_result_in_memory=False)
    def big() -> list[int]:
        return payload

    futures: list[Any] = []

    @flow
    def pipeline() -> None:
        futures.append(big.submit())

    pipeline()
    (future,) = futures
    assert future.state.data is not payload  # the state holds a reference, not the value
    value = future.result()
    assert value == payload and value is not payload  # read back from the file
    (run,) = recorded.task_runs()
    (results_dir(Path.cwd()) / run.cache_key).unlink()
    with pytest.raises(MissingResult, match=run.cache_key):
        future.result()


def test_a_flow_result_not_kept_in_memory_is_read_back(recorded) -> None:
    payload = {"k": [1, 2, 3]}

    @flow(cache_result_in_memory=False, persist_result=True)
    def pipeline() -> dict[str, list[int]]:
        return payload

    state = pipeline(return_state=True)
    assert state.data is not payload
    assert state.result() == payload


def test_a_value_not_kept_in_memory_still_reaches_downstream_tasks(recorded) -> None:
    @task(cache_result_in_memory=False)
    def make() -> list[int]:
        return [1, 2]

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    @flow
    def pipeline() -> int:
        return total.submit(make.submit()).result()

    assert pipeline() == 3


# --- persist_result derived as Prefect derives it ---------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"result_storage_key": "k-{parameters[x]}"},
        {"result_serializer": "json"},
        {"cache_policy": INPUTS},
    ],
)
def test_options_that_need_a_stored_result_persist_it(recorded, options) -> None:
    add, _ = counting(**options)

    @flow
    def pipeline() -> int:
        return add(1)

    pipeline()
    (run,) = recorded.task_runs()
    assert run.cache_key is not None
    assert (results_dir(Path.cwd()) / _file(run.cache_key)).is_file()


def test_persist_result_false_keeps_nothing_on_disk(recorded) -> None:
    add, calls = counting(persist_result=False, result_storage_key="never")

    @flow
    def pipeline() -> int:
        return add(1) + add(1)

    assert pipeline() == 4
    assert calls == [1, 1]
    assert not results_dir(Path.cwd()).exists()


def _file(key: str) -> str:
    from orchestrate.store.result_files import result_filename

    return result_filename(key)


# --- task on_running ---------------------------------------------------------------------


def test_task_on_running_hooks_run_as_each_attempt_starts(recorded) -> None:
    seen: list[tuple[str, str]] = []
    attempts: list[int] = []

    def noted(tsk, task_run, state) -> None:  # type: ignore[no-untyped-def]
        seen.append((task_run.name, state.name))

    @task(retries=1, on_running=[noted])
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return 1

    @flaky.on_running
    def also(tsk, task_run, state) -> None:  # type: ignore[no-untyped-def]
        seen.append(("decorated", state.type.value))

    @flow
    def pipeline() -> int:
        return flaky()

    assert pipeline() == 1
    assert seen == [
        ("flaky-0", "Running"),
        ("decorated", "RUNNING"),
        ("flaky-0", "Retrying"),
        ("decorated", "RUNNING"),
    ]
    assert flaky.on_running_hooks == [noted, also]


def test_a_non_callable_on_running_hook_is_refused() -> None:
    with pytest.raises(TypeError, match="on_running"):
        task(on_running=[1])(lambda: 1)  # type: ignore[list-item]


def test_a_result_that_cannot_be_serialized_is_warned_about_and_still_returned(recorded) -> None:
    import logging
    import threading

    lock = threading.Lock()

    @task(cache_result_in_memory=False)
    def unpicklable() -> Any:
        return lock

    @flow
    def pipeline() -> Any:
        return unpicklable()

    assert pipeline() is lock  # kept in memory after all: there was nowhere else to keep it
    (run,) = recorded.task_runs()
    assert run.state.name == "Completed"
    warnings = [r.message for r in recorded.logs() if r.level == logging.WARNING]
    assert any("could not be persisted" in m and "lock" in m for m in warnings), warnings


@pytest.mark.parametrize("serializer", ["compressed/pickle", "compressed/json"])
def test_prefects_compressed_serializers_write_small_files_and_read_them_back(
    recorded, serializer
) -> None:
    @task(result_serializer=serializer, result_storage_key="rows")
    def rows() -> list[str]:
        return ["the same row"] * 1000

    @flow
    def pipeline() -> int:
        return len(rows())

    assert pipeline() == 1000
    assert pipeline() == 1000
    assert [r.state.name for r in recorded.task_runs()] == ["Completed", "Cached"]
    assert (results_dir(Path.cwd()) / "rows").stat().st_size < 1000  # 15 kB uncompressed


def test_the_pickle_serializer_keeps_a_local_function_as_prefect_does(recorded) -> None:
    """Prefect's "pickle" serializer is cloudpickle: a result holding a lambda persists."""

    @task(result_serializer="pickle", result_storage_key="adder")
    def make_adder() -> Any:
        return lambda x: x + 1

    @flow
    def pipeline() -> int:
        return make_adder()(1)

    assert pipeline() == 2
    assert pipeline() == 2
    assert [r.state.name for r in recorded.task_runs()] == ["Completed", "Cached"]
