"""A flow file's folder goes on the import path without shadowing the standard library, so the
Dask workers a run starts after loading it (they inherit `sys.path`) still start."""

from __future__ import annotations

from pathlib import Path

from orchestrate.worker.entrypoints import load_flow
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()

FLOW_FILE = """
from orchestrate import flow, task
from orchestrate.integrations.dask import DaskTaskRunner


@task
def square(x: int) -> int:
    return x * x


@flow(task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": 1}))
def squares() -> list[int]:
    return square.map(range(4)).result()
"""


def test_a_flow_file_named_numbers_py_runs_on_a_cluster_it_starts(
    recorded: MemorySink, tmp_path: Path
) -> None:
    (tmp_path / "numbers.py").write_text(FLOW_FILE)  # `numbers` is a stdlib module workers import
    squares = load_flow("numbers.py:squares", root=tmp_path)
    assert squares() == [0, 1, 4, 9]
