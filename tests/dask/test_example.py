"""The example flow, loaded from its file as `orc flow run` loads it, runs on the cluster."""

from __future__ import annotations

from pathlib import Path

from orchestrate.integrations.dask import DaskTaskRunner
from orchestrate.worker.entrypoints import load_flow
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()

ROOT = Path(__file__).resolve().parents[2]


def test_the_dask_fanout_example_runs_from_its_file_on_a_cluster(
    recorded: MemorySink, dask_address: str
) -> None:
    dask_fanout = load_flow("examples/dask_fanout.py:dask_fanout", root=ROOT)
    on_cluster = dask_fanout.with_options(task_runner=DaskTaskRunner(dask_address))

    digest = on_cluster(chunks=4, rounds=10)

    assert len(digest) == 64
    assert sorted(r.name for r in recorded.task_runs()) == [
        "combine-0", "digest-0", "digest-1", "digest-2", "digest-3",
    ]  # fmt: skip
    assert all(r.state.name == "Completed" for r in recorded.task_runs())
    lines = {r.message for r in recorded.logs()}
    assert "chunk 2 hashed 10 times" in lines
    assert "4 chunks hashed on the cluster, combined digest " + digest[:12] in lines
