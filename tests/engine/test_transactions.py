"""Transactions, from Prefect 3's documented examples: rollback hooks, nesting, idempotent re-runs.

The examples follow docs/v3/advanced/transactions.mdx and tests/test_transactions.py
of Prefect 3; the runs are real (engine, result files in a temporary project).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from orchestrate import flow, task
from orchestrate.cache_policies import INPUTS
from orchestrate.transactions import (
    AsyncTransaction,
    CommitMode,
    IsolationLevel,
    Transaction,
    TransactionState,
    atransaction,
    get_transaction,
    transaction,
)

# --- Prefect's first example: a later failure rolls back earlier work ------------------


def test_a_failing_task_rolls_back_the_file_an_earlier_task_wrote(recorded, tmp_path) -> None:
    side_effect = tmp_path / "side-effect.txt"
    rolled_back: list[str] = []

    @task
    def write_file(contents: str) -> None:
        side_effect.write_text(contents)

    @write_file.on_rollback
    def del_file(txn: Transaction) -> None:
        rolled_back.append(type(txn).__name__)
        side_effect.unlink()

    @task
    def quality_test() -> None:
        if len(side_effect.read_text().splitlines()) < 2:
            raise ValueError("Not enough data!")

    @flow
    def pipeline(contents: str) -> None:
        with transaction():
            write_file(contents)
            assert side_effect.exists()  # written, staged: not yet rolled back
            quality_test()

    with pytest.raises(ValueError, match="Not enough data"):
        pipeline(contents="hello world")
    assert not side_effect.exists()
    assert rolled_back == ["Transaction"]
    written = recorded.task_run("write_file-0")
    assert written.state.name == "Completed"  # its state stays; an event says it was undone
    assert [e.resource["orc.resource.id"] for e in recorded.events()] == [
        f"orc.task-run.{written.id}"
    ]
    assert recorded.events()[0].event == "orc.task-run.RolledBack"
    hook_lines = [
        line.message for line in recorded.logs() if "rollback hook" in line.message.lower()
    ]
    assert hook_lines == [
        "Running rollback hook 'del_file'",
        "Rollback hook 'del_file' finished running successfully",
    ]


def test_the_rollback_hook_reads_values_set_on_the_transaction(recorded, tmp_path) -> None:
    @task
    def write_file(filename: str, contents: str) -> None:
        Path(filename).write_text(contents)

    @write_file.on_rollback
    def del_file(txn: Transaction) -> None:
        Path(txn.get("filename")).unlink()

    @task
    def quality_test(filename: str) -> None:
        raise ValueError(f"Not enough data in {filename}!")

    @flow
    def pipeline(filename: str, contents: str) -> None:
        with transaction() as txn:
            txn.set("filename", filename)
            write_file(filename, contents)
            quality_test(filename)

    target = tmp_path / "side-effect.txt"
    with pytest.raises(ValueError, match="Not enough data"):
        pipeline(filename=str(target), contents="hello world")
    assert not target.exists()


def test_rollback_hooks_run_newest_first_and_a_submitted_task_joins_too(recorded) -> None:
    order: list[str] = []

    def undo(name: str):  # type: ignore[no-untyped-def]
        return lambda txn: order.append(name)

    first = task(lambda: 1, name="first", on_rollback=[undo("first")])
    second = task(lambda: 2, name="second", on_rollback=[undo("second")])

    @task
    def boom() -> None:
        raise RuntimeError("boom")

    @flow
    def pipeline() -> None:
        with transaction():
            first()
            second.submit().result()
            boom()

    with pytest.raises(RuntimeError, match="boom"):
        pipeline()
    assert order == ["second", "first"]


def test_commit_hooks_run_when_the_outermost_transaction_ends(recorded) -> None:
    events: list[str] = []

    @task(on_commit=[lambda txn: events.append("committed")])
    def load() -> int:
        events.append("loaded")
        return 1

    @flow
    def pipeline() -> None:
        with transaction():
            load()
            events.append("block ends")

    pipeline()
    assert events == ["loaded", "block ends", "committed"]


def test_outside_a_transaction_a_task_commits_as_it_completes(recorded) -> None:
    seen: list[object] = []

    @task
    def load() -> int:
        return 7

    @load.on_commit
    def confirm(txn: Transaction) -> None:
        seen.append(txn.is_staged())

    @flow
    def pipeline() -> int:
        value = load()
        seen.append("after load")
        return value

    assert pipeline() == 7
    assert seen == [True, "after load"]
    logs = [line.message for line in recorded.logs()]
    assert "Running commit hook 'confirm'" in logs
    assert "Commit hook 'confirm' finished running successfully" in logs


def test_a_failing_commit_hook_rolls_the_task_back_and_is_logged(recorded) -> None:
    undone: list[bool] = []

    def bad_commit(txn: Transaction) -> None:
        raise OSError("disk full")

    @task(on_commit=[bad_commit], on_rollback=[lambda txn: undone.append(True)])
    def load() -> int:
        return 1

    @flow
    def pipeline() -> int:
        return load()

    assert pipeline() == 1  # the run itself completed, as in Prefect
    assert undone == [True]
    assert any(
        "An error was encountered while running commit hook 'bad_commit'" in line.message
        for line in recorded.logs()
    )


def test_inside_a_task_get_transaction_is_its_own_joined_to_the_flows(recorded) -> None:
    seen: list[object] = []

    @task
    def step() -> None:
        txn = get_transaction()
        assert txn is not None
        txn.set("written", "rows.csv")
        seen.append(txn.get("batch"))  # from the flow's transaction

    @step.on_rollback
    def undo(txn: Transaction) -> None:
        seen.append(txn.get("written"))

    @flow
    def pipeline() -> None:
        with transaction() as outer:
            outer.set("batch", 42)
            step()
            outer.rollback()

    pipeline()
    assert seen == [42, "rows.csv"]
    assert get_transaction() is None


def test_async_tasks_in_an_async_flow_roll_back_too(recorded) -> None:
    import asyncio

    undone: list[str] = []

    @task(on_rollback=[lambda txn: undone.append("sync hook")])
    async def write() -> int:
        return 1

    async def async_undo(txn: Transaction) -> None:
        await asyncio.sleep(0)
        undone.append("async hook")

    write_too = write.with_options(name="write_too", on_rollback=[async_undo])

    @task
    async def check() -> None:
        raise ValueError("bad")

    @flow
    async def pipeline() -> None:
        with transaction():
            await write()
            await write_too()
            await check()

    with pytest.raises(ValueError, match="bad"):
        asyncio.run(pipeline())
    assert undone == ["async hook", "sync hook"]


def test_async_with_atransaction_rolls_back_and_commits_like_with(recorded) -> None:
    import asyncio

    undone: list[str] = []

    @task(on_rollback=[lambda txn: undone.append("write")])
    async def write() -> int:
        return 1

    @task
    async def check() -> None:
        raise ValueError("bad")

    @flow
    async def pipeline() -> None:
        async with atransaction() as txn:
            assert isinstance(txn, AsyncTransaction) and get_transaction() is txn
            await write()
            await check()

    with pytest.raises(ValueError, match="bad"):
        asyncio.run(pipeline())
    assert undone == ["write"]

    async def keyed() -> tuple[bool, bool, object]:
        async with atransaction(key="async-answer") as first:
            first.stage(42)
        async with atransaction(key="async-answer") as again:
            record = await again.read()
            return first.is_committed(), again.is_committed(), record and record.result

    assert asyncio.run(keyed()) == (True, True, 42)


def test_an_async_transaction_refuses_a_plain_with() -> None:
    with pytest.raises(NotImplementedError, match="async with"), AsyncTransaction():
        pass


# --- nested transactions and commit modes (Prefect's tests/test_transactions.py) -------


def test_nested_transactions_commit_with_the_outermost() -> None:
    with Transaction(key="outer") as outer:
        with Transaction(key="inner") as inner:
            assert inner.get_parent() is outer
        assert not inner.is_committed()
        assert outer.get_parent() is None
    assert outer.is_committed() and inner.is_committed()


def test_eager_commits_at_its_own_end_and_off_rolls_back() -> None:
    with Transaction(commit_mode=CommitMode.LAZY) as outer:
        with Transaction(commit_mode=CommitMode.EAGER) as inner:
            pass
        assert inner.is_committed() and not outer.is_committed()
    with Transaction(commit_mode=CommitMode.OFF) as off:
        assert off.is_active()
    assert off.is_rolled_back()
    with Transaction(commit_mode=CommitMode.OFF) as committed:
        committed.commit()
    assert committed.is_committed()


def test_a_nested_rollback_rolls_back_every_parent() -> None:
    with Transaction() as outer, Transaction() as inner:
        with Transaction() as nested:
            nested.rollback()
        assert inner.is_rolled_back()
    assert outer.is_rolled_back()


def test_a_child_sees_its_parents_values_and_cannot_change_them() -> None:
    with transaction() as top:
        top.set("key", {"x": [42]})
        with transaction() as inner:
            value = inner.get("key")
            value["x"].append(43)
            inner.set("key", value)
            assert inner.get("key") == {"x": [42, 43]}
        assert top.get("key") == {"x": [42]}
        with pytest.raises(ValueError, match="unknown key: missing"):
            top.get("missing")
        assert top.get("missing", None) is None


def test_states_move_pending_active_committed_or_rolled_back() -> None:
    txn = Transaction()
    assert txn.state is TransactionState.PENDING
    with txn:
        assert txn.is_active()
    assert txn.is_committed()
    failing = Transaction()
    with pytest.raises(ValueError, match="foo"), failing:
        raise ValueError("foo")
    assert failing.is_rolled_back()


def test_isolation_and_commit_mode_are_inherited() -> None:
    serializable = transaction(
        isolation_level=IsolationLevel.SERIALIZABLE, commit_mode=CommitMode.EAGER
    )
    with serializable, transaction() as inner:
        assert inner.isolation_level is IsolationLevel.SERIALIZABLE
        assert inner.commit_mode is CommitMode.EAGER


# --- idempotency: a keyed transaction runs once ----------------------------------------


def test_a_rerun_exits_early_once_the_keyed_transaction_committed(recorded, tmp_path) -> None:
    downloads: list[str] = []

    @task
    def download_data() -> str:
        downloads.append("download")
        return "some data"

    @task
    def write_data(data: str) -> None:
        (tmp_path / "data.txt").write_text(data)

    @flow
    def pipeline() -> str:
        with transaction(key="download-and-write-data") as txn:
            if txn.is_committed():
                return "skipped"
            write_data(download_data())
        return "written"

    assert pipeline() == "written"
    assert pipeline() == "skipped"
    assert downloads == ["download"]
    assert (tmp_path / ".orc" / "results" / "download-and-write-data").exists()


def test_a_staged_value_is_read_back_by_a_later_transaction(recorded) -> None:
    with transaction(key="answer") as txn:
        txn.stage({"foo": "bar"})
    with transaction(key="answer") as again:
        assert again.is_committed()
        record = again.read()
        assert record is not None and record.result == {"foo": "bar"}
    with transaction(key="answer", overwrite=True) as fresh:
        assert not fresh.is_committed()


def test_a_rerun_repeats_rolled_back_work_and_skips_committed_work(recorded) -> None:
    extracted: list[int] = []
    fail = {"load": True}

    @task(cache_policy=INPUTS)
    def extract(day: int) -> list[int]:
        extracted.append(day)
        return [day, day + 1]

    @task
    def load(rows: list[int]) -> int:
        if fail["load"]:
            raise ConnectionError("warehouse down")
        return len(rows)

    @flow
    def pipeline(day: int) -> int:
        with transaction():
            return load(extract(day))

    with pytest.raises(ConnectionError):
        pipeline(1)
    fail["load"] = False
    assert pipeline(1) == 2  # extract ran again: its result was rolled back, never written
    assert pipeline(1) == 2  # now committed: read back, not run
    assert extracted == [1, 1]
    assert [r.state.name for r in recorded.task_runs() if r.name.startswith("extract")] == [
        "Completed",
        "Completed",
        "Cached",
    ]


def test_a_storage_key_file_is_written_at_commit_and_never_on_rollback(recorded, tmp_path) -> None:
    results = tmp_path / ".orc" / "results"

    @task(result_storage_key="rows-{parameters[day]}", cache_result_in_memory=False)
    def extract(day: int) -> list[int]:
        return [day]

    @flow
    def pipeline(day: int, fail: bool) -> list[int]:
        with transaction():
            rows = extract(day)
            assert not (results / f"rows-{day}").exists()  # staged, not yet written
            if fail:
                raise RuntimeError("load failed")
        return rows

    with pytest.raises(RuntimeError):
        pipeline(1, fail=True)
    assert not (results / "rows-1").exists()
    assert pipeline(2, fail=False) == [2]
    assert (results / "rows-2").exists()


def test_serializable_transactions_with_one_key_do_the_work_once(recorded) -> None:
    work: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def pipeline(name: str) -> None:
        with transaction(key="race", isolation_level=IsolationLevel.SERIALIZABLE) as txn:
            inside.set()
            if txn.is_committed():
                return
            assert release.wait(timeout=10)
            work.append(name)

    first = threading.Thread(target=pipeline, args=("first",))
    first.start()
    assert inside.wait(timeout=10)
    second = threading.Thread(target=pipeline, args=("second",))
    second.start()
    release.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert work == ["first"]


def test_non_callable_transaction_hooks_are_refused_when_decorating() -> None:
    with pytest.raises(TypeError, match="Expected callables in 'on_rollback'"):

        @task(on_rollback=["not a hook"])
        def step() -> None: ...


# --- across processes: the record outlives the run ----------------------------------

IDEMPOTENT_PIPELINE = """
from pathlib import Path

from orchestrate import flow, task
from orchestrate.transactions import transaction


@task
def download_data():
    return "some data"


@task
def write_data(data: str):
    with open("data.txt", "a") as f:
        f.write(data + "\\n")


@flow(log_prints=True)
def pipeline():
    with transaction(key="download-and-write-data") as txn:
        if txn.is_committed():
            print("Data file has already been written. Exiting early.")
            return
        data = download_data()
        write_data(data)


if __name__ == "__main__":
    pipeline()
"""


def test_a_second_python_process_finds_the_work_committed(tmp_path: Path) -> None:
    """Prefect's idempotency example, import changed, run twice as `python pipeline.py`."""
    import os
    import subprocess
    import sys

    (tmp_path / "pipeline.py").write_text(IDEMPOTENT_PIPELINE)
    env = {**os.environ, "ORC_HOME": str(tmp_path)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "pipeline.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    first, second = run(), run()
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "already been written" not in first.stderr
    assert "Data file has already been written. Exiting early." in second.stderr
    assert (tmp_path / "data.txt").read_text() == "some data\n"
