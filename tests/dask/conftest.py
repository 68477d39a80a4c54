"""The Dask task runner's tests run on one real LocalCluster (2 worker processes) per session.

Starting a cluster takes seconds, so the tests share one, started the way
`DaskTaskRunner` starts its own (orc's defaults); each test's flow connects to
it by address. Modules that need a cluster skip themselves, with the reason,
where `distributed` is not installed (`needs_distributed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrate.recording import set_sink
from tests.daemon.conftest import project  # noqa: F401 (a fixture, for daemon tests here)
from tests.dask.external import ExternalCluster
from tests.engine.conftest import MemorySink

SKIP_REASON = "the Dask task runner needs `distributed` (pip install -e '.[dask]')"


def needs_distributed() -> None:
    """Skip the calling test module where `distributed` is not installed, saying why."""
    pytest.importorskip("distributed", reason=SKIP_REASON)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    from orchestrate.integrations.dask.cluster import start_cluster

    cluster = start_cluster(None, {"n_workers": 2, "threads_per_worker": 2})
    yield cluster
    cluster.close()


@pytest.fixture
def dask_address(dask_cluster: Any) -> str:
    return str(dask_cluster.scheduler_address)


@pytest.fixture
def recorded(tmp_path, monkeypatch) -> Iterator[MemorySink]:  # type: ignore[no-untyped-def]
    """Run flows in an empty project folder, recording into memory."""
    monkeypatch.setenv("ORC_HOME", str(tmp_path))
    monkeypatch.setenv("ORC_LOGGING_TO_CONSOLE", "0")
    monkeypatch.chdir(tmp_path)
    sink = MemorySink()
    previous = set_sink(sink)
    yield sink
    set_sink(previous)


@pytest.fixture
def external_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalCluster]:
    """`dask scheduler` and 2 `dask worker` subprocesses on localhost, killed after the test."""
    cluster = ExternalCluster(tmp_path_factory.mktemp("dask-cluster"))
    try:
        yield cluster.start(workers=2)
    finally:
        cluster.close()
