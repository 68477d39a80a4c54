"""Fan CPU-heavy tasks out to a Dask cluster; the flow run, its states and logs stay here.

    python examples/dask_fanout.py                 # starts a local cluster for the run
    orc flow run examples/dask_fanout.py:dask_fanout -p chunks=64

Each chunk is hashed on a Dask worker process (so the work is not held back by
one interpreter's GIL); `get_run_logger()` lines and prints from the workers
land in the run's logs. To use a cluster on other servers, give the runner
the scheduler's address, here or per deployment in flows.toml:
`task_runner = { type = "dask", address = "tcp://scheduler-host:8786" }`.
"""

from __future__ import annotations

import hashlib

from orchestrate import flow, get_run_logger, task, unmapped
from orchestrate.integrations.dask import DaskTaskRunner


@task(retries=2, retry_delay_seconds=1)
def digest(chunk: int, rounds: int) -> str:
    """Hash one chunk `rounds` times over: stands in for parsing, scoring, resizing…"""
    value = chunk.to_bytes(8, "big")
    for _ in range(rounds):
        value = hashlib.sha256(value).digest()
    get_run_logger().info("chunk %d hashed %d times", chunk, rounds)
    return value.hex()


@task
def combine(digests: list[str]) -> str:
    return hashlib.sha256("".join(digests).encode()).hexdigest()


@flow(
    task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 2}),
    log_prints=True,
)
def dask_fanout(chunks: int = 16, rounds: int = 20_000) -> str:
    digests = digest.map(range(chunks), unmapped(rounds))
    result = combine.submit(digests).result()
    print(f"{chunks} chunks hashed on the cluster, combined digest {result[:12]}")
    return result


if __name__ == "__main__":
    dask_fanout()
