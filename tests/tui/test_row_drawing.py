"""How a run's row is drawn: straight to segments, the same as through Rich's `Text`.

A running run's row is drawn again every second as its duration ticks;
building a `Text` and rendering it was most of that cost, so the row is
built as segments directly. These tests hold the direct path to exactly
what the `Text` path draws (segments and styles), whatever the width,
state or cursor, so screens and snapshots cannot drift.
"""

from __future__ import annotations

from datetime import UTC

import pytest
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from orchestrate.client.protocol import FlowRunInfo
from tests.tui.fake_daemon import NOW, FakeDaemon, flow_run
from tui.format import Clock
from tui.state import ColumnWidths
from tui.widgets.lists import run_look, run_row_segments, run_row_text
from tui.widgets.row_list import CURSOR, CURSOR_UNFOCUSED, fitted_strip

CLOCK = Clock(now=lambda: NOW, zone=UTC)
CONSOLE = Console(color_system="truecolor", width=200)


def runs() -> list[FlowRunInfo]:
    odd = [
        flow_run("run-x1", "a-name-far-longer-than-its-column-allows", "Crashed", "CRASHED",
                 NOW - 90_000, 7),
        flow_run("run-x2", "tab\tand\x1bescape", "Custom", "UNKNOWN", NOW - 5, None),
        flow_run("run-x3", "wide-名前", "Late", "SCHEDULED", NOW + 300, None),
        flow_run("run-x4", "no-deployment", "Running", "RUNNING", NOW - 3, None, deployment=None),
    ]  # fmt: skip
    return [*FakeDaemon.canned().runs, *odd]


@pytest.mark.parametrize("width", [12, 30, 47, 60, 118])
@pytest.mark.parametrize("cursor", [None, CURSOR, CURSOR_UNFOCUSED])
def test_a_run_row_draws_the_same_segments_as_its_text(width: int, cursor: Style | None) -> None:
    widths = ColumnWidths()
    for run in runs():
        widths.grow(run, run.flow_name or "")
    for run in runs():
        look = run_look(run, CLOCK, width, widths, run.flow_name or "")
        text = run_row_text(look)
        if cursor is not None:
            text.stylize(cursor)
        assert run_row_segments(look, CONSOLE, cursor) == list(text.render(CONSOLE))


@pytest.mark.parametrize("width", [0, 5, 30, 60])
@pytest.mark.parametrize("base", [Style(bgcolor="#1e1e1e"), Style(color="red", bold=True), Style()])
def test_a_line_is_put_on_its_background_as_textual_cuts_and_pads_it(
    width: int, base: Style
) -> None:
    for text in (Text("✔ brave-fox", style="green"), Text("wide 名前名前名前 row"), Text("")):
        text.stylize("bold", 2, 5)
        segments = list(text.render(CONSOLE))
        expected = Strip(segments).crop_extend(0, width, None).apply_style(base)
        fitted = fitted_strip(segments, width, base)
        assert list(fitted) == list(expected)
        assert fitted.cell_length == expected.cell_length == width


def test_a_run_waiting_for_its_retry_shows_and_sorts_by_when_it_is_due() -> None:
    """A retry keeps its run's expected start (when it was first due, long past); the row says
    when the retry is due, and the upcoming runs come soonest first by that time."""
    from tui.state import sort_key

    retry = flow_run("run-r1", "retried", "AwaitingRetry", "SCHEDULED", NOW - 600, None)
    retry = retry.model_copy(update={"next_scheduled_start_time": NOW + 120})
    soon = flow_run("run-r2", "soon", "Scheduled", "SCHEDULED", NOW + 30, None)
    widths = ColumnWidths()
    look = run_look(retry, CLOCK, 118, widths, "flow")
    assert "in 2m" in run_row_text(look).plain
    assert sorted([retry, soon], key=sort_key) == [soon, retry]
