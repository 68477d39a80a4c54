"""Reloading a 50-deployment flows.toml stays in the milliseconds: the daemon reloads on every edit."""

from __future__ import annotations

import statistics
import time

from orchestrate.config import load_config
from tests.config.conftest import Project


def fifty_deployments() -> str:
    blocks = ['[project]\nname = "big"\n\n[defaults]\ntimezone = "Europe/Berlin"\nretries = 1\n']
    for n in range(50):
        blocks.append(
            f'[[deployments]]\nname = "flow-{n}"\nentrypoint = "examples/etl.py:nightly"\n'
            f"parameters = {{ days = {n % 7 + 1} }}\n"
            f'schedules = [{{ cron = "{n % 60} 2 * * *" }}, {{ interval = "{n + 1}m" }}]\n'
            'tags = ["etl"]\nenv = { MODE = "prod", TOKEN = { from_env = "HOME" } }\n'
        )
    return "\n".join(blocks)


def test_a_50_deployment_file_loads_in_milliseconds(project: Project) -> None:
    project.write(fifty_deployments())
    load_config(project.file)  # the first load also parses the flow file once
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        config = load_config(project.file)
        timings.append(time.perf_counter() - started)
    assert len(config.deployments) == 50
    assert statistics.median(timings) < 0.05, f"median {statistics.median(timings) * 1000:.1f} ms"
