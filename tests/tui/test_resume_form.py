"""`p` on a paused run against a real `orc up`: the run form asks for the pause's input and resumes.

As `orc runs resume` does from a shell (Prefect's UI does it with a form of the
`wait_for_input` model): the form is built from the input model's JSON schema,
a value the daemon refuses shows the daemon's words in the form, and the run
goes on with what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.tui.conftest import orc_up
from tests.tui.screen import wait_for_notice, wait_for_text, wait_until
from tests.tui.test_live_daemon import SIZE, SLOW, app_for, main_screen, orc
from tui.screens.run_form import RunForm

FLOWS_TOML = """
[project]
name = "resumetest"

[[deployments]]
name = "approve"
entrypoint = "flows.py:approve"
"""

FLOWS_PY = """
from pathlib import Path

from pydantic import BaseModel, Field

from orchestrate import flow
from orchestrate.flow_runs import pause_flow_run


class Approval(BaseModel):
    approved: bool
    note: str = Field(default="", max_length=5)


@flow
def approve() -> str:
    answer = pause_flow_run(wait_for_input=Approval, timeout=600)
    Path("answer.txt").write_text(f"{answer.approved} {answer.note}")
    return answer.note
"""


@pytest.fixture
def paused_project(tmp_path: Path) -> Iterator[Path]:
    """A real `orc up` on a project whose one flow pauses for an `Approval`."""
    with orc_up(tmp_path, FLOWS_TOML, FLOWS_PY) as root:
        yield root


def _field(pilot: Any, name: str) -> Input:
    return pilot.app.screen.query_one(f"#field-{name}", Input)


async def test_p_on_a_paused_run_resumes_it_with_the_input_typed_in_the_run_form(
    paused_project: Path,
) -> None:
    async with app_for(paused_project).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "approve", timeout=SLOW)
        await orc(paused_project, "run", "approve")
        screen = main_screen(pilot)

        def paused() -> Any:
            runs = (screen.dashboard.runs.get(i) for i in screen.dashboard.runs.view())
            return next((r for r in runs if r and r.state.name == "Paused"), None)

        await wait_until(pilot, lambda: paused() is not None, SLOW, "the run Paused")
        run = paused()
        await pilot.press("2", "home")
        await wait_until(
            pilot,
            lambda: screen.selection is not None and screen.selection.key == run.id,
            what="the paused run selected",
        )
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunForm), what="the form")
        await wait_for_text(pilot, f"Resume {run.name} (Paused) with Approval")

        _field(pilot, "approved").value = "yes"
        _field(pilot, "note").value = "far too long"  # the form lets it through; the daemon not
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "The daemon refused", timeout=SLOW)
        await wait_for_text(pilot, "'note' must have at most 5 character(s)")
        assert isinstance(pilot.app.screen, RunForm)
        assert screen.dashboard.runs.get(run.id).state.name == "Paused"  # type: ignore[union-attr]

        _field(pilot, "note").value = "ok"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: not isinstance(pilot.app.screen, RunForm), SLOW, "the form closed"
        )
        await wait_until(
            pilot,
            lambda: screen.dashboard.runs.get(run.id).state.name == "Completed",  # type: ignore[union-attr]
            SLOW,
            "the run Completed",
        )
    assert (paused_project / "answer.txt").read_text() == "True ok"


async def test_p_on_a_run_that_is_not_paused_says_what_it_acts_on(paused_project: Path) -> None:
    async with app_for(paused_project).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "approve", timeout=SLOW)
        await orc(paused_project, "run", "approve")
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: len(screen.dashboard.runs) == 1, SLOW, "the run listed")
        await pilot.press("2", "home")
        await wait_until(
            pilot,
            lambda: screen.selection is not None and screen.selection.kind == "run",
            what="the run selected",
        )
        run_id = screen.selection.key  # type: ignore[union-attr]
        await wait_until(
            pilot,
            lambda: screen.dashboard.runs.get(run_id).state.name == "Paused",  # type: ignore[union-attr]
            SLOW,
            "the run Paused",
        )
        await orc(paused_project, "runs", "resume", run_id, "-i", "approved=false")
        await wait_until(
            pilot,
            lambda: screen.dashboard.runs.get(run_id).state.name == "Completed",  # type: ignore[union-attr]
            SLOW,
            "the run Completed",
        )
        await pilot.press("p")
        await wait_for_notice(pilot, "or a paused run to pause or resume it")
        assert not isinstance(pilot.app.screen, RunForm)
