"""What the per-task hot path keeps: UUID4 run ids, Python's binding rules, and no asyncio for sync flows."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import pytest

from orchestrate import flow, task
from orchestrate.core.runs import new_id
from orchestrate.engine.steps import bind_plan


def test_run_ids_are_distinct_uuid4_strings() -> None:
    ids = [new_id() for _ in range(2000)]  # more than one batch of random bytes
    assert len(set(ids)) == len(ids)
    for run_id in ids:
        parsed = uuid.UUID(run_id)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, run_id)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_run_ids() -> None:
    new_id()  # the parent now holds ids it has not handed out yet
    read, write = os.pipe()
    with warnings.catch_warnings():  # newer Pythons warn about forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        childs = pipe.read()
    assert status == 0 and uuid.UUID(childs) and childs != new_id()


def _reference(signature: inspect.Signature, args: tuple, kwargs: dict) -> object:  # type: ignore[type-arg]
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        return ("error", str(exc))
    bound.apply_defaults()
    return list(bound.arguments.items())


def _plain(x, y=2, *, z=3): ...  # type: ignore[no-untyped-def]
def _two(a, b): ...  # type: ignore[no-untyped-def]
def _none(): ...  # type: ignore[no-untyped-def]
def _positional_only(x, /, y): ...  # type: ignore[no-untyped-def]
def _variadic(*args, **kwargs): ...  # type: ignore[no-untyped-def]
def _keyword_only(x, *, k): ...  # type: ignore[no-untyped-def]


@pytest.mark.parametrize("fn", [_plain, _two, _none, _positional_only, _variadic, _keyword_only])
def test_arguments_bind_exactly_as_python_binds_them(fn) -> None:  # type: ignore[no-untyped-def]
    signature = inspect.signature(fn)
    bind = bind_plan(signature)
    for args in [(), (1,), (1, 2), (1, 2, 3)]:
        for kwargs in [
            {},
            {"y": 5},
            {"z": 1},
            {"x": 1},
            {"q": 1},
            {"y": 1, "z": 2},
            {"k": 3},
            {"b": 2},
        ]:
            try:
                got: object = list(bind(args, dict(kwargs)).items())
            except TypeError as exc:
                got = ("error", str(exc))
            assert got == _reference(signature, args, kwargs), (args, kwargs)


def test_a_task_call_that_does_not_fit_says_so(recorded) -> None:
    @task
    def add(x: int, y: int = 1) -> int:
        return x + y

    @flow
    def pipeline() -> int:
        return add(1) + add(1, y=2) + add.submit(y=3, x=1).result()

    assert pipeline() == 9
    with pytest.raises(
        TypeError, match=r"'add' was called with .* unexpected keyword argument 'z'"
    ):
        add(1, z=2)


SYNC_FLOW = textwrap.dedent(
    """
    import json, sys
    from orchestrate import flow, task
    from orchestrate.recording import get_sink

    @task
    def double(x):
        return 2 * x

    @flow
    def pipeline():
        return [f.result() for f in double.map([1, 2])] + [double(3)]

    assert pipeline() == [2, 4, 6]
    assert get_sink().flush(30)
    print(json.dumps(sorted(sys.modules)))
    """
)


def test_a_sync_flow_with_submitted_tasks_never_loads_asyncio(tmp_path: Path) -> None:
    env = {**os.environ, "ORC_HOME": str(tmp_path), "ORC_LOGGING_TO_CONSOLE": "0"}
    env.pop("ORC_RECORD", None)  # recording on, into the project's store
    out = subprocess.run(
        [sys.executable, "-c", SYNC_FLOW],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert "duckdb" in loaded  # it did record
    assert "asyncio" not in loaded
