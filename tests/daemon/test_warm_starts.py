"""`orc up` forks runs from a warm zygote with the project's `preload` imported, and sees edits.

Flow bodies write marker lines (`marks.txt`): whether the preloaded module was
already imported when the body began, its value, and the worker's parent pid.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.daemon.conftest import Project, wait_for

FLOWS = """
    import os
    import sys

    from orchestrate import flow


    @flow
    def uses() -> None:
        preloaded = "helper" in sys.modules
        import helper

        with open("marks.txt", "a") as f:
            f.write(f"{preloaded} {helper.VALUE} {os.getppid()}\\n")
"""

CONFIG = """
    [project]
    name = "warm"

    [defaults]
    preload = ["helper"]

    [[deployments]]
    name = "uses"
    entrypoint = "flows.py:uses"
"""


def _marks(root: Path) -> list[list[str]]:
    path = root / "marks.txt"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def _run(project: Project) -> list[str]:
    before = len(_marks(project.root))
    done = project.orc("run", "uses", "--watch", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return wait_for(lambda: _marks(project.root)[before:], 10, "the run's mark")[0]


def _zygotes_ready(project: Project, count: int) -> bool:
    return project.daemon_log().count("ready for") >= count


def test_runs_fork_from_a_zygote_with_the_preload_and_an_edit_of_it_restarts_it(
    project: Project,
) -> None:
    project.write("flows.py", FLOWS)
    project.write("helper.py", "VALUE = 'first'\n")
    project.write("flows.toml", CONFIG)
    daemon = project.up()
    wait_for(lambda: _zygotes_ready(project, 1), 30, "the zygote to be ready")
    preloaded, value, parent = _run(project)
    assert (preloaded, value) == ("True", "first")
    assert int(parent) not in (daemon.pid, os.getpid())  # forked by the zygote, not spawned

    helper = project.write("helper.py", "VALUE = 'second'\n")
    stat = os.stat(helper)
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _run(project)[:2] == ["False", "second"]  # cold while a new zygote warms
    assert "helper.py changed" in project.daemon_log()
    wait_for(lambda: _zygotes_ready(project, 2), 30, "the new zygote to be ready")
    preloaded, value, new_parent = _run(project)
    assert (preloaded, value) == ("True", "second") and new_parent != parent


def test_orc_cold_workers_keeps_every_run_cold(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("flows.py", FLOWS)
    project.write("helper.py", "VALUE = 'first'\n")
    project.write("flows.toml", CONFIG)
    monkeypatch.setenv("ORC_COLD_WORKERS", "1")
    daemon = project.up()
    assert _run(project) == ["False", "first", str(daemon.pid)]
    assert "zygote" not in project.daemon_log()


def test_a_zygote_no_deployment_uses_after_an_edit_is_stopped_with_its_spares(
    project: Project,
) -> None:
    """Editing a deployment's `preload` gives its runs a zygote of the new kind. The old
    zygote and its spare workers used to live on until orc up stopped: another set of
    processes for every such edit."""
    project.write("flows.py", FLOWS)
    project.write("helper.py", "VALUE = 'first'\n")
    project.write("other.py", "VALUE = 'other'\n")
    project.write("flows.toml", CONFIG)
    project.up()
    wait_for(lambda: _zygotes_ready(project, 1), 30, "the zygote to be ready")
    parent = int(_run(project)[2])
    spares = wait_for(lambda: _children(parent), 10, "the zygote's spares")

    project.write("flows.toml", CONFIG.replace('["helper"]', '["helper", "other"]'))
    wait_for(lambda: "flows.toml reloaded" in project.daemon_log(), 10, "the reload")
    gone = [parent, *spares]
    wait_for(
        lambda: not any(_alive(pid) for pid in gone), 10, "the old zygote and its spares to end"
    )
    assert _run(project)[1] == "first"  # the deployment's runs go on, from the new kind


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
