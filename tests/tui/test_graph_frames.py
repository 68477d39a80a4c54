"""Scrolling a big run graph: rows drawn once are kept, and what is kept is never stale.

Over the stand-in daemon (`FakeDaemon`), which pushes task-run changes on
cue; a real daemon cannot change a task's state at a chosen moment.
"""

from __future__ import annotations

from typing import Any

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, FakeDaemon, task
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_app import open_run
from tests.tui.test_live_updates import LIVE_RUN, Frames, graph_line, main_screen
from tui.widgets.graph_view import GraphView

SIZE = (120, 40)
ROWS = 200


def chain(i: int, state_name: str = "Running", state_type: str = "RUNNING") -> Any:
    """The i-th task of a chain in the running run eager-yak."""
    return task(
        f"f-{i}", f"step{i}-0", f"step{i}", NOW - 40 + i * 0.01, None if state_type == "RUNNING" else 3,
        [(f"f-{i - 1}", "data")] if i else [], run=LIVE_RUN,
        state_name=state_name, state_type=state_type,
    )  # fmt: skip


class StripsBuilt:
    """Counts the rows a graph view draws afresh (not taken from the strips it keeps)."""

    def __init__(self, view: GraphView) -> None:
        self.count = 0
        build = view.look_strip

        def counted(*args: Any) -> Any:
            self.count += 1
            return build(*args)

        view.look_strip = counted  # type: ignore[method-assign]


async def graph_of(pilot: Any, daemon: FakeDaemon) -> GraphView:
    """eager-yak with a 200-task chain, the graph focused at its first row."""
    await wait_for_text(pilot, "brave-fox")
    await open_run(pilot, "eager-yak")
    screen = main_screen(pilot)
    for i in range(ROWS):
        daemon.push("task_run", chain(i))
    await wait_until(pilot, lambda: screen.graph is not None and len(screen.graph) == ROWS)
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.focused is screen._graph_view, what="the graph focused")
    return screen._graph_view


async def test_paging_back_draws_no_row_again(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        await pilot.press("pagedown", "pagedown")
        await wait_for_text(pilot, "step60-0")
        built = StripsBuilt(view)
        await pilot.press("pageup")  # rows drawn a page ago, the same but for the cursor row
        await wait_until(pilot, lambda: view.cursor < 40, what="a page up")
        await pilot.pause()
        assert built.count <= 2  # the rows the cursor left and reached, nothing else
        assert "⟳" in graph_line(pilot, "step35-0")


async def test_a_kept_row_shows_its_new_state_mark_after_the_task_changes(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        await pilot.press(
            "pagedown", "pageup"
        )  # step5-0 drawn, kept, drawn again from the kept strip
        await wait_until(pilot, lambda: "⟳" in graph_line(pilot, "step5-0"), what="step5-0 running")
        assert len(view._strips) > 0

        daemon.push("task_run", chain(5, "Failed", "FAILED"))
        await wait_until(pilot, lambda: "✘" in graph_line(pilot, "step5-0"), what="step5-0 failed")
        daemon.push("task_run", chain(5, "Completed", "COMPLETED"))
        await wait_until(
            pilot, lambda: "✔" in graph_line(pilot, "step5-0"), what="step5-0 completed"
        )
        await pilot.press(
            "pagedown", "pageup"
        )  # away and back: the kept strip of the old mark is not used
        await pilot.pause()
        assert "✔" in graph_line(pilot, "step5-0") and "✘" not in graph_line(pilot, "step5-0")


async def test_after_a_resize_kept_rows_are_drawn_at_the_new_width(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        await pilot.press("pagedown", "pageup")
        await wait_until(pilot, lambda: "━" in graph_line(pilot, "step3-0"), what="time bars")
        wide = view.size.width

        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: view.size.width < wide, what="a narrower graph")
        await pilot.pause()
        strip = view.render_line(3 - view.scroll_offset.y)  # step3-0, drawn before at 120 wide
        assert strip.cell_length == view.scrollable_content_region.width < wide
        assert "step3-0" in strip.text and "⟳" in strip.text
        assert "⟳" in screen_text(pilot.app).split("step3-0")[0].splitlines()[-1]

        await pilot.resize_terminal(*SIZE)
        await wait_until(pilot, lambda: view.size.width == wide, what="the graph wide again")
        await wait_until(pilot, lambda: "━" in graph_line(pilot, "step3-0"), what="time bars back")
        assert "⟳" in graph_line(pilot, "step3-0")


async def test_the_cursor_bar_follows_a_kept_row(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        await pilot.press("down", "down", "up", "up", "down")  # rows 0..2 drawn with and without it
        await wait_until(pilot, lambda: view.cursor == 1, what="the cursor on row 1")
        await pilot.pause()
        reversed_rows = [y for y in range(3) if _reversed(view, y)]
        assert reversed_rows == [1]


def _reversed(view: GraphView, y: int) -> bool:
    return any(
        segment.style is not None and segment.style.reverse for segment in view.render_line(y)
    )


async def test_a_page_down_works_out_what_its_rows_share_once_not_per_row(
    daemon: FakeDaemon,
) -> None:
    """The run's span, the time and the width are the same for every row of a frame."""
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        spans: list[object] = []
        bounds = view._bounds

        def counted() -> Any:
            spans.append(None)
            return bounds()

        view._bounds = counted  # type: ignore[method-assign]
        drawn = StripsBuilt(view)
        await pilot.press(
            "pagedown", "pagedown"
        )  # the cursor to the foot of the page, then a page on
        await wait_for_text(pilot, "step60-0")
        await pilot.pause()
        assert drawn.count >= 30  # a page of rows drawn afresh
        assert 1 <= len(spans) <= 8  # once a frame, not once a row


async def test_a_page_down_repaints_the_task_detail_in_the_graphs_frame(
    daemon: FakeDaemon,
) -> None:
    """The detail under the graph follows the cursor: with the rows, not in a frame after them.

    Each frame repaints every widget that overlaps the box around what
    changed; a second frame for the detail alone was half the cost of a press.
    """
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        screen = main_screen(pilot)
        detail = screen.query_one("#task-detail").region
        await pilot.pause()
        frames = Frames(screen)
        await pilot.press("pagedown", "pagedown")
        await wait_until(pilot, lambda: view.cursor > 40, what="two pages down")
        await wait_until(pilot, lambda: _detail_names(pilot, view), what="the detail following")
        await pilot.pause()
        graph_frames = [f for f in frames.frames if any(r.overlaps(view.region) for r in f)]
        detail_frames = [f for f in frames.frames if any(r.overlaps(detail) for r in f)]
        assert graph_frames and detail_frames
        assert all(f in graph_frames for f in detail_frames)  # no frame for the detail alone


async def test_after_a_page_down_the_detail_names_the_task_under_the_cursor(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        view = await graph_of(pilot, daemon)
        for _ in range(3):
            await pilot.press("pagedown")
            await wait_until(pilot, lambda: _detail_names(pilot, view), what="the detail following")
        await pilot.press("pageup")
        await wait_until(pilot, lambda: _detail_names(pilot, view), what="the detail following")
        assert view.cursor > 0


def _detail_names(pilot: Any, view: GraphView) -> bool:
    """The detail pane's heading names the task run under the graph's cursor."""
    node = view.selected_node()
    assert node is not None
    detail = main_screen(pilot).query_one("#task-detail").region
    lines = screen_text(pilot.app).splitlines()[detail.y : detail.bottom]
    return any(f" {node.task_run.name}  " in line for line in lines)
