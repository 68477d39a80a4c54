"""The selected run on the right: its graph, timeline and logs, followed live, with its subflows.

Selecting a run opens a subscription to its task runs, edges and logs. Each
batch is applied to the run's `RunGraph`, and the views repaint only the rows
it names (rows that changed, or were added and show). Expanding a subflow's
stand-in row nests the child run's rows under it and follows the child run
by a subscription of its own, so its tasks appear and change while it runs;
the child is found by its `parent_task_run_id` (or, from an older daemon, by
its order among the parent's subflow runs).
"""

from __future__ import annotations

from textual import on, work
from textual.widgets import Input

from orchestrate.client.protocol import EventInfo, FlowRunInfo, RunDetail
from orchestrate.core.errors import NotFound
from tui.client import CLIENT_ERRORS, describe
from tui.dask_links import DASHBOARD_EVENT, dashboard_links, resource_of
from tui.feed import RUN_TOPICS, pump
from tui.format import Clock
from tui.graph import RunGraph
from tui.messages import LogsArrived, RunDetailLoaded, SubflowLoaded, TaskRunsChanged
from tui.screens.task_logs import TaskLogsScreen
from tui.screens.verbs import Verbs
from tui.state import LogBuffer, LogFilter
from tui.widgets.graph_view import GraphView
from tui.widgets.log_view import LogView
from tui.widgets.panels import TaskDetail, run_title, task_details
from tui.widgets.row_list import RowList

LOG_LINES_LOADED = 5000
SUBFLOW_TOPICS = ["task_run", "edge"]


