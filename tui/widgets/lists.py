"""The stacked lists on the left: deployments, runs (live, newest first) and automations."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from orchestrate.client.protocol import AutomationInfo, DeploymentInfo, FlowRunInfo
from tui.columns import Column, cell, fit, row
from tui.format import (
    TERMINAL_TYPES,
    TIMES,
    Clock,
    clock_time,
    duration,
    outcome_blocks,
    relative,
    run_duration,
    state_colour,
    state_glyph,
)
from tui.sorting import Sorting, SortKey, missing_last
from tui.state import NAME_CAP, RECENT, SECTIONS, UPCOMING, ColumnWidths, Dashboard, due_time
from tui.widgets.row_list import SortableList, fitted_strip


class NamedRowList(SortableList):
    """A list of the dashboard's items keyed by name (deployments, automations), by the sort chosen."""

    empty: str = ""
    sort_keys: tuple[SortKey[Any], ...] = (SortKey("name", lambda item: item.name),)

    def __init__(self, dashboard: Dashboard, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dashboard, self.clock = dashboard, clock
        self.sorting = Sorting(self.sort_keys)
        self._names: list[str] = []
        self.name_width = 0
        #: Per item, the words of its row that move with the clock, as last built.
        self._clock_read: dict[str, str] = {}

    def clock_words(self, item: Any) -> str:
        """The words of an item's row that the clock moves (`in 4m`, `5m ago`)."""
        return ""

    def moves_with_clock(self, index: int) -> bool:
        """Whether the clock changed the row's words since it was built: `in 4m` reads so for a minute."""
        name = self._names[index]
        item = self.items().get(name)
        return item is not None and self.clock_words(item) != self._clock_read.get(name)

    def _built(self, item: Any) -> None:
        self._clock_read[item.name] = self.clock_words(item)

    def items(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def rows_changed(self) -> None:
        items = self.items()  # kept by name: the natural order costs nothing
        self._names = (
            list(items)
            if self.sorting.natural
            else [item.name for item in self.sorting.apply(items.values())]
        )
        self.name_width = min(NAME_CAP, max((len(name) for name in self._names), default=0))
        super().rows_changed()

    def row_count(self) -> int:
        return len(self._names)

    def key_at(self, index: int) -> str | None:
        return self._names[index] if index < len(self._names) else None

    def index_of(self, key: str) -> int | None:
        return self._names.index(key) if key in self._names else None

    def empty_text(self) -> Text:
        return Text(self.empty, style="dim")


class DeploymentList(NamedRowList):
    """`● nightly-etl  ■■■▲■  in 4h  every day at 02:00 (Europe/Berlin)`."""

    empty = "no deployments in flows.toml"
    sort_keys = (
        SortKey("name", lambda d: d.name),
        SortKey("next run", lambda d: (missing_last(d.next_run_time), d.name)),
        SortKey("state", lambda d: (not d.blocked, not d.running, not d.paused, d.name)),
    )

    def items(self) -> dict[str, DeploymentInfo]:
        return self.dashboard.deployments

    def render_row(self, index: int, width: int) -> Text:
        deployment = self.dashboard.deployments[self._names[index]]
        self._built(deployment)
        return deployment_row(deployment, self.clock, width, self.name_width)

    def clock_words(self, item: Any) -> str:
        return "" if item.paused else relative(item.next_run_time, self.clock.now())


def deployment_row(deployment: DeploymentInfo, clock: Clock, width: int, name_width: int) -> Text:
    """Mark and name always; then the next run, the last outcomes and the schedules as room allows."""
    if deployment.blocked:
        mark = ("✖", "bold red")
    elif deployment.paused:
        mark = ("‖", "yellow")
    elif deployment.running:
        mark = ("⟳", "cyan")
    else:
        mark = ("●", "green")
    schedules = ", ".join(s.text for s in deployment.schedules if s.active) or "no schedule"
    columns = [
        Column("mark", 1),
        Column("name", max(8, name_width), cut=True, min_width=8),
        Column("outcomes", 5, priority=3),
        Column("next", 8, priority=4),
        Column("schedules", len(schedules), priority=2),
    ]
    widths = fit(columns, width)
    if "schedules" not in widths:  # a schedule cut to `eve` says nothing: shorten it to what fits
        spare = width - sum(widths.values()) - len(widths)
        if spare >= 12:
            widths["schedules"] = spare
    upcoming = "paused" if deployment.paused else relative(deployment.next_run_time, clock.now())
    text = row(
        columns,
        widths,
        {
            "mark": mark,
            "name": (deployment.name, ""),
            "next": (upcoming, "yellow" if deployment.paused else ""),
            "schedules": (schedules, "dim"),
        },
    )
    if "outcomes" in widths:  # coloured blocks: put in place of the blank the row left for them
        at = 2 + widths["name"] + 1
        blocks = outcome_blocks([r.state_type for r in deployment.recent])
        blocks.pad_left(5 - len(blocks))
        text = text[:at] + blocks + text[at + 5 :]
    return text


class RunList(SortableList):
    """`✔ brave-fox  nightly-etl  etl  14:02:11  12.3s`: upcoming runs first, then by start, filtered by `/`."""

    def __init__(self, dashboard: Dashboard, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dashboard, self.clock = dashboard, clock
        self.sorting = dashboard.runs.sorting

    def order_changed(self) -> None:
        self.dashboard.runs.sorting_changed()

    def row_count(self) -> int:
        return len(self.dashboard.runs.view())

    def key_at(self, index: int) -> str | None:
        view = self.dashboard.runs.view()
        return view[index] if index < len(view) and view[index] not in SECTIONS else None

    def index_of(self, key: str) -> int | None:
        return self.dashboard.runs.position(key)

    def selectable(self, index: int) -> bool:
        view = self.dashboard.runs.view()
        return index < len(view) and view[index] not in SECTIONS

    def runs_updated(self, run_ids: list[str]) -> None:
        """Runs changed in place (states, times): repaint the rows that show them, if they read differently."""
        positions = (self.index_of(run_id) for run_id in run_ids)
        self.rows_updated(index for index in positions if index is not None)

    def empty_text(self) -> Text:
        if not self.dashboard.runs.filter.empty:
            return Text("no run matches the filter (esc clears it)", style="dim")
        return Text("no runs yet: r runs the selected deployment", style="dim")

    def render_row(self, index: int, width: int) -> Text:
        look = self.row_look(index, width)
        if isinstance(look, RunLook):
            return run_row_text(look)
        assert isinstance(look, Text)
        return look

    def row_look(self, index: int, width: int) -> object:
        """A run's row as a `RunLook` (compared and its strip kept without building `Text`)."""
        runs = self.dashboard.runs
        key = runs.view()[index]
        if key == UPCOMING:
            return self._row_text_of(
                Text(f"upcoming · {runs.upcoming_count()}", style="bold yellow")
            )
        if key == RECENT:
            return self._row_text_of(Text("recent", style="bold"))
        run = runs.get(key)
        assert run is not None
        return run_look(run, self.clock, width, runs.widths, runs.flow_name(run))

    def look_strip(self, look: object, width: int, cursor: Style | None) -> Strip:
        """A run's row straight to segments: no `Text` for a row repainted as its duration ticks."""
        if isinstance(look, RunLook):
            segments = run_row_segments(look, self.app.console, cursor)
            return fitted_strip(segments, width, self._base_style())
        return super().look_strip(look, width, cursor)

    @staticmethod
    def _row_text_of(text: Text) -> Text:
        text.no_wrap, text.overflow = True, "crop"
        return text

    def moves_with_clock(self, index: int) -> bool:
        """A finished run's row reads the same from one second to the next."""
        view = self.dashboard.runs.view()
        run = self.dashboard.runs.get(view[index])
        return run is not None and run.state.type not in TERMINAL_TYPES


def run_row_reads(run: FlowRunInfo) -> tuple[object, ...]:
    """What `run_row` shows of a run: a change elsewhere (attempts, task counts) leaves the row as it is."""
    state = run.state
    return (
        run.name,
        state.name,
        state.type,
        run.deployment,
        run.flow_name,
        run.created,
        run.expected_start_time,
        run.next_scheduled_start_time,
        run.start_time,
        run.end_time,
    )


@functools.lru_cache(maxsize=64)
def run_columns(
    name: int, deployment: int, flow: int, width: int
) -> tuple[list[Column], dict[str, int]]:
    """Glyph and name always; then deployment, start, duration and flow, dropped in reverse order.

    The same for every row of a list of one width: worked out once, not per row drawn.
    """
    columns = [
        Column("glyph", 1),
        Column("name", max(8, name), cut=True, min_width=8),
        Column("deployment", deployment, priority=5),
        Column("flow", flow, priority=1),
        Column("start", 8, priority=4),
        Column("took", 6, priority=3, right=True),
    ]
    return columns, fit(columns, width)


class RunLook(tuple[tuple[int, int, int, int], tuple[tuple[str, tuple[str, str]], ...]]):
    """What a run's row shows: the column widths, then each column's (text, style).

    A tuple, so the list compares rows and keeps their strips by it; the
    `Text` is built only when a row that reads differently is drawn.
    """

    __slots__ = ()


def run_look(
    run: FlowRunInfo, clock: Clock, width: int, widths: ColumnWidths, flow_name: str
) -> RunLook:
    colour = state_colour(run.state.type)
    if run.state.type == "SCHEDULED":
        start = relative(due_time(run), clock.now())
        took = ""
    else:
        start = clock_time(run.start_time or run.expected_start_time or run.created, clock)
        took = duration(run_duration(run.start_time, run.end_time, clock.now()))
    values = (
        ("glyph", (state_glyph(run.state.name, run.state.type), colour)),
        ("name", (run.name, "")),
        ("deployment", (run.deployment or "", "dim")),
        ("flow", (flow_name, "dim")),
        ("start", (start, "dim")),
        ("took", (took, colour)),
    )
    return RunLook(((widths.name, widths.deployment, widths.flow, width), values))


def run_row_text(look: RunLook) -> Text:
    """The row a `RunLook` describes."""
    (name, deployment, flow, width), values = look
    columns, fitted = run_columns(name, deployment, flow, width)
    return row(columns, fitted, dict(values))


def run_row_segments(look: RunLook, console: Console, cursor: Style | None) -> list[Segment]:
    """The segments `run_row_text(look)` renders to (with `cursor` over it), built without `Text`.

    Rich splits a text at every span's edges and leaves unstyled stretches
    whole; so here: one segment per styled cell, the unstyled cells and the
    spaces between joined. Tests hold the two paths to the same segments.
    """
    (name, deployment, flow, width), values = look
    columns, fitted = run_columns(name, deployment, flow, width)
    cells = dict(values)
    plain_style = cursor or Style.null()
    segments: list[Segment] = []
    plain, length = "", 0
    for column in columns:
        if column.name not in fitted:
            continue
        if length:
            plain, length = plain + " ", length + 1
        value, style = cells.get(column.name, ("", ""))
        text = strip_control_codes(cell(value, fitted[column.name], column.right))
        length += len(text)
        if not style:
            plain += text
        elif text:
            if plain:
                segments.append(Segment(plain, plain_style))
                plain = ""
            styled = _style(console, style)
            segments.append(Segment(text, styled + cursor if cursor else styled))
    if plain:
        segments.append(Segment(plain, plain_style))
    return segments


@functools.lru_cache(maxsize=64)
def _style(console: Console, name: str) -> Style:
    """A style name as Rich's console reads it, looked up once."""
    return console.get_style(name, default=Style.null())


class AutomationList(NamedRowList):
    """`● cleanup-after-failure  when orc.flow-run.Failed …  fired 2h ago`."""

    empty = "no automations in flows.toml"
    sort_keys = (
        SortKey("name", lambda a: a.name),
        SortKey("last fired", lambda a: (a.last_fired is None, -(a.last_fired or 0.0), a.name)),
        SortKey("times fired", lambda a: (-a.fired_count, a.name)),
    )

    def items(self) -> dict[str, AutomationInfo]:
        return self.dashboard.automations

    def render_row(self, index: int, width: int) -> Text:
        automation = self.dashboard.automations[self._names[index]]
        self._built(automation)
        return automation_row(automation, self.clock, width, self.name_width)

    def clock_words(self, item: Any) -> str:
        return relative(item.last_fired, self.clock.now()) if item.last_fired else ""


def automation_row(automation: AutomationInfo, clock: Clock, width: int, name_width: int) -> Text:
    """Mark and name always; then how often and when it last fired (`2 times, 5m ago`), then its trigger."""
    mark = ("●", "green") if automation.enabled else ("‖", "yellow")
    if automation.fired_count or automation.last_fired:
        when = relative(automation.last_fired, clock.now()) if automation.last_fired else ""
        fired = f"{automation.fired_count}{TIMES} {when}".rstrip()
    else:
        fired = "never"
    columns = [
        Column("mark", 1),
        Column("name", max(8, name_width), cut=True, min_width=8),
        Column("fired", len(fired), priority=3),
        Column("trigger", len(automation.trigger_text), priority=2),
    ]
    widths = fit(columns, width)
    if "trigger" not in widths:
        spare = width - sum(widths.values()) - len(widths)
        if spare >= 12:
            widths["trigger"] = spare
    return row(
        columns,
        widths,
        {
            "mark": mark,
            "name": (automation.name, ""),
            "fired": (fired, "dim"),
            "trigger": (automation.trigger_text, "dim"),
        },
    )
