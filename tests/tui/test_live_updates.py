"""Changes pushed by the daemon, as the dashboard shows them: in full, and without redrawing more than changed.

A live run can push thousands of task runs in seconds and a busy daemon tens
of run changes a second; the dashboard must end on exactly what the daemon
last said, repaint only rows that read differently and show, and never lay
the whole screen out again for a change inside a list (that redraws every
widget: the stutter a user sees).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC
from typing import Any

from textual.geometry import Region

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, FakeDaemon, flow_run, state, task
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_app import open_run
from tui.app import OrcApp
from tui.client import DashboardClient
from tui.feed import DASHBOARD_FRAME_SECONDS
from tui.format import TIMES, Clock
from tui.graph import RunGraph
from tui.messages import RunsChanged
from tui.screens.main import MainScreen
from tui.widgets.row_list import RowList

SIZE = (120, 40)
LIVE_RUN = "run-0003"  # eager-yak: running, no task runs yet


class Drawn:
    """Counts the lines a list draws and the layouts of its screen, from now on."""

    def __init__(self, row_list: RowList) -> None:
        self.lines: list[int] = []
        self.layouts = 0
        draw = row_list.render_line

        def counted(y: int) -> Any:
            self.lines.append(y)
            return draw(y)

        row_list.render_line = counted  # type: ignore[method-assign]
        row_list.screen.screen_layout_refresh_signal.subscribe(row_list, self._laid_out)

    def _laid_out(self, _: object) -> None:
        self.layouts += 1

    def reset(self) -> None:
        self.lines.clear()
        self.layouts = 0


async def settled(pilot: Any, drawn: Drawn, timeout: float = 10.0) -> None:
    """Wait until a layout asked for earlier has happened: two pauses in a row with none.

    A pause handles every message waiting (a layout request among them) and
    then lays out; a layout can ask for one more (a scrollbar sized anew).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = drawn.layouts
        await pilot.pause()
        await pilot.pause()
        if drawn.layouts == before:
            return
    raise AssertionError(f"the screen kept being laid out for {timeout}s")


def main_screen(pilot: Any) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    return screen


def chain_task(i: int, done: bool) -> Any:
    """The i-th task of a 2,000-task chain, running or (a minute later) completed."""
    return task(
        f"live-{i}", f"step{i}-0", f"step{i}", NOW - 40 + i * 0.01, 60.0 if done else None,
        [(f"live-{i - 1}", "data")] if i else [], run=LIVE_RUN,
        state_name="Completed" if done else "Running", state_type="COMPLETED" if done else "RUNNING",
    )  # fmt: skip


def all_completed(graph: RunGraph | None, count: int) -> bool:
    if graph is None or len(graph) != count:
        return False
    return all(row.node.task_run.state.name == "Completed" for row in graph.rows())


def graph_line(pilot: Any, name: str) -> str:
    """The graph's line on screen that shows the task run called `name` (lanes, glyph, name, ...)."""
    for line in screen_text(pilot.app).splitlines():
        right = line[50:]  # the detail pane, right of the lists
        if f" {name} " in right:
            return right
    return ""


async def test_a_burst_of_2000_task_changes_ends_with_every_task_in_its_final_state(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "eager-yak")
        screen = main_screen(pilot)
        drawn = Drawn(screen.query_one("#graph-view", RowList))
        for i in range(100):  # more rows than show: the scrollbar comes (a layout, once)
            daemon.push("task_run", chain_task(i, done=False))
        await wait_until(pilot, lambda: screen.graph is not None and len(screen.graph) == 100)
        await wait_until(pilot, lambda: drawn.layouts > 0, what="the layout for the scrollbar")
        await settled(pilot, drawn)  # it lands a frame or more after the rows, later under load
        drawn.reset()
        for done in (False, True):  # 2,000 start, then 2,000 finish: 4,000 changes
            for first in range(0, 2000, 100):
                for i in range(first, first + 100):
                    daemon.push("task_run", chain_task(i, done))
                await pilot.pause()
        await wait_until(pilot, lambda: all_completed(screen.graph, 2000), what="2,000 completed")
        await pilot.pause()

        assert "✔" in graph_line(pilot, "step0-0") and "✔" in graph_line(pilot, "step20-0")
        assert drawn.layouts == 0  # the screen was never laid out again
        assert len(drawn.lines) < 200  # the rows that show, a few times each; not 2,000
        await pilot.press("enter", "end")  # into the graph, to its last row
        await wait_until(pilot, lambda: "✔" in graph_line(pilot, "step1999-0"), what="the last row")