class RunViews(Verbs):
    """The part of the main screen that shows and follows one run (widgets made by `compose`)."""

    clock: Clock

    def __init__(self) -> None:
        super().__init__()
        self.detail: RunDetail | None = None
        self.dask_dashboards: tuple[str, ...] = ()  # of the run shown
        self.graph: RunGraph | None = None
        self.logs = LogBuffer()
        self._task_detail_shown: object = None
        self._subflow_runs: dict[str, FlowRunInfo] = {}  # stand-in task run id -> child run
        self._followed: set[str] = set()  # child runs followed live

    def bind_run_views(self) -> None:
        """Find the views this part drives (call once mounted)."""
        self._graph_view = self.query_one("#graph-view", GraphView)
        self._run_views = (self._graph_view, self.query_one("#timeline-view", GraphView))
        self._log_view = self.query_one("#log-view", LogView)
        self._task_detail = self.query_one("#task-detail", TaskDetail)
        self._graph_view.follower = self._task_highlighted

    # ---- workers ---------------------------------------------------------------------

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
            events = await self.client.events(DASHBOARD_EVENT, resource_of(run_id), limit=20)
            self.post_message(RunDetailLoaded(detail, logs, dashboard_links(events, run_id)))
            await pump(subscription, self.post_message)
        except NotFound:  # deleted before it loaded (its removal may still be on its way)
            self.notify(f"Run {run_id[:8]} is no longer in the daemon's store.", timeout=6)
        except CLIENT_ERRORS as error:
            self.notify(f"Could not follow run {run_id[:8]}: {describe(error)}", severity="error")

    @work(group="subflows")
    async def follow_subflow(self, stand_in_id: str, child_id: str) -> None:
        """A subflow's child run, nested under its stand-in row, then its task runs as they change."""
        try:
            subscription = self.client.subscribe(SUBFLOW_TOPICS, flow_run_id=child_id)  # type: ignore[arg-type]
            start = getattr(subscription, "start", None)
            if start is not None:
                await start()
            self.post_message(SubflowLoaded(stand_in_id, await self.client.run(child_id)))
            await pump(subscription, self.post_message)
        except CLIENT_ERRORS as error:
            self.notify(f"Could not load the subflow run: {describe(error)}", severity="error")

    # ---- handlers ----------------------------------------------------------------------

    @on(RunDetailLoaded)
    def _run_loaded(self, loaded: RunDetailLoaded) -> None:
        self._stop_subflows()
        self.detail = loaded.detail
        self.dask_dashboards = loaded.dask_dashboards
        self.graph = RunGraph(loaded.detail.run.id)
        self.graph.load(loaded.detail.task_runs)
        self.logs = LogBuffer(loaded.detail.run.id)
        self.logs.filter = LogFilter(
            self._log_view.buffer.filter.level, self.query_one("#log-search", Input).value
        )
        self.logs.extend(loaded.logs)
        self._log_view.task_names = {t.id: t.name for t in loaded.detail.task_runs}
        self._log_view.file_stem = f"orc-{loaded.detail.run.name}"
        self._log_view.show(self.logs)
        for view in self._run_views:
            view.show(loaded.detail.run, self.graph)
        self._title_detail()
        self.subflow_runs_changed(loaded.detail.subflow_runs)
        self._refresh_parameters()
        self._refresh_task_detail()

    @on(SubflowLoaded)
    def _subflow_loaded(self, loaded: SubflowLoaded) -> None:
        if self.graph is None or self.graph.task_run(loaded.stand_in_id) is None:
            return  # a subflow of a run no longer shown
        self.graph.attach_child(loaded.stand_in_id, loaded.detail.run.id, loaded.detail.task_runs)
        self.subflow_runs_changed(loaded.detail.subflow_runs)
        self._graph_changed()

    @on(TaskRunsChanged)
    def _task_runs(self, changed: TaskRunsChanged) -> None:
        if self.graph is None:
            return
        names = self._log_view.task_names
        for task_run in changed.task_runs:
            if self.graph.knows_run(task_run.flow_run_id):
                self.graph.upsert(task_run)
                names[task_run.id] = task_run.name
        for edge in changed.edges:
            self.graph.add_edge(edge["task_run_id"], edge["upstream_id"], edge.get("kind", "data"))
        self._graph_changed()

    @on(LogsArrived)
    def _logs(self, arrived: LogsArrived) -> None:
        mine = [line for line in arrived.lines if line.flow_run_id == self.logs.flow_run_id]
        if mine and self.logs.extend(mine):
            self._log_view.appended()
        if mine and isinstance(self.app.screen, TaskLogsScreen):
            self.app.screen.lines_arrived(mine)
        if mine:
            self._refresh_task_detail()

    def _task_highlighted(self, _key: str | None) -> None:
        """The graph's cursor moved: the detail under it follows in the same frame.

        Called by the graph itself, not through its `Highlighted` message: the
        message reaches the screen after the graph's repaint was sent, and the
        detail then cost a second frame, half the CPU of a page down.
        """
        self._refresh_task_detail()

    @on(GraphView.Expanded)
    def _graph_expanded(self) -> None:
        self._graph_changed()

    @on(GraphView.LogsWanted)
    def _task_logs_wanted(self, wanted: GraphView.LogsWanted) -> None:
        """A task's logs in the log viewer, full screen (a group's: its first failure's, else first)."""
        node = wanted.node
        failure = node.summary().first_failure if node.grouped or node.header else None
        task_run = failure or node.task_run
        self.app.push_screen(TaskLogsScreen(task_run, self.logs.of_task(task_run.id), self.clock))

    @on(RowList.Chosen, "#graph-view")
    def _graph_row_chosen(self) -> None:
        view = self._graph_view
        if self.graph is None or not view.row_count():
            return
        node = view.selected_node()
        if node is not None and not node.expandable:  # a task run: enter opens its logs
            self._task_logs_wanted(GraphView.LogsWanted(view, node))
            return
        toggled = self.graph.toggle(view.cursor)
        if toggled and node is not None and node.is_subflow and toggled in self.graph.expanded:
            self._follow_child(node.task_run.id, notify=True)
        self._graph_changed()

    # ---- the run as it changes -----------------------------------------------------------

    def events_about_runs(self, events: list[EventInfo]) -> None:
        """Events that arrived live: a Dask dashboard the shown run connected to shows at once."""
        if self.detail is None:
            return
        links = dashboard_links(events, self.detail.run.id)
        if links:
            self.dask_dashboards = tuple(dict.fromkeys((*self.dask_dashboards, *links)))
            self._refresh_parameters()

    def run_changed(self, run: FlowRunInfo) -> None:
        """The shown run's own state or times changed: its bars may scale anew."""
        if self.detail is None:
            return
        self.detail = self.detail.model_copy(update={"run": run})
        for view in self._run_views:
            view.run = run
            view.repaint_changed()
        self._title_detail()
        self._refresh_parameters()

    def subflow_runs_changed(self, runs: list[FlowRunInfo]) -> None:
        """Note the subflow runs of the shown run (and of its subflows); follow those expanded."""
        if self.graph is None:
            return
        for run in runs:
            stand_in = run.parent_task_run_id
            if stand_in is None or run.parent_flow_run_id is None:
                continue
            if not self.graph.knows_run(run.parent_flow_run_id):
                continue
            self._subflow_runs[stand_in] = run
            if stand_in in self.graph.expanded:
                self._follow_child(stand_in)

    def _follow_child(self, stand_in_id: str, notify: bool = False) -> None:
        if self.graph is None or self.detail is None:
            return
        child = self._subflow_runs.get(stand_in_id) or _child_by_order(
            self.detail.subflow_runs, stand_in_id, self.graph
        )
        if child is None:
            if notify:
                self.notify(
                    "The subflow's run has not started yet; its tasks show here when it does."
                )
            return
        if child.id not in self._followed:
            self._followed.add(child.id)
            self.follow_subflow(stand_in_id, child.id)

    def _stop_subflows(self) -> None:
        self.workers.cancel_group(self, "subflows")
        self._subflow_runs, self._followed = {}, set()

    def clear_run(self) -> None:
        """Nothing selected that has a run: empty views, no subscriptions."""
        self.workers.cancel_group(self, "run")
        self._stop_subflows()
        self.detail, self.graph, self.logs = None, None, LogBuffer()
        self.dask_dashboards = ()
        for view in self._run_views:
            view.show(None, None)
        self._log_view.show(self.logs)
        self._title_detail()
        self._refresh_task_detail()

    # ---- repainting ------------------------------------------------------------------

    def _graph_changed(self) -> None:
        if self.graph is None:
            return
        changes = self.graph.take_changes()
        for view in self._run_views:
            view.graph_changed(changes)
        self._refresh_task_detail()

    def _title_detail(self) -> None:
        """The detail pane names the run it shows (which may not be the selected row's)."""
        detail = self.query_one("#detail")
        title = run_title(self.detail.run if self.detail else None)
        if (
            detail.border_title != title
        ):  # a new title repaints the whole pane: only when it reads anew
            detail.border_title = title

    def _refresh_task_detail(self) -> None:
        """The selected row's detail, redrawn only when what it shows changed."""
        node = self._graph_view.selected_node()
        task_id = node.task_run.id if node is not None else None
        logs = self.logs.of_task(task_id) if task_id else []
        shown: object = None
        if node is not None:
            summary = node.summary() if node.grouped or node.header else None
            shown = (node.key, node.task_run, len(node.ids), summary, len(logs))
        if shown != self._task_detail_shown:
            self._task_detail_shown = shown
            self._task_detail.show(task_details(node, logs, self.clock))

    def _refresh_parameters(self) -> None:
        """The Parameters tab (the main screen draws it)."""


def _child_by_order(
    children: list[FlowRunInfo], stand_in_id: str, graph: RunGraph
) -> FlowRunInfo | None:
    """The subflow run behind a stand-in, from a daemon that does not send `parent_task_run_id`.

    The n-th stand-in of a subflow (by dynamic key) is the n-th run of that
    flow (by creation).
    """
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
