"""A flow run's task runs as graph rows: one row per task, mapped tasks collapsed, subflows nested.

Task runs of the same task called from the same place share one row with
counts until the row is expanded. Runs carry no call site, so the place is
read from the graph itself (`tui.calls`): a chain (runs of the task feeding
each other, a loop `x = t(x)`) is one call; other runs are grouped by the
tasks they depend on (a `.map()` over one producer's outputs is one call).
250 mapped and 30 chained calls of one task are two rows. A subflow's
stand-in task run shows its child run's rows under it when expanded. Rows are
laid out by `tui.lanes` in the order tasks were created, which is an order
where every upstream comes first. A task run that arrives while the run
executes appends a row (cheap); anything that would change earlier rows (an
edge added to a placed row, a member of an expanded group, a task of an
expanded subflow, a run pushed after a later one, a task's second call that
labels its first, an expanded subflow called again) marks the layout stale,
and it is rebuilt once on the next read, however many changes came: the rows
are always those a fresh load of the same task runs lays out. An expanded
subflow called again turns its row into the calls' group, opened so the
subflow stays in view. `take_changes` tells the views which rows to repaint
since they last asked.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from orchestrate.client.protocol import EdgeInfo, TaskRunInfo
from tui.calls import CallSites
from tui.lanes import LaneLayout, LaneRow

_STRENGTH = {"wait_for": 1, "parent": 2, "data": 3}
_FIRST = (-math.inf, 0)
_NUMBERED = re.compile(r"-\d+$")


_SHOWN_FIRST = {"FAILED": 0, "CRASHED": 1, "RUNNING": 2, "PENDING": 3, "SCHEDULED": 4}
_FAILED = frozenset({"FAILED", "CRASHED"})


@dataclass(frozen=True, slots=True)
class NodeSummary:
    """A row's members at a glance, computed in one pass (a mapped task may have thousands)."""

    counts: dict[str, int]  # by state name, e.g. {"Completed": 180, "Running": 12}
    start: float | None  # when the first member started
    end: float | None  # when the last one ended (None while one still runs)
    state: tuple[str, str]  # (name, type) the row shows: failed if any failed, else running, ...
    first_failure: TaskRunInfo | None


def _summarise(members: list[TaskRunInfo]) -> NodeSummary:
    counts: dict[str, int] = {}
    start: float | None = None
    end: float | None = None
    still_running = not members
    shown, rank = members[0].state if members else None, len(_SHOWN_FIRST)
    first_failure: TaskRunInfo | None = None
    for member in members:
        state = member.state
        counts[state.name] = counts.get(state.name, 0) + 1
        if member.start_time is not None and (start is None or member.start_time < start):
            start = member.start_time
        if member.end_time is None:
            still_running = True
        elif end is None or member.end_time > end:
            end = member.end_time
        if _SHOWN_FIRST.get(state.type, rank) < rank:
            shown, rank = state, _SHOWN_FIRST[state.type]
        if first_failure is None and state.type in _FAILED:
            first_failure = member
    name_type = (shown.name, shown.type) if shown is not None else ("", "")
    return NodeSummary(counts, start, None if still_running else end, name_type, first_failure)