async def test_a_change_that_reads_the_same_repaints_nothing_and_a_state_change_one_row(
    daemon: FakeDaemon,
) -> None:
    daemon.runs += [
        flow_run(f"run-1{i:03d}", f"old-{i}", "Completed", "COMPLETED", NOW - 9000 - i, 5)
        for i in range(60)
    ]
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "old-0 ")
        screen = main_screen(pilot)
        await pilot.pause()
        drawn = Drawn(screen.query_one("#runs", RowList))
        calm_owl = daemon.runs[1]

        daemon.push("flow_run", calm_owl.model_copy(update={"run_count": 7}))
        await wait_until(pilot, lambda: screen.dashboard.runs.get("run-0002").run_count == 7)  # type: ignore[union-attr]
        await pilot.pause()
        assert drawn.lines == []  # the attempt count is not on screen

        hidden = daemon.runs[-1]  # the oldest run, far below the fold
        daemon.push("flow_run", hidden.model_copy(update={"state": state("Failed", "FAILED", NOW)}))
        await wait_until(pilot, lambda: screen.dashboard.runs.get(hidden.id).state.name == "Failed")  # type: ignore[union-attr]
        await pilot.pause()
        assert drawn.lines == []

        retried = state("Running", "RUNNING", NOW)
        daemon.push("flow_run", calm_owl.model_copy(update={"state": retried, "end_time": None}))
        await wait_for_text(pilot, "⟳ calm-owl")
        assert len(set(drawn.lines)) == 1 and drawn.layouts == 0


async def test_a_mapped_task_growing_live_repaints_its_one_row(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "eager-yak")
        screen = main_screen(pilot)
        for i in range(2):
            daemon.push("task_run", task(f"m-{i}", f"process-{i}", "process", NOW - 30, None, dyn=i, run=LIVE_RUN))  # fmt: skip
        await wait_for_text(pilot, f"process {TIMES}2")
        await pilot.pause()
        drawn = Drawn(screen.query_one("#graph-view", RowList))
        for first in range(2, 1000, 100):
            for i in range(first, min(1000, first + 100)):
                daemon.push("task_run", task(f"m-{i}", f"process-{i}", "process", NOW - 30, None, dyn=i, run=LIVE_RUN))  # fmt: skip
            await pilot.pause()
        await wait_for_text(pilot, f"process {TIMES}1000  1000✔")
        assert set(drawn.lines) == {0} and drawn.layouts == 0


async def test_an_expanded_subflow_is_followed_live_under_its_stand_in_row(
    daemon: FakeDaemon,
) -> None:
    child = flow_run("run-child", "report-run", "Running", "RUNNING", NOW - 20, None)
    child = child.model_copy(
        update={
            "flow_name": "report",
            "parent_flow_run_id": "run-0001",
            "parent_task_run_id": "t-report",
        }
    )
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        await wait_for_text(pilot, "report-0")
        await pilot.press("enter", *["down"] * 5, "enter")  # into the graph; expand report-0
        await wait_for_text(pilot, "▾ report-0")

        daemon.runs.append(child)  # the subflow starts: its run, then its tasks
        daemon.task_runs["run-child"] = []
        daemon.push("flow_run", child)
        await wait_until(pilot, lambda: any(f == "run-child" for _, f, _ in daemon.subscriptions), what="a subscription to the child run")  # fmt: skip
        daemon.push("task_run", task("c-chart", "chart-0", "chart", NOW - 15, None, run="run-child", state_name="Running", state_type="RUNNING"))  # fmt: skip
        await wait_until(pilot, lambda: "⟳" in graph_line(pilot, "chart-0"), what="chart-0 running")
        screen = main_screen(pilot)
        assert screen.graph is not None
        chart = next(row.node for row in screen.graph.rows() if row.node.name == "chart-0")
        assert chart.depth == 1 and chart.parent_key == "run-0001:subflow:report"

        daemon.push("task_run", task("c-chart", "chart-0", "chart", NOW - 15, 4, run="run-child"))
        await wait_until(pilot, lambda: "✔" in graph_line(pilot, "chart-0"), what="chart-0 done")


