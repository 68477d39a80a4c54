"""The dashboard: deployments, runs and automations on the left; the selection's detail on the right.

Workers load the lists once and then follow the daemon's pushed changes;
handlers apply each batch to `tui.state.Dashboard` and tell the affected
widgets to repaint (Textual folds repaints into one frame). Selecting a run
opens a second subscription for its task runs, edges and logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from orchestrate.errors import RemoteError
from orchestrate.protocol import METHOD_NOT_FOUND, EventInfo, FlowRunInfo, RunDetail
from tui.client import CLIENT_ERRORS, DashboardClient, describe
from tui.feed import DASHBOARD_TOPICS, RUN_TOPICS, pump
from tui.format import Clock
from tui.graph import RunGraph
from tui.messages import (
    ActionFailed,
    ActionSucceeded,
    AutomationsChanged,
    DaemonLost,
    DashboardLoaded,
    DeploymentsChanged,
    EventsArrived,
    LogsArrived,
    RunDetailLoaded,
    RunsChanged,
    StatusChanged,
    SubflowLoaded,
    TaskRunsChanged,
)
from tui.screens.events import EventsScreen
from tui.screens.help import HelpScreen
from tui.screens.verbs import Selection, Verbs
from tui.state import Dashboard, LogBuffer, LogFilter, RunFilter
from tui.widgets.event_view import EventView, event_matches
from tui.widgets.graph_view import GraphView
from tui.widgets.lists import AutomationList, DeploymentList, RunList
from tui.widgets.log_view import LogView
from tui.widgets.panels import (
    HeaderLine,
    automation_details,
    deployment_details,
    run_details,
    task_details,
)
from tui.widgets.row_list import RowList

T = TypeVar("T")
RUNS_LOADED = 1000
SELECT_DELAY = 0.12  # seconds the cursor rests on a run before its detail loads
LOG_LINES_LOADED = 5000
TABS = ("graph", "timeline", "logs", "parameters", "events")


class MainScreen(Verbs):
    """Everything at a glance, by keyboard alone."""

    CSS_PATH = "main.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_now", "Run"),
        Binding("R", "run_with_parameters", "Run with…"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("x", "retry_run", "Retry"),
        Binding("p", "pause_resume", "Pause/resume"),
        Binding("slash", "filter", "Filter"),
        Binding("e", "events", "Events"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "back", "Back", show=False),
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
        self.dashboard = Dashboard()
        self.selection: Selection | None = None
        self.detail: RunDetail | None = None
        self.graph: RunGraph | None = None
        self.logs = LogBuffer()
        self._task_detail_shown: object = None
        self._pending_run: Timer | None = None

    def compose(self) -> ComposeResult:
        yield HeaderLine(id="header")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield DeploymentList(self.dashboard, self.clock, id="deployments")
                yield Input(
                    placeholder="filter runs: state:failed deployment:etl words", id="run-filter"
                )
                yield RunList(self.dashboard, self.clock, id="runs")
                yield AutomationList(self.dashboard, self.clock, id="automations")
            with TabbedContent(id="detail", initial="graph"):
                with TabPane("Graph", id="graph"):
                    yield GraphView(self.clock, id="graph-view")
                    yield Static(id="task-detail")
                with TabPane("Timeline", id="timeline"):
                    yield GraphView(self.clock, timeline=True, id="timeline-view")
                with TabPane("Logs", id="logs"):
                    yield Input(placeholder="search the logs", id="log-search")
                    yield LogView(self.clock, id="log-view")
                with TabPane("Parameters", id="parameters"), VerticalScroll():
                    yield Static(id="parameters-text")
                with TabPane("Events", id="events"):
                    yield EventView(self.clock, self._selection_events, id="event-view")
        yield Footer()

    def on_mount(self) -> None:
        for widget_id, title in (
            ("deployments", "Deployments 1"),
            ("runs", "Runs 2"),
            ("automations", "Automations 3"),
        ):
            self.query_one(f"#{widget_id}").border_title = title
        self.query_one("#header", HeaderLine).show(None, 0, 0, self.clock, self.readonly)
        self.query_one("#runs", RunList).focus()
        self.set_interval(1.0, self._tick)
        self.follow_dashboard()

    # ---- workers: they call the client and post; they never touch widgets --------

    @work(exclusive=True, group="dashboard")
    async def follow_dashboard(self) -> None:
        """Subscribe first (so nothing is missed), load the lists, then follow the changes."""
        try:
            subscription = self.client.subscribe(DASHBOARD_TOPICS)
            start = getattr(subscription, "start", None)
            if start is not None:
                await start()
            status = await self.client.status()
            deployments = await self.client.deployments()
            runs = await self.client.runs(limit=RUNS_LOADED)
            automations = await _optional(self.client.automations())
            events = await _optional(self.client.events(limit=200))
            self.post_message(DashboardLoaded(status, deployments, runs, automations))
            self.post_message(EventsArrived(sorted(events, key=lambda e: e.occurred)))
            await pump(subscription, self.post_message)
        except CLIENT_ERRORS as error:
            self.post_message(DaemonLost(describe(error)))
            return
        self.post_message(DaemonLost("the daemon closed the connection"))

    @work(exclusive=True, group="run")
    async def follow_run(self, run_id: str) -> None:
        """The selected run's detail and logs, then its task runs, edges and logs as they change."""
        try:
            subscription = self.client.subscribe(RUN_TOPICS, flow_run_id=run_id)
            start = getattr(subscription, "start", None)
            if start is not None:
                await start()
            detail = await self.client.run(run_id)
            logs = await self.client.logs(run_id, limit=LOG_LINES_LOADED)
            self.post_message(RunDetailLoaded(detail, logs))
            await pump(subscription, self.post_message)
        except CLIENT_ERRORS as error:
            self.notify(f"Could not follow run {run_id[:8]}: {describe(error)}", severity="error")

    @work(group="subflow")
    async def load_subflow(self, stand_in_id: str, child_id: str) -> None:
        try:
            self.post_message(SubflowLoaded(stand_in_id, await self.client.run(child_id)))
        except CLIENT_ERRORS as error:
            self.notify(f"Could not load the subflow run: {describe(error)}", severity="error")

    # ---- handlers: apply to the dashboard, repaint what changed --------------------

    @on(DashboardLoaded)
    def _loaded(self, loaded: DashboardLoaded) -> None:
        self.dashboard.status = loaded.status
        self.dashboard.set_deployments(loaded.deployments)
        self.dashboard.set_automations(loaded.automations)
        self.dashboard.runs.replace_all(loaded.runs)
        for list_id in ("deployments", "runs", "automations"):
            self.query_one(f"#{list_id}", RowList).rows_changed()
        self._refresh_header()

    @on(StatusChanged)
    def _status(self, changed: StatusChanged) -> None:
        self.dashboard.status = changed.status
        self._refresh_header()

    @on(RunsChanged)
    def _runs(self, changed: RunsChanged) -> None:
        runs = self.dashboard.runs
        added = [runs.upsert(run) for run in changed.runs]
        run_list = self.query_one("#runs", RunList)
        if any(added) or not runs.filter.empty:
            run_list.rows_changed()
        else:  # only states changed: repaint those rows (if they show)
            for run in changed.runs:
                index = run_list.index_of(run.id)
                if index is not None:
                    run_list.refresh_line(index)
        self._refresh_header()
        if self.detail is not None:
            mine = [run for run in changed.runs if run.id == self.detail.run.id]
            if mine:
                self.detail = self.detail.model_copy(update={"run": mine[-1]})
                self._show_run_views()

    @on(DeploymentsChanged)
    def _deployments(self, changed: DeploymentsChanged) -> None:
        for deployment in changed.deployments:
            self.dashboard.upsert_deployment(deployment)
        self.query_one("#deployments", DeploymentList).rows_changed()
        self._refresh_parameters()

    @on(AutomationsChanged)
    def _automations(self, changed: AutomationsChanged) -> None:
        for automation in changed.automations:
            self.dashboard.upsert_automation(automation)
        self.query_one("#automations", AutomationList).rows_changed()
        self._refresh_parameters()

    @on(EventsArrived)
    def _events(self, arrived: EventsArrived) -> None:
        self.dashboard.events.extend(arrived.events)
        self.query_one("#event-view", EventView).rows_changed()
        if isinstance(self.app.screen, EventsScreen):
            self.app.screen.events_arrived()

    @on(RunDetailLoaded)
    def _run_loaded(self, loaded: RunDetailLoaded) -> None:
        self.detail = loaded.detail
        self.graph = RunGraph(loaded.detail.run.id)
        self.graph.load(loaded.detail.task_runs)
        log_view = self.query_one("#log-view", LogView)
        self.logs = LogBuffer(loaded.detail.run.id)
        self.logs.filter = LogFilter(
            log_view.buffer.filter.level, self.query_one("#log-search", Input).value
        )
        self.logs.extend(loaded.logs)
        log_view.task_names = {t.id: t.name for t in loaded.detail.task_runs}
        log_view.show(self.logs)
        for view_id in ("#graph-view", "#timeline-view"):
            self.query_one(view_id, GraphView).show(loaded.detail.run, self.graph)
        self._refresh_parameters()
        self._refresh_task_detail()

    @on(SubflowLoaded)
    def _subflow_loaded(self, loaded: SubflowLoaded) -> None:
        if self.graph is not None:
            self.graph.attach_child(
                loaded.stand_in_id, loaded.detail.run.id, loaded.detail.task_runs
            )
            self._show_run_views()

    @on(TaskRunsChanged)
    def _task_runs(self, changed: TaskRunsChanged) -> None:
        if self.graph is None:
            return
        names = self.query_one("#log-view", LogView).task_names
        for task_run in changed.task_runs:
            if task_run.flow_run_id == self.graph.flow_run_id or self.graph.task_run(task_run.id):
                self.graph.upsert(task_run)
                names[task_run.id] = task_run.name
        for edge in changed.edges:
            self.graph.add_edge(edge["task_run_id"], edge["upstream_id"], edge.get("kind", "data"))
        self._show_run_views()

    @on(LogsArrived)
    def _logs(self, arrived: LogsArrived) -> None:
        mine = [line for line in arrived.lines if line.flow_run_id == self.logs.flow_run_id]
        if mine and self.logs.extend(mine):
            self.query_one("#log-view", LogView).appended()
        if mine:
            self._refresh_task_detail()

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
        if highlighted.key is None or not (row_list.has_focus or self.selection is None):
            return
        kind = {"deployments": "deployment", "runs": "run", "automations": "automation"}[
            row_list.id or ""
        ]
        self.select(Selection(kind, highlighted.key))  # type: ignore[arg-type]

    @on(RowList.Chosen, "#deployments, #runs, #automations")
    def _chosen(self) -> None:
        """Enter on a list moves into the detail tab that shows."""
        active = self.query_one("#detail", TabbedContent).active
        target = {
            "graph": "#graph-view",
            "timeline": "#timeline-view",
            "logs": "#log-view",
            "events": "#event-view",
        }
        if active in target:
            self.query_one(target[active]).focus()

    def select(self, selection: Selection) -> None:
        """Show `selection` in the detail pane (a deployment shows its latest run)."""
        if selection == self.selection:
            return
        self.selection = selection
        run_id = self._run_of(selection)
        if self._pending_run is not None:
            self._pending_run.stop()
            self._pending_run = None
        if run_id is not None and (self.detail is None or self.detail.run.id != run_id):
            # Wait for the cursor to rest: moving through a list must not load every run it passes.
            self._pending_run = self.set_timer(SELECT_DELAY, lambda: self.follow_run(run_id))
        elif run_id is None:
            self._clear_run()
        self._refresh_parameters()
        self.query_one("#event-view", EventView).rows_changed()

    def _run_of(self, selection: Selection) -> str | None:
        if selection.kind == "run":
            return selection.key
        if selection.kind == "deployment":
            deployment = self.dashboard.deployments.get(selection.key)
            if deployment is not None and deployment.recent:
                return deployment.recent[0].id
        return None

    def _clear_run(self) -> None:
        self.workers.cancel_group(self, "run")
        self.detail, self.graph, self.logs = None, None, LogBuffer()
        for view_id in ("#graph-view", "#timeline-view"):
            self.query_one(view_id, GraphView).show(None, None)
        self.query_one("#log-view", LogView).show(self.logs)
        self._refresh_task_detail()

    @on(RowList.Highlighted, "#graph-view")
    def _task_highlighted(self) -> None:
        self._refresh_task_detail()

    @on(RowList.Chosen, "#graph-view")
    def _graph_row_chosen(self) -> None:
        view = self.query_one("#graph-view", GraphView)
        if self.graph is None or not view.row_count():
            return
        node = view.selected_node()
        toggled = self.graph.toggle(view.cursor)
        if toggled and node is not None and node.is_subflow and toggled in self.graph.expanded:
            self._load_child(node.task_run.id)
        self._show_run_views()

    def _load_child(self, stand_in_id: str) -> None:
        if self.graph is None or self.detail is None or self.graph.child_of(stand_in_id):
            return
        child = _child_run(self.detail.subflow_runs, stand_in_id, self.graph)
        if child is None:
            self.notify("The subflow's run is not known yet.", severity="warning")
            return
        self.load_subflow(stand_in_id, child.id)

    # ---- repainting ------------------------------------------------------------------

    def _show_run_views(self) -> None:
        for view_id in ("#graph-view", "#timeline-view"):
            view = self.query_one(view_id, GraphView)
            if self.detail is not None:
                view.run = self.detail.run
            view.rows_changed()
        self._refresh_task_detail()

    def _refresh_header(self) -> None:
        running, queued = self.dashboard.running_and_queued()
        self.query_one("#header", HeaderLine).show(
            self.dashboard.status, running, queued, self.clock, self.readonly
        )

    def _refresh_parameters(self) -> None:
        """The Parameters tab, drawn only while it shows (an update sizes it: a layout)."""
        if self.query_one("#detail", TabbedContent).active != "parameters":
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
            target.update(run_details(self.detail, self.clock))
        else:
            target.update("Select a deployment, a run or an automation.")

    def _refresh_task_detail(self) -> None:
        """The selected row's detail, redrawn only when what it shows changed (it sizes itself)."""
        node = self.query_one("#graph-view", GraphView).selected_node()
        task_id = node.task_run.id if node is not None else None
        lines = self.logs.lines[-2000:]
        logs = [line for line in lines if line.task_run_id == task_id] if task_id else []
        shown = (node.key, node.task_run, len(node.ids), len(logs)) if node else None
        if shown != self._task_detail_shown:
            self._task_detail_shown = shown
            self.query_one("#task-detail", Static).update(task_details(node, logs, self.clock))

    def _tick(self) -> None:
        """Once a second while something runs: durations and time bars grow."""
        running, _ = self.dashboard.runs.counts() if len(self.dashboard.runs) < 2000 else (1, 0)
        if self.detail is not None and self.detail.run.state.type == "RUNNING":
            for view_id in ("#graph-view", "#timeline-view"):
                self.query_one(view_id, GraphView).refresh()
        if running:
            self.query_one("#runs", RunList).refresh()
        self._refresh_header()

    @on(TabbedContent.TabActivated, "#detail")
    def _tab_shown(self) -> None:
        self._refresh_parameters()
        self.query_one("#event-view", EventView).rows_changed()

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

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#detail", TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + step) % len(TABS)]

    def action_filter(self) -> None:
        tabs = self.query_one("#detail", TabbedContent)
        focused = self.focused
        if tabs.active == "logs" and focused is not None and tabs in focused.ancestors_with_self:
            self.query_one("#log-search", Input).focus()
            return
        run_filter = self.query_one("#run-filter", Input)
        run_filter.add_class("shown")
        run_filter.focus()

    def action_back(self) -> None:
        focused = self.focused
        run_filter = self.query_one("#run-filter", Input)
        if focused is run_filter or (run_filter.value and isinstance(focused, RunList)):
            run_filter.value = ""
            run_filter.remove_class("shown")
            self.query_one("#runs", RunList).focus()
        elif focused is self.query_one("#log-search", Input):
            focused.value = ""
            self.query_one("#log-view", LogView).focus()
        elif self.selection is not None:
            self.action_focus_list(self.selection.kind + "s")

    def action_events(self) -> None:
        self.app.push_screen(EventsScreen(self.clock, lambda: self.dashboard.events))

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.readonly))

    @on(Input.Changed, "#run-filter")
    def _run_filter_changed(self, changed: Input.Changed) -> None:
        self.dashboard.runs.filter = RunFilter(changed.value)
        self.query_one("#runs", RunList).rows_changed()

    @on(Input.Submitted, "#run-filter")
    def _run_filter_done(self) -> None:
        self.query_one("#runs", RunList).focus()

    @on(Input.Changed, "#log-search")
    def _log_search_changed(self, changed: Input.Changed) -> None:
        view = self.query_one("#log-view", LogView)
        view.set_filter(LogFilter(level=view.buffer.filter.level, search=changed.value))

    @on(Input.Submitted, "#log-search")
    def _log_search_done(self) -> None:
        self.query_one("#log-view", LogView).focus()

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


async def _optional(call: Awaitable[list[T]]) -> list[T]:
    """A list an older daemon may not serve (no automations yet): empty rather than an error."""
    try:
        return await call
    except RemoteError as error:
        if error.code != METHOD_NOT_FOUND:
            raise
        return []


def _child_run(
    children: list[FlowRunInfo], stand_in_id: str, graph: RunGraph
) -> FlowRunInfo | None:
    """The subflow run behind a stand-in: by `parent_task_run_id` if the daemon sends it, else by order."""
    for child in children:
        if (child.model_extra or {}).get("parent_task_run_id") == stand_in_id:
            return child
    stand_in = graph.task_run(stand_in_id)
    if stand_in is None:
        return None
    flow_name = stand_in.task_key.removeprefix("subflow:")
    siblings = sorted(
        (t for t in graph.task_runs() if t.task_key == stand_in.task_key),
        key=lambda t: t.dynamic_key,
    )
    same_flow = sorted((c for c in children if c.flow_name == flow_name), key=lambda c: c.created)
    position = next((i for i, t in enumerate(siblings) if t.id == stand_in_id), None)
    if position is None or position >= len(same_flow):
        return None
    return same_flow[position]