@dataclass(eq=False)
class GraphNode:
    """What one row shows: a task run, a collapsed group of them, or a group's header."""

    key: str
    flow_run_id: str
    depth: int
    ids: list[str]
    source: dict[str, TaskRunInfo]  # the graph's task runs by id, shared, always current
    grouped: bool = False  # a collapsed group: one row stands for every member
    header: bool = False  # an expanded group's own row: counts, no edges
    expandable: bool = False
    expanded: bool = False
    parent_key: str | None = None  # the subflow stand-in this row is nested under
    call: str = ""  # how this group was called, when the task has more than one row
    upstream: dict[str, str] = field(default_factory=dict)  # producer key -> edge kind
    _summary: NodeSummary | None = field(default=None, repr=False)

    @property
    def members(self) -> list[TaskRunInfo]:
        return [self.source[i] for i in self.ids]

    @property
    def task_run(self) -> TaskRunInfo:
        return self.source[self.ids[0]]

    @property
    def name(self) -> str:
        if self.grouped or self.header:
            return _NUMBERED.sub("", self.task_run.name)
        return self.task_run.name

    @property
    def is_subflow(self) -> bool:
        return self.task_run.kind == "subflow"

    def summary(self) -> NodeSummary:
        """Counts, span and shown state, kept until a member changes (the graph says so)."""
        if self._summary is None:
            self._summary = _summarise(self.members)
        return self._summary

    def changed(self) -> None:
        self._summary = None

    def counts(self) -> dict[str, int]:
        """Members by state name, e.g. {"Completed": 180, "Running": 12}."""
        return dict(self.summary().counts)

    def span(self) -> tuple[float | None, float | None]:
        """When the first member started and the last one ended (None while one still runs)."""
        summary = self.summary()
        return summary.start, summary.end


@dataclass(slots=True)
class GraphRow:
    node: GraphNode
    lanes: LaneRow


@dataclass(slots=True)
class GraphChanges:
    """Rows to repaint: every one (a rebuild, wider lanes), or those named (changed or added)."""

    everything: bool = False
    rows: set[int] = field(default_factory=set)