async def test_each_second_only_rows_whose_time_moved_are_redrawn(daemon: FakeDaemon) -> None:
    now = [NOW]

    async def connect() -> DashboardClient:
        return daemon.client()

    app = OrcApp(connect, "/srv/demo", clock=Clock(now=lambda: now[0], zone=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "42.0s")  # eager-yak has run for 42 s
        screen = main_screen(pilot)
        await pilot.pause()
        drawn = Drawn(screen.query_one("#runs", RowList))
        now[0] += 5
        await wait_for_text(pilot, "47.0s")  # the next tick
        await pilot.pause()
        running = screen.dashboard.runs.position("run-0003")  # 47.0s
        due = screen.dashboard.runs.position("run-0004")  # due 10s ago
        assert set(drawn.lines) == {running, due}  # finished runs read the same


async def test_a_busy_daemon_is_applied_four_times_a_second_and_its_last_state_shows_within_a_second(
    daemon: FakeDaemon,
) -> None:
    """20 state changes a second reach the lists as at most one batch per 0.25 s, none lost."""
    batches: list[float] = []

    def seen(message: object) -> None:
        if isinstance(message, RunsChanged):
            batches.append(time.monotonic())

    states = [("Running", "RUNNING"), ("Failed", "FAILED"), ("Completed", "COMPLETED")]
    async with make_app(daemon).run_test(size=SIZE, message_hook=seen) as pilot:
        await wait_for_text(pilot, "calm-owl")
        calm_owl = daemon.runs[1]
        started = time.monotonic()
        for i in range(30):  # a daemon pushing 20 a second, for 1.5 s
            name, kind = states[i % 3]
            daemon.push("flow_run", calm_owl.model_copy(update={"state": state(name, kind, NOW)}))
            await asyncio.sleep(0.05)  # the daemon's pace, not a wait for the app
        cancelled = state("Cancelled", "CANCELLED", NOW)
        daemon.push("flow_run", calm_owl.model_copy(update={"state": cancelled}))
        elapsed = time.monotonic() - started
        await wait_for_text(pilot, "⊘ calm-owl", timeout=1.0)  # pushed within a frame of the last
        assert 2 <= len(batches) <= elapsed / DASHBOARD_FRAME_SECONDS + 2


class Frames:
    """The regions each frame of a screen repainted, from now on."""

    def __init__(self, screen: MainScreen) -> None:
        self.frames: list[list[Region]] = []
        compositor = screen._compositor
        render_update = compositor.render_update

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.frames.append(list(compositor._dirty_regions))
            return render_update(*args, **kwargs)

        compositor.render_update = recorded  # type: ignore[method-assign]

    def painted(self, top: bool) -> list[list[Region]]:
        """Frames that repainted the header (`top`), or something below it."""
        return [f for f in self.frames if any((region.y == 0) == top for region in f)]

    def both(self) -> list[list[Region]]:
        return [f for f in self.painted(True) if f in self.painted(False)]


async def test_a_header_count_and_the_row_that_changed_it_share_one_frame_over_the_lists(
    daemon: FakeDaemon,
) -> None:
    """The running count sits over the lists: with the row, one frame whose box stays over them.

    Textual repaints the box around all that changed in a frame, so the
    header repaints only its changed cells; a box reaching the detail pane
    would repaint every widget there too.
    """
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "1 running")  # eager-yak
        screen = main_screen(pilot)
        await pilot.pause()
        frames = Frames(screen)
        calm_owl = daemon.runs[1]
        running = state("Running", "RUNNING", NOW)
        daemon.push("flow_run", calm_owl.model_copy(update={"state": running, "end_time": None}))
        await wait_for_text(pilot, "2 running", timeout=1.0)
        assert "⟳ calm-owl" in screen_text(pilot.app)
        await wait_until(pilot, lambda: bool(frames.both()), what="one frame for both")
        lists_edge = screen.query_one("#left").region.right
        assert all(Region.from_union(f).right <= lists_edge for f in frames.both())


