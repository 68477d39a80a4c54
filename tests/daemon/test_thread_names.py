"""`orc up`'s threads carry their names in the OS, so `top -H` and /proc tell them apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)


def _thread_names(pid: int) -> set[str]:
    names = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.add((task / "comm").read_text().strip())
        except OSError:
            continue  # ended since listed
    return names


def test_the_store_writer_thread_is_named(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", '[[deployments]]\nname = "one"\nentrypoint = "flows.py:tiny"\n')
    daemon = project.up()
    assert project.orc("run", "one", "--watch").returncode == 0

    def named() -> set[str]:
        names = _thread_names(daemon.pid)
        return names if "orc-store-write" in names else set()

    names = wait_for(named, 20, "the store writer's thread under its name")
    assert "orc" in names  # the loop's thread keeps the process's name
