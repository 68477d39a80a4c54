"""Where a flow run's outcomes come from: straight from the workers when the scheduler is on
this host (it shares the CPUs with them), through the scheduler when the user says so or the
workers may be out of reach."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.integrations.dask import DaskTaskRunner
from orchestrate.integrations.dask.collector import gathers_direct
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()


@task
def double(x: int) -> int:
    return 2 * x


@pytest.fixture
def scheduler_gathers(dask_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the keys the scheduler gathers for clients (its `gather` request)."""
    scheduler = dask_cluster.scheduler
    relay = scheduler.handlers["gather"]
    keys: list[int] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        keys.append(len(kwargs.get("keys", ())))
        return await relay(*args, **kwargs)

    monkeypatch.setitem(scheduler.handlers, "gather", counted)
    return keys


def test_outcomes_come_straight_from_workers_on_this_host(
    recorded: MemorySink, dask_address: str, scheduler_gathers: list[int]
) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def doubled() -> list[int]:
        return double.map(range(50)).result()

    assert dask_address.startswith("tcp://127.0.0.1:")
    assert doubled() == [2 * i for i in range(50)]
    assert scheduler_gathers == []


def test_direct_to_workers_false_sends_them_through_the_scheduler(
    recorded: MemorySink, dask_address: str, scheduler_gathers: list[int]
) -> None:
    runner = DaskTaskRunner(dask_address, client_kwargs={"direct_to_workers": False})

    @flow(task_runner=runner)
    def doubled() -> list[int]:
        return double.map(range(50)).result()

    assert doubled() == [2 * i for i in range(50)]
    assert sum(scheduler_gathers) == 50


@pytest.mark.parametrize(
    ("address", "chosen", "direct"),
    [
        ("tcp://127.0.0.1:8786", None, True),
        ("tcp://localhost:8786", None, True),
        ("tls://[::1]:8786", None, True),
        ("inproc://10.0.0.5/1234/1", None, True),
        ("tcp://10.0.0.5:8786", None, None),  # workers may be out of reach: Dask decides
        ("tcp://scheduler.example:8786", True, True),
        ("tcp://127.0.0.1:8786", False, False),
    ],
)
def test_gathers_direct_only_where_the_workers_are_in_reach(
    address: str, chosen: bool | None, direct: bool | None
) -> None:
    assert gathers_direct(address, chosen) is direct
