"""What `orc up` watches: every folder of the project, but not its own state folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)

CONFIG = """
    [[deployments]]
    name = "one"
    entrypoint = "flows.py:tiny"
"""


def _watched_inodes(pid: int) -> set[int]:
    """The inodes the process has inotify watches on (from /proc/PID/fdinfo)."""
    inodes = set()
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = info.read_text()
        except OSError:
            continue  # closed since listed
        for line in text.splitlines():
            if line.startswith("inotify wd:"):
                field = next(f for f in line.split() if f.startswith("ino:"))
                inodes.add(int(field[4:], 16))
    return inodes


def test_the_state_folder_is_not_watched_and_the_source_folders_are(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.write("pipelines/deep/job.py", "")
    daemon = project.up()
    assert project.orc("run", "one", "--watch").returncode == 0
    orc = project.root / ".orc"
    state = {orc.stat().st_ino} | {p.stat().st_ino for p in orc.rglob("*") if p.is_dir()}
    sources = {project.root / "pipelines", project.root / "pipelines" / "deep"}

    def watching_sources() -> set[int]:
        watched = _watched_inodes(daemon.pid)
        return watched if {p.stat().st_ino for p in sources} <= watched else set()

    watched = wait_for(watching_sources, 20, "watches on the source folders")
    assert not watched & state, "a folder under .orc/ is watched"


def test_an_edit_in_a_folder_made_after_start_is_seen(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    project.up()
    (project.root / "later").mkdir()

    def seen() -> bool:
        project.write("later/job.py", "x = 1\n")  # again until the new folder's watch has it
        return "later/job.py" in project.daemon_log()

    wait_for(seen, 20, "the edit of later/job.py in the daemon's log", every=0.3)
    project.write(
        "flows.toml", CONFIG + '\n[[deployments]]\nname = "two"\nentrypoint = "flows.py:tiny"\n'
    )

    def names() -> list[str]:
        with project.client() as client:
            return [d.name for d in client.deployments()]

    wait_for(lambda: names() == ["one", "two"], 20, "deployment two to be added")