async def test_a_header_change_right_of_the_lists_waits_a_frame_after_the_rows(
    daemon: FakeDaemon,
) -> None:
    """With a long project name the counts sit over the detail pane: they get a frame of their own."""
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "1 running")
        screen = main_screen(pilot)
        daemon.push("status", daemon.status().model_copy(update={"project": "p" * 60}))
        await wait_for_text(pilot, "p" * 60)
        await pilot.pause()
        frames = Frames(screen)
        calm_owl = daemon.runs[1]
        running = state("Running", "RUNNING", NOW)
        daemon.push("flow_run", calm_owl.model_copy(update={"state": running, "end_time": None}))
        await wait_for_text(pilot, "2 running", timeout=1.0)
        assert "⟳ calm-owl" in screen_text(pilot.app)
        await wait_until(
            pilot,
            lambda: bool(frames.painted(True) and frames.painted(False)),
            what="both painted",
        )
        assert not frames.both()


async def test_while_the_daemon_is_busy_durations_still_move_every_second(
    daemon: FakeDaemon,
) -> None:
    """The clock's repaint rides on the batches of a busy daemon; it must not wait for a quiet spell."""
    now = [NOW]

    async def connect() -> DashboardClient:
        return daemon.client()

    app = OrcApp(connect, "/srv/demo", clock=Clock(now=lambda: now[0], zone=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "42.0s")  # eager-yak has run for 42 s
        calm_owl = daemon.runs[1]
        now[0] += 5
        seen_at = None
        started = time.monotonic()
        for i in range(60):  # 3 s of 20 changes a second that change no row
            daemon.push("flow_run", calm_owl.model_copy(update={"run_count": i}))
            await asyncio.sleep(0.05)  # the daemon's pace, not a wait for the app
            if seen_at is None and "47.0s" in screen_text(app):
                seen_at = time.monotonic() - started
        assert seen_at is not None and seen_at < 1.5


async def test_each_second_a_deployment_or_automation_that_reads_the_same_is_not_built_again(
    daemon: FakeDaemon,
) -> None:
    """`in 3h` and `58m ago` read so for minutes: the tick must not build those rows to find that out."""
    now = [NOW]

    async def connect() -> DashboardClient:
        return daemon.client()

    app = OrcApp(connect, "/srv/demo", clock=Clock(now=lambda: now[0], zone=UTC))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "42.0s")  # eager-yak has run for 42 s
        screen = main_screen(pilot)
        await pilot.pause()
        built: list[str | None] = []
        for row_list in (screen.query_one("#deployments"), screen.query_one("#automations")):
            assert isinstance(row_list, RowList)
            build = row_list.render_row

            def counted(
                index: int, width: int, row_list: RowList = row_list, build: Any = build
            ) -> Any:
                built.append(row_list.id)
                return build(index, width)

            row_list.render_row = counted  # type: ignore[method-assign]
        now[0] += 5
        await wait_for_text(pilot, "in 3h")  # nightly-etl's next run, 3h59m55s away
        await wait_for_text(pilot, "47.0s")
        await pilot.pause()
        built.clear()
        now[0] += 5
        await wait_for_text(pilot, "52.0s")  # the next tick: `in 3h` and `58m ago` still
        await pilot.pause()
        assert built == []
        now[0] += 3600
        await wait_for_text(pilot, "in 2h")
        await wait_until(pilot, lambda: "automations" in built, what="the automation rebuilt")
        assert "deployments" in built
