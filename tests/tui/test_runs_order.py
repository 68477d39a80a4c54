"""The runs list reads in time order: upcoming runs in their own section, soonest first; then by start.

A run due in an hour must not sit above the one running now, and the next
run due is the first thing under the Runs title.
"""

from __future__ import annotations

from typing import Any

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, FakeDaemon, flow_run, state
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_app import open_run

SIZE = (120, 40)


def scheduled(id: str, name: str, created: float, due: float, flow: str = "etl") -> Any:
    run = flow_run(id, name, "Scheduled", "SCHEDULED", created, None)
    return run.model_copy(update={"expected_start_time": due, "flow_name": flow})


def run_names_in_order(pilot: Any, names: list[str]) -> list[str]:
    """The names among `names` as the Runs list shows them, top to bottom, with its section titles."""
    found = []
    for line in screen_text(pilot.app).splitlines():
        left = line[:50]
        found += [n for n in ["upcoming", "recent", *names] if f" {n} " in f" {left[1:]} "]
    return found


def daemon_with_runs() -> FakeDaemon:
    daemon = FakeDaemon.canned()
    daemon.runs = [
        scheduled("run-due-later", "due-later", created=NOW - 10, due=NOW + 3600),
        scheduled("run-due-soon", "due-soon", created=NOW - 3000, due=NOW + 300),
        # created first but started last (it waited for a slot): it is the newest start
        flow_run("run-waited", "waited", "Completed", "COMPLETED", NOW - 4000, 50).model_copy(
            update={"start_time": NOW - 100, "end_time": NOW - 50}
        ),
        flow_run("run-prompt", "prompt", "Completed", "COMPLETED", NOW - 2000, 30),
    ]
    daemon.task_runs = {run.id: [] for run in daemon.runs}
    return daemon


async def test_upcoming_runs_come_first_soonest_first_then_the_rest_newest_start_first() -> None:
    async with make_app(daemon_with_runs()).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "due-later")
        names = ["due-later", "due-soon", "waited", "prompt"]
        assert run_names_in_order(pilot, names) == [
            "upcoming",
            "due-soon",
            "due-later",
            "recent",
            "waited",
            "prompt",
        ]
        assert "in 5m" in screen_text(pilot.app)  # an upcoming run says when it is due


async def test_a_run_that_starts_moves_from_upcoming_to_the_top_of_recent(
    daemon: FakeDaemon,
) -> None:
    daemon = daemon_with_runs()
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "due-soon")
        started = daemon.runs[1].model_copy(
            update={"state": state("Running", "RUNNING", NOW), "start_time": NOW}
        )
        daemon.push("flow_run", started)
        await wait_for_text(pilot, "⟳ due-soon")
        names = ["due-later", "due-soon", "waited", "prompt"]
        assert run_names_in_order(pilot, names) == [
            "upcoming",
            "due-later",
            "recent",
            "due-soon",
            "waited",
            "prompt",
        ]


async def test_the_cursor_skips_section_titles_and_keeps_its_run_when_the_order_changes() -> None:
    daemon = daemon_with_runs()
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "due-soon")
        await open_run(pilot, "waited")
        screen = pilot.app.screen
        await pilot.press("up")  # over the `recent` title, onto due-later
        await wait_until(pilot, lambda: screen.selection.key == "run-due-later", what="due-later")  # type: ignore[attr-defined]
        await pilot.press("down")
        await wait_until(pilot, lambda: screen.selection.key == "run-waited", what="waited")  # type: ignore[attr-defined]
        started = daemon.runs[1].model_copy(
            update={"state": state("Running", "RUNNING", NOW), "start_time": NOW}
        )
        daemon.push("flow_run", started)  # due-soon moves above `waited`
        await wait_for_text(pilot, "⟳ due-soon")
        assert screen.selection.key == "run-waited"  # type: ignore[attr-defined]


async def test_a_scheduled_run_shows_its_flows_name_not_its_functions() -> None:
    daemon = daemon_with_runs()
    daemon.runs[0] = daemon.runs[0].model_copy(update={"flow_name": "nightly"})  # the function
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "due-later")
        line = next(line for line in screen_text(pilot.app).splitlines() if "due-later" in line)
        assert " etl " in line and "nightly " not in line.replace("nightly-etl", "")
        await pilot.press("slash", *"flow:etl", "enter")
        await wait_for_text(pilot, "due-later")


async def test_runs_not_due_yet_are_loaded_into_the_upcoming_section_on_open() -> None:
    daemon = daemon_with_runs()  # due-soon and due-later: the daemon lists them only when asked
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "due-soon")
        assert run_names_in_order(pilot, ["due-soon", "due-later", "waited"])[:3] == [
            "upcoming",
            "due-soon",
            "due-later",
        ]