class RunGraph:
    """The task runs of one flow run (and of expanded subflows) and their rows."""

    def __init__(self, flow_run_id: str) -> None:
        self.flow_run_id = flow_run_id
        self.expanded: set[str] = set()
        self._task_runs: dict[str, TaskRunInfo] = {}
        self._calls = CallSites()  # run -> call key -> ids, and each task run's call
        self._calls.add_run(flow_run_id)
        self._children: dict[str, str] = {}  # stand-in task run id -> child flow run id
        self._layout = LaneLayout()
        self._nodes: list[GraphNode] = []
        self._row_of: dict[str, int] = {}
        self._key_of: dict[str, str] = {}  # task run id -> key of the row it shows in
        self._pending: list[GraphNode] = []
        self._reach: list[int] = []  # per row: the last row whose lanes run up into it (or above)
        self._stale = True
        self._shown_runs: set[str] = set()  # flow runs whose rows show (the run, expanded subflows)
        self._changes = GraphChanges(everything=True)
        self._width_drawn = 0
        self._newest_call = _FIRST  # (created, dynamic key) of the run's newest call's first run

    # ---- reading ---------------------------------------------------------

    def rows(self) -> list[GraphRow]:
        """Every row, laid out (placing new rows, or rebuilding if something earlier changed)."""
        self._settle()
        self._place_through(len(self._nodes) - 1)
        return [
            GraphRow(node, lanes)
            for node, lanes in zip(self._nodes, self._layout.rows, strict=True)
        ]

    def __len__(self) -> int:
        self._settle()
        return len(self._nodes)

    def row(self, index: int) -> GraphRow:
        self._settle()
        self._place_through(index)
        return GraphRow(self._nodes[index], self._layout.rows[index])

    def lay_out_through(self, index: int) -> None:
        """Place the rows a view is about to draw (up to `index`), so they share one lane width."""
        self._settle()
        self._place_through(min(index, len(self._nodes) - 1))

    @property
    def lane_width(self) -> int:
        """Lane columns of the rows placed so far (rows are placed as far as they are read)."""
        self._settle()
        return self._layout.width

    def index_of(self, key: str) -> int | None:
        """The row showing the node with `key`, if it shows."""
        self._settle()
        return self._row_of.get(key)

    def row_of_task_run(self, task_run_id: str) -> int | None:
        self._settle()
        key = self._key_of.get(task_run_id)
        return None if key is None else self._row_of.get(key)

    def task_run(self, task_run_id: str) -> TaskRunInfo | None:
        return self._task_runs.get(task_run_id)

    def task_runs(self) -> list[TaskRunInfo]:
        return list(self._task_runs.values())

    def knows_run(self, flow_run_id: str) -> bool:
        """Whether task runs of `flow_run_id` belong here: the run itself, or an attached subflow run."""
        return self._calls.has_run(flow_run_id)

    def take_changes(self) -> GraphChanges:
        """What to repaint since the last call (the layout settled first)."""
        self._settle()
        changes, self._changes = self._changes, GraphChanges()
        changes.rows |= self._layout.touched
        self._layout.touched = set()
        if self._layout.width != self._width_drawn:
            self._width_drawn = self._layout.width
            changes.everything = True
        return changes

    # ---- changes ---------------------------------------------------------

    def load(self, task_runs: list[TaskRunInfo]) -> None:
        """Take a run's task runs (as `runs.get` returns them) and lay everything out afresh."""
        for task_run in sorted(task_runs, key=_order):
            self._remember(task_run)
        self._stale = True

    def upsert(self, task_run: TaskRunInfo) -> int | None:
        """Take a new or changed task run; returns the row to repaint, if only one changed.

        A snapshot older than the one held (a notification sent before the
        run was loaded, read after it) is ignored.
        """
        known = self._task_runs.get(task_run.id)
        if known is not None:
            if task_run.state.timestamp < known.state.timestamp:
                return None
            if not task_run.upstream:
                task_run = task_run.model_copy(update={"upstream": known.upstream})
            self._replace(task_run)
            if task_run.upstream != known.upstream and self._calls.recall(
                task_run, self._task_runs
            ):
                self._stale = True
                return None
            return self._mark_rows_of(task_run)
        first = self._remember(task_run)
        if self._stale:
            return None
        if task_run.flow_run_id != self.flow_run_id:  # a task of a subflow: a rebuild if it shows
            self._stale = task_run.flow_run_id in self._shown_runs
        elif first:
            self._append(task_run)
        else:
            self._join_group(task_run)
        return None

    def _mark_rows_of(self, task_run: TaskRunInfo) -> int | None:
        """Note the rows that show a changed task run: its own, and an expanded group's header."""
        key = self._key_of.get(task_run.id, "")
        row = self._row_of.get(key)
        header = self._row_of.get(_group_key(task_run.flow_run_id, self._calls.key_of(task_run.id)))
        for index in {row, header}:
            if index is not None:
                self._changes.rows.add(index)
                self._nodes[index].changed()
        for node in self._pending:
            if node.key == key:
                node.changed()
        return row

    def add_edge(self, task_run_id: str, upstream_id: str, kind: str) -> None:
        """Record that `task_run_id` depends on `upstream_id` (an `edge` notification)."""
        task_run = self._task_runs.get(task_run_id)
        if task_run is None or any(e.upstream_id == upstream_id for e in task_run.upstream):
            return
        edge = EdgeInfo(upstream_id=upstream_id, kind=kind)  # type: ignore[arg-type]
        task_run = task_run.model_copy(update={"upstream": [*task_run.upstream, edge]})
        self._replace(task_run)
        if self._calls.recall(task_run, self._task_runs):
            self._stale = True
            return
        pending = next((n for n in self._pending if n.key == self._key_of.get(task_run_id)), None)
        if pending is None:
            self._stale = True

    def attach_child(
        self, stand_in_id: str, child_flow_run_id: str, task_runs: list[TaskRunInfo]
    ) -> None:
        """The child flow run behind a subflow stand-in, with its task runs, for nesting."""
        self._children[stand_in_id] = child_flow_run_id
        self._calls.add_run(child_flow_run_id)
        for task_run in sorted(task_runs, key=_order):
            if task_run.id not in self._task_runs:
                self._remember(task_run)
        self._stale = True

    def toggle(self, row: int) -> str | None:
        """Expand or collapse the row's group or subflow; returns the key toggled, if any."""
        node = self.row(row).node
        if not node.expandable:
            return None
        key = node.key if (node.grouped or node.header) else node.task_run.id
        self.expanded.symmetric_difference_update({key})
        self._stale = True
        return key

    # ---- internals -------------------------------------------------------

    def _remember(self, task_run: TaskRunInfo) -> bool:
        """Store a new task run; True if it is the first of its call in its flow run.

        A run that turns an earlier one into a chain's head moves that one to
        the chain's row: the layout is rebuilt.
        """
        self._task_runs[task_run.id] = task_run
        first, moved = self._calls.add(task_run, self._task_runs)
        if moved:
            self._stale = True
        return first

    def _replace(self, task_run: TaskRunInfo) -> None:
        self._task_runs[task_run.id] = task_run

    def _append(self, task_run: TaskRunInfo) -> None:
        """A new call's row, last; a rebuild if it goes before the newest call or labels another."""
        order = _order(task_run)
        if order < self._newest_call or self._calls.count(self.flow_run_id, task_run.task_key) > 1:
            self._stale = True
            return
        node = self._group_node(task_run.flow_run_id, self._calls.key_of(task_run.id), 0, None)
        self._key_of[task_run.id] = node.key
        self._pending.append(node)
        self._newest_call = order

    def _join_group(self, task_run: TaskRunInfo) -> None:
        key = _group_key(task_run.flow_run_id, self._calls.key_of(task_run.id))
        row = self._row_of.get(key)
        node = (
            self._nodes[row]
            if row is not None
            else next((n for n in self._pending if n.key == key), None)
        )
        if node is None or node.header or _order(task_run) < _order(node.task_run):
            self._stale = True
            return
        if node.expanded:  # an open subflow called again: the calls' group opens, the rows
            self.expanded.add(key)  # under it stay in view (rows move: a rebuild)
            self._stale = True
            return
        bisect.insort(node.ids, task_run.id, key=lambda i: _order(self._task_runs[i]))
        node.changed()
        node.grouped = node.expandable = True
        self._key_of[task_run.id] = key
        if row is not None:
            self._changes.rows.add(row)
            if self._adds_producer(node, task_run):
                self._stale = True

    def _adds_producer(self, node: GraphNode, task_run: TaskRunInfo) -> bool:
        """Whether a new member depends on a row the group's row is not yet linked to."""
        for edge in task_run.upstream:
            producer = self._key_of.get(edge.upstream_id)
            if producer is not None and producer != node.key and producer not in node.upstream:
                return True
        return False

    def _settle(self) -> None:
        if self._stale:
            self._rebuild()
        elif self._pending:
            pending, self._pending = self._pending, []
            for node in pending:
                self._add_row(node)

    def _rebuild(self) -> None:
        """Rows and their upstream anew; lanes are placed later, as far as rows are read.

        Opening a run of 5,000 tasks places the lanes of the first screen and
        of the rows that reach back into it, not all of them.
        """
        self._layout = LaneLayout()
        self._pending = []
        self._shown_runs = {self.flow_run_id}
        self._nodes = list(self._walk(self.flow_run_id, 0, None))
        self._newest_call = max(
            (_order(node.task_run) for node in self._nodes if node.depth == 0), default=_FIRST
        )
        self._row_of = {node.key: index for index, node in enumerate(self._nodes)}
        self._key_of = {i: n.key for n in self._nodes if not n.header for i in n.ids}
        self._reach = []
        for index, node in enumerate(self._nodes):
            node.upstream = {} if node.header else self._upstream_of(node)
            self._reach.append(index)
            self._reaches_back(index, node)
        for index in range(1, len(self._reach)):
            self._reach[index] = max(self._reach[index], self._reach[index - 1])
        self._stale = False
        self._changes = GraphChanges(everything=True)

    def _reaches_back(self, index: int, node: GraphNode) -> int:
        """Note that rows from the node's first producer down must wait for it; returns that row."""
        first = min(
            (row for key in node.upstream if (row := self._row_of.get(key, index)) < index),
            default=index,
        )
        self._reach[first] = max(self._reach[first], index)
        return first

    def _place_through(self, index: int) -> None:
        """Place rows up to `index` and every later row whose lanes run up into them."""
        target = self._reach[index] if 0 <= index < len(self._reach) else index
        for row in range(len(self._layout.rows), target + 1):
            node = self._nodes[row]
            upstream = [(self._row_of[k], kind) for k, kind in node.upstream.items()]
            self._layout.place(upstream)

    def _add_row(self, node: GraphNode) -> None:
        """A row appended live: placed now if its lanes reach rows already placed."""
        index = len(self._nodes)
        node.upstream = {} if node.header else self._upstream_of(node)
        self._nodes.append(node)
        self._row_of[node.key] = index
        self._reach.append(self._reach[-1] if self._reach else index)
        first = self._reaches_back(index, node)
        for row in range(first, index + 1):
            self._reach[row] = max(self._reach[row], index)
        if first < len(self._layout.rows) or len(self._layout.rows) == index:
            self._place_through(index)

    def _upstream_of(self, node: GraphNode) -> dict[str, str]:
        found: dict[str, str] = {}
        for member in node.members:
            for edge in member.upstream:
                key = self._key_of.get(edge.upstream_id)
                if (
                    key
                    and key != node.key
                    and _STRENGTH[edge.kind] > _STRENGTH.get(found.get(key, ""), 0)
                ):
                    found[key] = edge.kind
        if node.parent_key and not found:
            found[node.parent_key] = "parent"
        return found

    def _walk(self, flow_run_id: str, depth: int, parent: str | None) -> Iterator[GraphNode]:
        """Rows in order: each task (or group) of the run, with what is expanded under it."""
        for call_key in self._calls.in_order(flow_run_id, self._task_runs):
            group = self._group_node(flow_run_id, call_key, depth, parent)
            if not (group.grouped and group.key in self.expanded):
                yield group
                if not group.grouped:
                    yield from self._nested(group, depth)
                continue
            group.grouped, group.header, group.expanded = False, True, True
            yield group
            for member in group.members:
                node = GraphNode(
                    member.id,
                    flow_run_id,
                    depth + 1,
                    [member.id],
                    self._task_runs,
                    parent_key=parent,
                )
                node.expandable = member.kind == "subflow"
                yield node
                yield from self._nested(node, depth + 1)

    def _nested(self, node: GraphNode, depth: int) -> Iterator[GraphNode]:
        stand_in = node.task_run.id
        child = self._children.get(stand_in)
        node.expanded = stand_in in self.expanded
        if node.is_subflow and node.expanded and child is not None:
            self._shown_runs.add(child)
            yield from self._walk(child, depth + 1, node.key)

    def _group_node(
        self, flow_run_id: str, call_key: str, depth: int, parent: str | None
    ) -> GraphNode:
        runs = self._task_runs
        ids = sorted(self._calls.ids(flow_run_id, call_key), key=lambda i: _order(runs[i]))
        node = GraphNode(
            _group_key(flow_run_id, call_key),
            flow_run_id,
            depth,
            ids,
            self._task_runs,
            parent_key=parent,
            call=self._calls.label(flow_run_id, call_key, self._task_runs),
        )
        node.grouped = len(ids) > 1
        node.expandable = node.grouped or node.is_subflow
        return node


def _group_key(flow_run_id: str, call_key: str) -> str:
    return f"{flow_run_id}:{call_key}"


def _order(task_run: TaskRunInfo) -> tuple[float, int]:
    """Where a task run goes among its call's (and a call among the run's): by creation."""
    return task_run.created, task_run.dynamic_key
