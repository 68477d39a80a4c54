"""The dashboard: deployments, runs and automations on the left; the selection's detail on the right.

Workers load the lists once and then follow the daemon's pushed changes
(runs, deployments, automations, the status, events), at most one batch per
frame (`tui.feed`); handlers apply each batch to
`tui.state.Dashboard` in place (nothing is asked of the daemon again) and
repaint only the rows that changed and show. A tick once a second repaints
what the clock moves (durations, relative times) where it reads differently.
Selecting a run opens a second subscription for its task runs, edges and
logs (`tui.screens.run_views`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Iterable
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.events import DescendantFocus
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static, TabbedContent, TabPane

from orchestrate.client.address import SshAddress, StoreAddress
from orchestrate.client.protocol import METHOD_NOT_FOUND, EventInfo, Status
from orchestrate.core.errors import RemoteError
from tui import memory
from tui.client import CLIENT_ERRORS, DashboardClient, describe
from tui.commands import NAMED, Command, CommandSuggester, parse
from tui.feed import DASHBOARD_FRAME_SECONDS, dashboard_topics, pump
from tui.format import Clock
from tui.messages import (
    ActionFailed,
    ActionSucceeded,
    AutomationsChanged,
    DaemonLost,
    DashboardLoaded,
    DeploymentsChanged,
    EventsArrived,
    ListsReloaded,
    RunsChanged,
    RunsRemoved,
    StatusChanged,
)
from tui.screens.events import EventsScreen
from tui.screens.help import HelpScreen
from tui.screens.run_views import RunViews
from tui.screens.verbs import Selection
from tui.state import Dashboard, LogFilter, RunFilter
from tui.widgets.banner import Banner, store_words
from tui.widgets.event_view import EventView, event_matches
from tui.widgets.graph_view import GraphView
from tui.widgets.key_footer import KeyFooter
from tui.widgets.lists import AutomationList, DeploymentList, RunList, run_row_reads
from tui.widgets.log_view import LogView
from tui.widgets.panels import (
    HeaderLine,
    TaskDetail,
    automation_details,
    deployment_details,
    run_details,
)
from tui.widgets.prompt import Prompt, opening_key, typing_into
from tui.widgets.row_list import RowList

T = TypeVar("T")
RUNS_LOADED = 1000
UPCOMING_LOADED = 200  # scheduled runs not due yet (a daemon keeps about an hour of them)
#: Events after which the automations are asked for again: a firing, or a flows.toml edit that
#: may add, change or remove one, pushes no automation of its own.
AUTOMATION_EVENTS = ("orc.automation.", "orc.config.reloaded")
HEARTBEAT_SECONDS = 1.0  # a hello this often: a hung daemon is noticed within 6 s
#: How long a hello may take. A busy daemon answers late, not never: a worker's batch of
#: thousands of task records holds its loop (a burst of 5,000 held it 2.3 s), and the answer
#: comes behind the pushes already queued on the connection, read by this busy loop. A daemon
#: that stops closes its socket and is noticed at once; this bounds a hung one or a dead link.
HEARTBEAT_TIMEOUT = 5.0
HEADER_AFTER_ROWS = 0.05  # seconds: the rows' frame (Textual draws up to 60 a second) comes first
SELECT_DELAY = 0.12  # seconds the cursor rests on a run before its detail loads
NARROW = 70  # columns below which lists and detail show one at a time
TABS = ("graph", "timeline", "logs", "parameters", "events")
#: What Tab walks through, in this order (shift+tab backwards); the detail is its shown tab's view.
PANES = ("deployments", "runs", "automations", "detail")
#: The view that takes the keys in each detail tab.
TAB_VIEWS = {
    "graph": "graph-view",
    "timeline": "timeline-view",
    "logs": "log-view",
    "parameters": "parameters-scroll",
    "events": "event-view",
}


class MainScreen(RunViews):
    """Everything at a glance, by keyboard alone."""

    CSS_PATH = "main.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_now", "Run"),
        Binding("R", "run_with_parameters", "Run with…"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("x", "retry_run", "Retry"),
        Binding("p", "pause_resume", "Pause/resume"),
        opening_key("slash", "filter", "Filter"),
        opening_key("colon", "command", "Command"),
        Binding("e", "events", "Events"),
        Binding("z", "zoom", "Zoom"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "back", "Back", show=False),
        Binding("tab", "next_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False),
        Binding("1", "focus_list('deployments')", "Deployments", show=False),
        Binding("2", "focus_list('runs')", "Runs", show=False),
        Binding("3", "focus_list('automations')", "Automations", show=False),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "tab(1)", "Next tab", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, client: DashboardClient, clock: Clock, readonly: bool = False) -> None:
        super().__init__()
        self.client, self.clock, self.readonly = client, clock, readonly
        self.store_view = False  # reading the store through `orc store-stdio`: no daemon runs
        self._store_times = (0.0, 0.0)  # the store's last write, and when the daemon was missed
        self.dashboard = Dashboard()
        self.selection: Selection | None = None
        self.disconnected = False
        self._pending_run: Timer | None = None
        self._ticks = 0
        self._header_due = False  # a repaint of the header waits for the rows' frame to pass
        self._batch_at = -math.inf  # loop time the last batch of pushed runs was applied
        self._tick_due = False  # the clock's repaint waits for the next batch

    def compose(self) -> ComposeResult:
        yield HeaderLine(id="header")
        yield Banner(id="banner")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield DeploymentList(self.dashboard, self.clock, id="deployments")
                yield Prompt(
                    placeholder="filter runs: state:failed deployment:etl words", id="run-filter"
                )
                yield RunList(self.dashboard, self.clock, id="runs")
                yield AutomationList(self.dashboard, self.clock, id="automations")
            # Graph first, so the first tab is the one shown; `initial=` would make Textual's
            # tabs fail to mount when the app quits while they mount.
            with TabbedContent(id="detail"):
                with TabPane("Graph", id="graph"):
                    yield Prompt(placeholder="find a task by name (n: next)", id="graph-search")
                    yield GraphView(self.clock, id="graph-view")
                    yield TaskDetail(id="task-detail")
                with TabPane("Timeline", id="timeline"):
                    yield GraphView(self.clock, timeline=True, id="timeline-view")
                with TabPane("Logs", id="logs"):
                    yield Prompt(placeholder="search the logs", id="log-search")
                    yield LogView(self.clock, id="log-view")
                with TabPane("Params", id="parameters"), VerticalScroll(id="parameters-scroll"):
                    yield Static(id="parameters-text")
                with TabPane("Events", id="events"):
                    yield EventView(self.clock, self._selection_events, id="event-view")
        yield Prompt(
            placeholder=":run NAME key=value · :deploy NAME · :cancel · :retry · :logs (tab completes)",
            id="command",
            suggester=CommandSuggester(lambda: self.dashboard.deployments),
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        if not self.is_attached:  # the app quit before its panes mounted: nothing to bind
            return
        try:
            self._bind_panes()
        except NoMatches:
            if self.app.is_running:
                raise
            # the app began to shut down as this screen mounted: its panes are going already

    def _bind_panes(self) -> None:
        self.bind_run_views()
        self._header = self.query_one("#header", HeaderLine)
        self._left = self.query_one("#left", Vertical)
        self._deployment_list = self.query_one("#deployments", DeploymentList)
        self._run_list = self.query_one("#runs", RunList)
        self._automation_list = self.query_one("#automations", AutomationList)
        self._event_view = self.query_one("#event-view", EventView)
        self._tabs = self.query_one("#detail", TabbedContent)
        for row_list, title in (
            (self._deployment_list, "Deployments 1"),
            (self._run_list, "Runs 2"),
            (self._automation_list, "Automations 3"),
        ):
            row_list.set_title(title)
        self._header.show(None, 0, 0, self.clock, self.readonly)
        self._run_list.focus()
        self.set_class(self.size.width < NARROW, "-narrow")
        self.set_interval(1.0, self._second)
        self.heartbeat()
        self.follow_dashboard()
        if self.store_view:
            self._show_store_view()

    # ---- workers: they call the client and post; they never touch widgets --------

    @work(exclusive=True, group="dashboard")
    async def follow_dashboard(self) -> None:
        """Subscribe first (so nothing is missed), load the lists, then follow the changes."""
        client = self.client
        try:
            subscription = self.client.subscribe(
                dashboard_topics(getattr(self.client, "server", None))
            )
            start = getattr(subscription, "start", None)
            if start is not None:
                await start()
            status = await self.client.status()
            deployments = await self.client.deployments()
            runs = await self.client.runs(limit=RUNS_LOADED)
            # runs.list leaves out scheduled runs not due yet; `scheduled` lists the next due first
            upcoming = await self.client.runs(limit=UPCOMING_LOADED, scheduled=True)
            known = {run.id for run in runs}
            runs += [run for run in upcoming if run.id not in known]
            automations = await _optional(self.client.automations())
            events = await _optional(self.client.events(limit=200))
            self.post_message(DashboardLoaded(status, deployments, runs, automations))
            self.post_message(EventsArrived(sorted(events, key=lambda e: e.occurred)))
            await pump(subscription, self.post_message, DASHBOARD_FRAME_SECONDS)
        except CLIENT_ERRORS as error:
            self.post_message(DaemonLost(describe(error), client))
            return
        self.post_message(DaemonLost("the daemon closed the connection", client))

    @work(exclusive=True, group="heartbeat")
    async def heartbeat(self) -> None:
        """Ping the daemon (its hello, a few bytes) every second; no answer in time means it is gone.

        A daemon that dies closes its socket at once; one that hangs, or an ssh
        link that drops, says nothing, and this is how the screen finds out.
        The status is pushed when it changes, so it is never asked for here.
        One worker for the connection, not one per beat: a worker's start and
        end are messages to the screen, a tenth of an idle dashboard's CPU.
        """
        client = self.client
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                async with asyncio.timeout(HEARTBEAT_TIMEOUT):
                    await client.hello()
            except CLIENT_ERRORS as error:  # TimeoutError among them
                reason = (
                    "the daemon did not answer"
                    if isinstance(error, TimeoutError)
                    else describe(error)
                )
                self.post_message(DaemonLost(reason, client))
                return

    @work(exclusive=True, group="reload")
    async def reload_automations(self) -> None:
        """A firing pushes no automation of its own: an event says one fired, and they are asked."""
        try:
            self.post_message(ListsReloaded(None, await _optional(self.client.automations())))
        except CLIENT_ERRORS:
            return  # the heartbeat reports a lost daemon

    # ---- the connection, as the app reports it ------------------------------------------

    def connection_lost(self, reason: str) -> None:
        """Keep the last picture, say it may be stale, stop asking the old connection."""
        self.disconnected = True
        self.workers.cancel_group(self, "dashboard")
        self.workers.cancel_group(self, "heartbeat")
        self.query_one("#banner", Banner).lost(reason, self.clock.now())
        self._refresh_header()

    def reconnected(self, client: DashboardClient) -> None:
        """A new connection: the same selection, filter and tab, the data loaded afresh."""
        self.client, self.disconnected = client, False
        self.query_one("#banner", Banner).restored()
        self._refresh_header()
        self.dashboard.events.clear()
        self.follow_dashboard()
        self.heartbeat()
        if self.detail is not None:
            self.follow_run(self.detail.run.id)

    def reading_the_store(self, as_of: float, down_since: float) -> None:
        """The client is the store's read-only view: the banner says so, and since when."""
        self.store_view = True
        self._store_times = (as_of, down_since)
        if self.is_mounted:  # else on_mount shows it
            self._show_store_view()

    def _show_store_view(self) -> None:
        as_of, down_since = self._store_times
        self.query_one("#banner", Banner).store_view(self._stamp(as_of), self._stamp(down_since))
        self._refresh_header()

    def _stamp(self, moment: float) -> str:
        return self.clock.local(moment).strftime("%H:%M:%S")

    def left_the_store(self) -> None:
        self.store_view = False
        self.query_one("#banner", Banner).leave_store_view()

    # ---- handlers: apply to the dashboard, repaint what changed --------------------

    @on(DashboardLoaded)
    def _loaded(self, loaded: DashboardLoaded) -> None:
        self.dashboard.status = loaded.status
        self.dashboard.set_deployments(loaded.deployments)
        self.dashboard.set_automations(loaded.automations)
        self.dashboard.runs.replace_all(loaded.runs)
        self._show_daemon_trouble(loaded.status)
        for row_list in (self._deployment_list, self._run_list, self._automation_list):
            row_list.rows_changed()
        self._refresh_header()
        memory.freeze_long_lived()

    @on(StatusChanged)
    def _status(self, changed: StatusChanged) -> None:
        self.dashboard.status = changed.status
        self._refresh_header()
        self._show_daemon_trouble(changed.status)

    def _show_daemon_trouble(self, status: Status) -> None:
        """The status is pushed whenever the store degrades or recovers, so the banner follows it."""
        banner = self.query_one("#banner", Banner)
        banner.config_error(status.config_error)
        banner.store_trouble(store_words(status, self._stamp))

    @on(RunsChanged)
    def _runs(self, changed: RunsChanged) -> None:
        runs = self.dashboard.runs
        added, redraw = False, []
        for run in changed.runs:
            before = runs.get(run.id)
            added |= runs.upsert(run)
            if before is not None and run_row_reads(before) != run_row_reads(run):
                redraw.append(run.id)
        if added or not runs.filter.empty:
            self._run_list.rows_changed()
        elif redraw:  # states or times changed: repaint those rows, if they show
            self._run_list.runs_updated(redraw)
        self._refresh_header_after_rows()  # the running count is the runs' own
        self._batch_at = asyncio.get_running_loop().time()
        if self._tick_due:
            self._tick()
        self.subflow_runs_changed(changed.runs)
        if self.detail is not None:
            mine = [run for run in changed.runs if run.id == self.detail.run.id]
            if mine:
                self.run_changed(mine[-1])

    @on(RunsRemoved)
    def _runs_removed(self, removed: RunsRemoved) -> None:
        """Runs the daemon deleted leave every list; a shown one leaves the detail, calmly."""
        gone = set(removed.removed)
        if self.dashboard.remove_runs(gone):
            self._run_list.rows_changed()
            self._deployment_list.rows_changed()
            self._refresh_header_after_rows()
        selected = self.selection.key if self.selection is not None else None
        if self._pending_run is not None and selected in gone:
            self._pending_run.stop()  # a run the cursor rested on went before it loaded
            self._pending_run = None
        if self.detail is not None and self.detail.run.id in gone:
            run = self.detail.run
            self.clear_run()
            self.notify(removal_words(run.name, removed.removed[run.id]), timeout=6)

    @on(DeploymentsChanged)
    def _deployments(self, changed: DeploymentsChanged) -> None:
        for deployment in changed.deployments:
            if deployment.removed:  # a flows.toml edit took it away
                self.dashboard.deployments.pop(deployment.name, None)
            else:
                self.dashboard.upsert_deployment(deployment)
        self._deployment_list.rows_changed()
        self._refresh_parameters()
        self._follow_selected_deployment()

    def _follow_selected_deployment(self) -> None:
        """A selected deployment shows its newest run: a run that started since takes the detail."""
        selection = self.selection
        if selection is None or selection.kind != "deployment":
            return
        run_id = self._run_of(selection)
        if run_id is not None and (self.detail is None or self.detail.run.id != run_id):
            self.follow_run(run_id)

    @on(AutomationsChanged)
    def _automations(self, changed: AutomationsChanged) -> None:
        for automation in changed.automations:
            self.dashboard.upsert_automation(automation)
        self._automation_list.rows_changed()
        self._refresh_parameters()

    @on(EventsArrived)
    def _events(self, arrived: EventsArrived) -> None:
        names = [event.event for event in arrived.events]
        if (
            any(n.startswith(AUTOMATION_EVENTS) for n in names)
            and self.dashboard.status is not None
        ):
            self.reload_automations()
        self.dashboard.events.extend(arrived.events)
        self.events_about_runs(arrived.events)
        self._event_view.rows_changed()
        if isinstance(self.app.screen, EventsScreen):
            self.app.screen.events_arrived()

    @on(ListsReloaded)
    def _lists_reloaded(self, reloaded: ListsReloaded) -> None:
        """The lists as the daemon has them now: added, changed, removed, paused, fired."""
        if reloaded.deployments is not None:
            self.dashboard.set_deployments(reloaded.deployments)
            self._deployment_list.rows_changed()
        if reloaded.automations is not None:
            self.dashboard.set_automations(reloaded.automations)
            self._automation_list.rows_changed()
        self._refresh_parameters()

    @on(ActionSucceeded)
    def _action_done(self, done: ActionSucceeded) -> None:
        self.notify(done.summary[:1].upper() + done.summary[1:] + ".", timeout=4)

    @on(ActionFailed)
    def _action_failed(self, failed: ActionFailed) -> None:
        self.notify(f"Could not {failed.summary}: {failed.reason}", severity="error", timeout=8)

    # ---- selection -----------------------------------------------------------------

    @on(RowList.Highlighted, "#deployments, #runs, #automations")
    def _highlighted(self, highlighted: RowList.Highlighted) -> None:
        row_list = highlighted.row_list
        # The list that shows the selection follows its cursor even without the focus: a
        # filter typed in its prompt moves the cursor, and the detail must show that run.
        if highlighted.key is None or not (
            row_list.has_focus or row_list.holds_selection or self.selection is None
        ):
            return
        kind = {"deployments": "deployment", "runs": "run", "automations": "automation"}[
            row_list.id or ""
        ]
        self.select(Selection(kind, highlighted.key))  # type: ignore[arg-type]

    @on(RowList.Chosen, "#deployments, #runs, #automations")
    def _chosen(self) -> None:
        """Enter on a list moves into the detail tab that shows."""
        self._focus_detail()

    def select(self, selection: Selection) -> None:
        """Show `selection` in the detail pane (a deployment shows its latest run)."""
        if selection == self.selection:
            return
        self.selection = selection
        for row_list, kind in (
            (self._deployment_list, "deployment"),
            (self._run_list, "run"),
            (self._automation_list, "automation"),
        ):
            if row_list.holds_selection != (kind == selection.kind):
                row_list.holds_selection = kind == selection.kind
                row_list.refresh()  # one list shows where the selection is, not three
        run_id = self._run_of(selection)
        if self._pending_run is not None:
            self._pending_run.stop()
            self._pending_run = None
        if run_id is not None and (self.detail is None or self.detail.run.id != run_id):
            # Wait for the cursor to rest: moving through a list must not load every run it passes.
            self._pending_run = self.set_timer(SELECT_DELAY, lambda: self.follow_run(run_id))
        elif run_id is None and selection.kind == "deployment":
            self.clear_run()  # an automation has no run: the last run stays, named in its title
        self._refresh_parameters()
        self._event_view.rows_changed()

    def _run_of(self, selection: Selection) -> str | None:
        if selection.kind == "run":
            return selection.key
        if selection.kind == "deployment":
            deployment = self.dashboard.deployments.get(selection.key)
            if deployment is not None and deployment.recent:
                return deployment.recent[0].id
        return None

    # ---- repainting ------------------------------------------------------------------

    def _refresh_header(self, repaint: bool = True) -> None:
        running, queued = self.dashboard.running_and_queued()
        self._header.show(
            self.dashboard.status,
            running,
            queued,
            self.clock,
            self.readonly or self.store_view,
            self.disconnected or self.store_view,
            ssh_host(self.client),
            repaint,
        )

    def _refresh_header_after_rows(self) -> None:
        """The header, in the rows' frame when what changed in it lies over the lists, else a frame after.

        Textual repaints the box around everything changed in a frame. The
        counts and the uptime sit over the lists, so with the rows they cost
        that frame a few cells; a change further right (the detail pane's
        side) with a row lower down would make the box the screen's whole
        width over both lists and the detail pane, twice what the two cost
        apart: that waits a frame. A loop timer, not `call_after_refresh`:
        that can run before the rows' repaint reaches the screen, and a
        Textual timer starts a task.
        """
        self._refresh_header(repaint=False)
        edge = self._header.held_right_edge()
        if edge is None:
            return
        if edge <= self._left.region.right:
            self._header.repaint()
        elif not self._header_due:
            self._header_due = True
            asyncio.get_running_loop().call_later(HEADER_AFTER_ROWS, self._header_after_rows)

    def _header_after_rows(self, waited: int = 1) -> None:
        if not self.is_attached:
            return
        rows_waiting = self._dirty_widgets or self._run_list.repaint_pending
        if rows_waiting and waited < 10:  # a busy loop has not drawn the rows yet
            loop = asyncio.get_running_loop()
            loop.call_later(HEADER_AFTER_ROWS, self._header_after_rows, waited + 1)
            return
        self._header_due = False
        self._header.repaint()

    def _refresh_parameters(self) -> None:
        """The Parameters tab, drawn only while it shows (an update sizes it: a layout)."""
        if self._tabs.active != "parameters":
            return
        target = self.query_one("#parameters-text", Static)
        selection = self.selection
        if (
            selection is not None
            and selection.kind == "deployment"
            and selection.key in self.dashboard.deployments
        ):
            target.update(deployment_details(self.dashboard.deployments[selection.key], self.clock))
        elif (
            selection is not None
            and selection.kind == "automation"
            and selection.key in self.dashboard.automations
        ):
            target.update(automation_details(self.dashboard.automations[selection.key], self.clock))
        elif self.detail is not None:
            target.update(run_details(self.detail, self.clock, self.dask_dashboards))
        else:
            target.update("Select a deployment, a run or an automation.")

    def _second(self) -> None:
        """Once a second the clock moves the screen (`_tick`): with the daemon busy, in a batch's frame.

        A batch of pushed changes comes every `DASHBOARD_FRAME_SECONDS` then;
        the tick goes with the next one rather than a frame of its own, or on
        its own two frames later if none comes.
        """
        loop = asyncio.get_running_loop()
        if loop.time() - self._batch_at > 2 * DASHBOARD_FRAME_SECONDS:
            self._tick()
            return
        self._tick_due = True
        loop.call_later(2 * DASHBOARD_FRAME_SECONDS, self._tick_if_due)

    def _tick_if_due(self) -> None:
        if self._tick_due and self.is_attached:
            self._tick()

    def _tick(self) -> None:
        """Durations, time bars and relative times move; repaint rows that now differ."""
        self._tick_due = False
        self._ticks += 1
        every_row = self._ticks % 60 == 0  # a finished run's row changes only as the day does
        for row_list in (self._deployment_list, self._run_list, self._automation_list):
            row_list.repaint_changed(only_moving=not every_row)
        if self.detail is not None and self.detail.run.state.type == "RUNNING":
            for view in self._run_views:
                view.repaint_changed()
        self._refresh_header_after_rows()
        self.query_one("#banner", Banner).tick(self.clock.now())

    @on(TabbedContent.TabActivated, "#detail")
    def _tab_shown(self) -> None:
        self._refresh_parameters()
        self._event_view.rows_changed()

    def _selection_events(self) -> list[EventInfo]:
        words = self._selection_words()
        if words is None:
            return list(self.dashboard.events)
        return [e for e in self.dashboard.events if any(event_matches(e, w) for w in words)]

    def _selection_words(self) -> Iterable[str] | None:
        if self.selection is None:
            return None
        return [self.selection.key]

    # ---- keys --------------------------------------------------------------------------

    def action_focus_list(self, list_id: str) -> None:
        self.query_one(f"#{list_id}", RowList).focus()

    def action_next_pane(self, step: int) -> None:
        """Tab: the next pane in `PANES` order, from wherever the focus is."""
        focused = self.focused
        if isinstance(focused, Prompt):
            focused.complete()
            return
        panes = [self.query_one(f"#{pane}") for pane in PANES[:-1]] + [self._detail_view()]
        here = next(
            (
                i
                for i, pane in enumerate(panes)
                if focused is not None and focused in (pane, *pane.ancestors)
            ),
            None,
        )
        if here is None:
            here = PANES.index("detail") if self._in_detail(focused) else -1 if step > 0 else 0
        target = (here + step) % len(panes)
        if target == len(panes) - 1:
            self._focus_detail()
        else:
            panes[target].focus()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")

    def on_descendant_focus(self, focused: DescendantFocus) -> None:
        """On a narrow terminal the side the focus is on fills the screen."""
        if not hasattr(self, "_tabs"):
            return  # focus came as the screen mounts, before its panes are bound
        self.set_class(self._in_detail(focused.widget), "-zoom-detail")

    def action_zoom(self) -> None:
        """`z`: the detail alone, full width (again: the lists come back)."""
        zoomed = not self.has_class("-zoomed")
        self.set_class(zoomed, "-zoomed")
        if zoomed:
            self._focus_detail()

    def _focus_detail(self) -> None:
        self.add_class("-zoom-detail")  # shown before focused: a hidden widget takes no focus
        self._detail_view().focus()

    def _detail_view(self) -> Widget:
        return self.query_one(f"#{TAB_VIEWS[self._tabs.active]}")

    def _in_detail(self, widget: Widget | None) -> bool:
        return widget is not None and self._tabs in widget.ancestors_with_self

    def action_tab(self, step: int) -> None:
        tabs = self._tabs
        in_detail = self._in_detail(self.focused)
        tabs.active = TABS[(TABS.index(tabs.active) + step) % len(TABS)]
        if in_detail:
            self._focus_detail()

    def action_filter(self) -> None:
        """`/`: search the logs or the graph from their tab, else filter the runs."""
        typing_into(self.focused)
        focused = self.focused
        if self._tabs.active == "logs" and self._in_detail(focused):
            self.query_one("#log-search", Prompt).open(self._log_view)
            return
        if self._tabs.active == "graph" and self._in_detail(focused):
            self.query_one("#graph-search", Prompt).open(self._graph_view)
            return
        self.query_one("#run-filter", Prompt).open(self._run_list)

    def action_back(self) -> None:
        """Esc: clear the runs filter, or return to the lists (an open input closes itself)."""
        focused = self.focused
        run_filter = self.query_one("#run-filter", Prompt)
        if run_filter.value and isinstance(focused, RunList):
            run_filter.close(clear=True)
        elif self.selection is not None:
            self.action_focus_list(self.selection.kind + "s")

    def action_events(self) -> None:
        self.app.push_screen(EventsScreen(self.clock, lambda: self.dashboard.events))

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.readonly))

    @on(Input.Changed, "#run-filter")
    def _run_filter_changed(self, changed: Input.Changed) -> None:
        self.dashboard.runs.filter = RunFilter(changed.value)
        self._run_list.rows_changed()

    def action_command(self) -> None:
        """`:`: the command line, beside the palette."""
        typing_into(self.focused)
        self.query_one("#command", Prompt).open(self.focused)

    @on(Input.Submitted, "#command")
    def _command_given(self, submitted: Input.Submitted) -> None:
        prompt = self.query_one("#command", Prompt)
        prompt.close(clear=True)
        try:
            command = parse(submitted.value)
        except ValueError as error:
            self.notify(str(error), severity="error", timeout=6)
            return
        self._run_command(command)

    def _run_command(self, command: Command) -> None:
        if command.verb in NAMED and command.name not in self.dashboard.deployments:
            known = ", ".join(self.dashboard.deployments) or "none"
            self.notify(f"no deployment {command.name!r} (known: {known})", severity="error")
        elif command.verb == "run" and command.name is not None:
            self.run_deployment(command.name, command.parameters or None)
        elif command.verb == "deploy" and command.name is not None:
            self._deployment_list.focus()
            index = self._deployment_list.index_of(command.name)
            if index is not None:
                self._deployment_list.move_to(index)
        elif command.verb == "logs":
            self._tabs.active = "logs"
            self._focus_detail()
        elif command.verb == "quit":
            self.app.exit()
        else:
            verbs = {
                "cancel": self.action_cancel_run,
                "retry": self.action_retry_run,
                "pause": self.action_pause_resume,
                "help": self.action_help,
            }
            if not (self.readonly and command.verb in {"cancel", "retry", "pause"}):
                verbs[command.verb]()

    @on(Input.Submitted, "#run-filter, #log-search, #graph-search")
    def _prompt_done(self, submitted: Input.Submitted) -> None:
        """Enter leaves the input, its text still applied."""
        if isinstance(submitted.input, Prompt):
            submitted.input.close(clear=False)

    @on(Input.Changed, "#graph-search")
    def _graph_search_changed(self, changed: Input.Changed) -> None:
        self._graph_view.find(changed.value, self._graph_view.cursor)

    @on(Input.Changed, "#log-search")
    def _log_search_changed(self, changed: Input.Changed) -> None:
        view = self._log_view
        view.set_filter(LogFilter(level=view.buffer.filter.level, search=changed.value))

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) for the command palette: every verb and view."""
        commands = [
            ("Filter runs", "Show only runs matching words, state:… or deployment:…", "filter"),
            ("Events", "The live event stream", "events"),
            ("Help", "Every key", "help"),
            ("Focus deployments", "Move to the Deployments list", "focus_list('deployments')"),
            ("Focus runs", "Move to the Runs list", "focus_list('runs')"),
            ("Focus automations", "Move to the Automations list", "focus_list('automations')"),
            ("Next detail tab", "Graph, Timeline, Logs, Parameters, Events", "tab(1)"),
        ]
        if not self.readonly:
            commands = [
                ("Run now", "Run the selected deployment now", "run_now"),
                (
                    "Run with parameters",
                    "A form of the deployment's parameters",
                    "run_with_parameters",
                ),
                ("Cancel run", "Cancel the selected run (asks first)", "cancel_run"),
                ("Retry run", "Run the selected run again", "retry_run"),
                ("Pause or resume", "The selected deployment or automation", "pause_resume"),
                *commands,
            ]
        return commands


def ssh_host(client: DashboardClient) -> str | None:
    """The server a client reaches over ssh, the daemon or its store there (None for this machine)."""
    address = getattr(client, "address", None)
    if isinstance(address, StoreAddress):
        address = address.ssh
    return str(address.destination) if isinstance(address, SshAddress) else None


async def _optional(call: Awaitable[list[T]]) -> list[T]:
    """A list an older daemon may not serve (no automations yet): empty rather than an error."""
    try:
        return await call
    except RemoteError as error:
        if error.code != METHOD_NOT_FOUND:
            raise
        return []


def removal_words(name: str, reason: str) -> str:
    """What the detail pane says of its run the daemon deleted: a fact, not an error."""
    if reason == "withdrawn":
        return f"Run {name} was withdrawn: its schedule changed or its deployment left flows.toml."
    if reason == "pruned":
        return f"Run {name} was pruned from the history (orc prune or run retention)."
    return f"Run {name} is no longer in the daemon's store."
