"""Caching: policies and their algebra, hits as Cached without running, expiry, refresh, files."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest

from orchestrate import flow, task
from orchestrate.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NONE,
    RUN_ID,
    TASK_SOURCE,
    CompoundCachePolicy,
    Inputs,
    hash_objects,
)
from orchestrate.tasks import task_input_hash


def counting_task(**options):  # type: ignore[no-untyped-def]
    calls: list[tuple] = []

    @task(**options)
    def double(x: int, note: str = "") -> int:
        calls.append((x, note))
        return x * 2

    return double, calls


def run_in_flow(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return {
            "state": fn(*args, return_state=True, **kwargs)
        }  # a bare State would become the flow's

    return pipeline()["state"]


def test_same_input_is_cached_and_does_not_run_again_new_input_runs(recorded) -> None:
    double, calls = counting_task(cache_policy=INPUTS)
    first = run_in_flow(double, 5)
    second = run_in_flow(double, 5)
    third = run_in_flow(double, 6)
    assert (first.name, second.name, third.name) == ("Completed", "Cached", "Completed")
    assert second.result() == 10 and third.result() == 12
    assert calls == [(5, ""), (6, "")]


def test_result_files_are_user_only(recorded, tmp_path) -> None:
    double, _ = counting_task(cache_policy=INPUTS)
    run_in_flow(double, 1)
    files = list((tmp_path / ".orc" / "results").iterdir())
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_expired_entries_run_again(recorded, monkeypatch) -> None:
    double, calls = counting_task(cache_policy=INPUTS, cache_expiration=timedelta(seconds=60))
    run_in_flow(double, 5)
    assert run_in_flow(double, 5).name == "Cached"
    import orchestrate.engine.results as results

    real_time = results.time.time
    monkeypatch.setattr(results.time, "time", lambda: real_time() + 61)
    assert run_in_flow(double, 5).name == "Completed"
    assert len(calls) == 2


def test_refresh_cache_runs_and_rewrites(recorded) -> None:
    double, calls = counting_task(cache_policy=INPUTS)
    run_in_flow(double, 5)
    refreshed = run_in_flow(double.with_options(refresh_cache=True), 5)
    assert refreshed.name == "Completed" and len(calls) == 2
    assert run_in_flow(double, 5).name == "Cached"


def test_excluded_input_does_not_change_the_key(recorded) -> None:
    double, calls = counting_task(cache_policy=INPUTS - "note")
    run_in_flow(double, 5, note="a")
    assert run_in_flow(double, 5, note="b").name == "Cached"
    assert run_in_flow(double, 6, note="b").name == "Completed"
    assert len(calls) == 2


def test_run_id_policy_reuses_only_within_one_flow_run(recorded) -> None:
    double, calls = counting_task(cache_policy=INPUTS + RUN_ID)

    @flow
    def twice() -> list[str]:
        return [double(3, return_state=True).name, double(3, return_state=True).name]

    assert twice() == ["Completed", "Cached"]
    assert twice() == ["Completed", "Cached"]
    assert len(calls) == 2


def test_flow_parameters_policy_keys_on_the_flow_run_parameters(recorded) -> None:
    double, calls = counting_task(cache_policy=FLOW_PARAMETERS)

    @flow
    def pipeline(day: str) -> str:
        return double(1, return_state=True).name

    assert [pipeline("mon"), pipeline("mon"), pipeline("tue")] == [
        "Completed",
        "Cached",
        "Completed",
    ]
    assert len(calls) == 2


def test_none_policy_never_caches(recorded) -> None:
    double, calls = counting_task(cache_policy=NONE, persist_result=True)
    run_in_flow(double, 1)
    assert run_in_flow(double, 1).name == "Completed" and len(calls) == 2


def test_persist_result_alone_caches_with_the_default_policy_per_flow_run(recorded) -> None:
    double, calls = counting_task(persist_result=True)
    run_in_flow(double, 1)
    assert run_in_flow(double, 1).name == "Completed"  # DEFAULT includes RUN_ID
    assert len(calls) == 2


def test_no_policy_no_caching(recorded) -> None:
    double, calls = counting_task()
    run_in_flow(double, 1)
    run_in_flow(double, 1)
    assert len(calls) == 2


def test_cache_key_fn_and_task_input_hash(recorded) -> None:
    double, _ = counting_task(cache_key_fn=task_input_hash)
    run_in_flow(double, 4)
    assert run_in_flow(double, 4).name == "Cached"

    constant, _ = counting_task(cache_key_fn=lambda context, parameters: "same-key")
    run_in_flow(constant, 1)
    cached = run_in_flow(constant, 2)
    assert cached.name == "Cached" and cached.result() == 2  # the key alone decides


def test_two_tasks_with_the_same_inputs_do_not_share_a_policy_key(recorded) -> None:
    double, _ = counting_task(cache_policy=INPUTS)

    @task(cache_policy=INPUTS)
    def triple(x: int, note: str = "") -> int:
        return x * 3

    run_in_flow(double, 2)
    assert run_in_flow(triple, 2).result() == 6


def test_policy_algebra() -> None:
    combined = INPUTS + TASK_SOURCE
    # Prefect's normal form: the one Inputs policy goes last
    assert isinstance(combined, CompoundCachePolicy) and combined.policies == [TASK_SOURCE, INPUTS]
    assert INPUTS + NONE is INPUTS and NONE + INPUTS is INPUTS
    assert Inputs(exclude=["a", "b"]) == (INPUTS - "a" - "b")
    assert (combined - "a").policies[-1] == Inputs(exclude=["a"])
    assert DEFAULT.policies == [TASK_SOURCE, RUN_ID, INPUTS]
    with pytest.raises(TypeError):
        INPUTS - 3  # type: ignore[operator]


def test_input_hashes_are_stable_and_order_free() -> None:
    assert hash_objects({"a": 1, "b": [1, 2]}) == hash_objects({"b": [1, 2], "a": 1})
    assert hash_objects({1, 2, 3}) == hash_objects({3, 2, 1})
    assert hash_objects({"a": 1}) != hash_objects({"a": 2})
    assert len(hash_objects(object)) == 64  # falls back to cloudpickle


def test_task_source_policy_changes_with_the_code(recorded) -> None:
    def make(body_offset: int):  # type: ignore[no-untyped-def]
        namespace: dict = {}
        exec(f"def work(x):\n    return x + {body_offset}\n", namespace)
        return task(cache_policy=TASK_SOURCE + INPUTS, name="work")(namespace["work"])

    assert run_in_flow(make(1), 1).result() == 2
    assert run_in_flow(make(2), 1).result() == 3  # new code, new key


def test_a_cache_key_that_cannot_be_computed_runs_without_caching(recorded) -> None:
    import threading

    @task(cache_key_fn=task_input_hash)
    def uses_lock(lock) -> str:  # type: ignore[no-untyped-def]
        return "ran"

    def broken_key(context, parameters) -> str:  # type: ignore[no-untyped-def]
        raise KeyError("no key today")

    @task(cache_key_fn=broken_key)
    def keyed() -> str:
        return "ran too"

    assert run_in_flow(uses_lock, threading.Lock()).result() == "ran"
    assert run_in_flow(keyed).result() == "ran too"
    assert any("no key today" in log.message for log in recorded.logs())


def test_cache_key_fn_sees_prefects_context_names(recorded) -> None:
    seen = []

    def key(context, parameters) -> str:  # type: ignore[no-untyped-def]
        seen.append(context.task_run.flow_run_id)
        return f"k-{parameters['x']}"

    @task(cache_key_fn=key)
    def work(x: int) -> int:
        return x

    run_in_flow(work, 1)
    assert seen and seen[0]


def test_a_flow_that_persists_results_caches_its_tasks_across_flow_retries(recorded) -> None:
    calls = []
    attempts = []

    @task
    def expensive() -> int:
        calls.append(1)
        return 42

    @flow(persist_result=True, retries=1)
    def pipeline() -> int:
        value = expensive()
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("later step failed")
        return value

    assert pipeline() == 42
    assert len(calls) == 1  # the retry reused the result (DEFAULT policy: same flow run)


def test_no_cache_is_prefects_alias_and_inputs_without_inputs_does_not_cache(recorded) -> None:
    from orchestrate.cache_policies import NO_CACHE

    assert NO_CACHE is NONE
    assert INPUTS.configure(key_storage="/tmp") is INPUTS
    calls = []

    @task(cache_policy=INPUTS)
    def no_arguments() -> int:
        calls.append(1)
        return 1

    run_in_flow(no_arguments)
    run_in_flow(no_arguments)
    assert len(calls) == 2
