"""A worker gets the daemon's environment as it is at the run's start, though the daemon keeps
its decoded copy between runs."""

from __future__ import annotations

import pytest

from tests.worker.test_zygote import SHOW, WarmProject, lines, project

__all__ = ["project"]  # the warm project fixture, used here


async def test_a_change_to_the_daemons_environment_reaches_the_next_forked_run(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("show.py", SHOW)
    monkeypatch.setenv("ORC_TEST_LATE", "first")
    await project.run("show.py:show")
    monkeypatch.setenv("ORC_TEST_LATE", "second")
    await project.run("show.py:show", flow_run_id="7f0c1d2e-0000-4000-8000-000000000002")
    monkeypatch.delenv("ORC_TEST_LATE")
    await project.run("show.py:show", flow_run_id="7f0c1d2e-0000-4000-8000-000000000003")
    assert lines(project, "late") == ["first", "second", "None"]
