"""A Dask cluster of real processes on localhost: `dask scheduler` and `dask worker` subprocesses.

What a deployment meets in production (a scheduler orc did not start), and
what can be killed with SIGKILL to see what a flow run does when its
scheduler or a worker is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.daemon.conftest import wait_for

DASK = str(Path(sys.executable).parent / "dask")
ROOT = Path(__file__).resolve().parents[2]
#: As docs/dask.md says to start a scheduler orc uses (Dask reports a lost worker, orc
#: retries), and with this checkout importable, for tasks defined in test modules.
ENV = {
    **os.environ,
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


@dataclass
class ExternalCluster:
    """A scheduler and its workers, each its own process (own session, so each can be killed)."""

    folder: Path
    scheduler: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def scheduler_file(self) -> Path:
        return self.folder / "scheduler.json"

    @property
    def address(self) -> str:
        return str(json.loads(self.scheduler_file.read_text())["address"])

    def start(self, workers: int = 2) -> ExternalCluster:
        self.scheduler = self._spawn(
            "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(self.scheduler_file),
        )  # fmt: skip
        wait_for(self.scheduler_file.exists, 60, "dask scheduler to write its file")
        for _ in range(workers):
            self.add_worker()
        wait_for(lambda: self.worker_count() == workers, 60, f"{workers} dask workers to join")
        return self

    def add_worker(self, resources: str | None = None) -> subprocess.Popen[bytes]:
        """A worker process of 2 threads, with `resources` like "GPU=1" if given."""
        extra = ["--resources", resources] if resources else []
        worker = self._spawn(
            "worker", "--scheduler-file", str(self.scheduler_file), "--nthreads", "2",
            "--no-nanny", "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", *extra,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def worker_count(self) -> int:
        return len(self.scheduler_info().get("workers", {}))

    def scheduler_info(self) -> dict[str, Any]:
        from distributed import Client

        with Client(self.address, timeout="10s", set_as_default=False) as client:
            return dict(client.scheduler_info())

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        os.killpg(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait(10)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def _spawn(self, kind: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{kind}-{len(self.workers)}.log", "wb")  # noqa: SIM115
        with log:
            return subprocess.Popen(
                [DASK, kind, *args], stdout=log, stderr=subprocess.STDOUT, env=ENV,
                start_new_session=True, cwd=self.folder,
            )  # fmt: skip
