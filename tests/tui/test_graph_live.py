"""A run's graph kept up live reads as a fresh load of the same run would, at every point.

The dashboard loads a run's graph once (`RunGraph.load`) and then applies
what the daemon pushes as the run goes on: new task runs (with no upstream
of their own), their edges, later states, a subflow's child run once it is
followed. However those arrive, the rows must be the ones a fresh load of
the same task runs draws, with the same rows open: a property checked over
generated runs (Hypothesis), and on the histories that once told them apart.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrate.client.protocol import EdgeInfo, StateInfo, TaskRunInfo
from tui.graph import RunGraph

ROOT = "R"
LONG = os.environ.get("ORC_PROPERTY_LONG") == "1"
EXAMPLES = 3_000 if LONG else 300


def picture(graph: RunGraph) -> list[tuple[Any, ...]]:
    """What every row shows, its lanes included; row keys are given as row numbers.

    A graph names a task's calls in the order it meets them, so a live one
    and a fresh one may name the same row differently; what they draw is the
    same.
    """
    rows = graph.rows()
    width = graph.lane_width
    number = {row.node.key: index for index, row in enumerate(rows)}
    return [
        (
            node.name,
            node.depth,
            tuple(node.ids),
            tuple(member.state.name for member in node.members),
            number.get(node.parent_key) if node.parent_key else None,
            (node.grouped, node.header, node.expandable, node.expanded),
            node.call,
            sorted((number[key], kind) for key, kind in node.upstream.items()),
            row.lanes.text(width),
        )
        for node, row in ((row.node, row) for row in rows)
    ]


def loaded_like(
    live: RunGraph, task_runs: Iterable[TaskRunInfo], children: dict[str, str]
) -> RunGraph:
    """A fresh load of `task_runs`, subflow runs attached under their stand-ins, with `live`'s rows open."""
    task_runs = list(task_runs)
    fresh = RunGraph(live.flow_run_id)
    fresh.load([t for t in task_runs if t.flow_run_id == live.flow_run_id])
    for stand_in, child in children.items():
        fresh.attach_child(stand_in, child, [t for t in task_runs if t.flow_run_id == child])
    for row in live.rows():  # top down: a subflow opens before the rows under it
        node = row.node
        if not (node.header or node.expanded):
            continue
        index = fresh.row_of_task_run(node.ids[0])
        if index is not None and not fresh.row(index).node.expanded:
            fresh.toggle(index)
    return fresh


def assert_reads_as_loaded(
    live: RunGraph, task_runs: Iterable[TaskRunInfo], children: dict[str, str]
) -> None:
    shown, loaded = picture(live), picture(loaded_like(live, task_runs, children))
    assert shown == loaded, "live:\n" + lines(shown) + "\nloaded:\n" + lines(loaded)


def lines(rows: list[tuple[Any, ...]]) -> str:
    return "\n".join(f"  {row}" for row in rows)


# ---- a run as the daemon tells it ------------------------------------------------------


@dataclass
class Daemon:
    """A run's task runs as the daemon pushes them, applied as the dashboard's handlers apply them.

    `told` is what the graph has been told of each task run so far (edges
    held back are not in it yet): what a fresh load must match.
    """

    children: dict[str, str]  # stand-in -> its child flow run
    graph: RunGraph = field(default_factory=lambda: RunGraph(ROOT))
    created: dict[str, TaskRunInfo] = field(default_factory=dict)
    told: dict[str, TaskRunInfo] = field(default_factory=dict)
    followed: dict[str, str] = field(default_factory=dict)  # the children attached so far
    held_edges: list[tuple[str, EdgeInfo]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.graph.load([])  # opened before its first task run

    def create(self, task_run: TaskRunInfo, edges_now: bool = True) -> None:
        """A task run is pushed (a snapshot without its upstream), then its edges."""
        self.created[task_run.id] = task_run
        self.told[task_run.id] = task_run.model_copy(update={"upstream": []})
        if self.graph.knows_run(task_run.flow_run_id):
            self.graph.upsert(self.told[task_run.id])
        edges = [(task_run.id, edge) for edge in task_run.upstream]
        if edges_now:
            self._push_edges(edges)
        else:
            self.held_edges += edges

    def push_held_edges(self) -> None:
        edges, self.held_edges = self.held_edges, []
        self._push_edges(edges)

    def _push_edges(self, edges: list[tuple[str, EdgeInfo]]) -> None:
        for task_run_id, edge in edges:
            known = self.told[task_run_id]
            if edge not in known.upstream:
                self.told[task_run_id] = known.model_copy(
                    update={"upstream": [*known.upstream, edge]}
                )
            self.graph.add_edge(task_run_id, edge.upstream_id, edge.kind)

    def finish(self, task_run_id: str) -> None:
        known = self.told[task_run_id]
        done = StateInfo(type="COMPLETED", name="Completed", timestamp=known.state.timestamp + 1)
        self.told[task_run_id] = known.model_copy(update={"state": done})
        if self.graph.knows_run(known.flow_run_id):
            self.graph.upsert(self.told[task_run_id].model_copy(update={"upstream": []}))

    def follow(self, stand_in: str) -> None:
        """A subflow's child run loaded (as `SubflowLoaded`): its task runs as stored, edges and all."""
        child = self.children[stand_in]
        if child in self.followed.values() or self.graph.task_run(stand_in) is None:
            return
        self.followed[stand_in] = child
        mine = [
            self.told[t.id].model_copy(update={"upstream": t.upstream})
            for t in self.created.values()
            if t.flow_run_id == child
        ]
        self.told.update((t.id, t) for t in mine)
        self.graph.attach_child(stand_in, child, mine)

    def check(self) -> None:
        assert_reads_as_loaded(self.graph, self.told.values(), self.followed)


_clock = itertools.count(1)


def a_task_run(
    id: str,
    key: str,
    *upstream: str,
    run: str = ROOT,
    dyn: int = 0,
    kind: str = "task",
    created: float | None = None,
    kinds: tuple[str, ...] = (),
) -> TaskRunInfo:
    """A running task run; `upstream` names its producers (data edges, unless `kinds` says)."""
    edges = zip(upstream, (*kinds, *["data"] * (len(upstream) - len(kinds))), strict=True)
    return TaskRunInfo.model_validate(
        {
            "id": id,
            "flow_run_id": run,
            "name": f"{key.removeprefix('subflow:')}-{dyn}",
            "task_key": key,
            "dynamic_key": dyn,
            "kind": kind,
            "state": {"type": "RUNNING", "name": "Running", "timestamp": next(_clock)},
            "created": next(_clock) if created is None else created,
            "upstream": [{"upstream_id": u, "kind": k} for u, k in edges],
        }
    )


Step = tuple[str, Any]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Step], dict[str, str]]:
    """A run's task runs as they are created, in the run and in subflow runs (nested too), with
    what happens between: states, edges held back, subflows followed, rows opened, rows drawn."""
    created: list[TaskRunInfo] = []
    children: dict[str, str] = {}  # stand-in -> its child run
    steps: list[Step] = []
    for number in range(draw(st.integers(1, 14))):
        made = draw(_next_task_run(number, created, children))
        created.append(made)
        steps.append(("create", (made, draw(st.booleans()))))
        if made.kind == "subflow":
            children[made.id] = f"C{number}"
        for _ in range(draw(st.integers(0, 3))):
            what = draw(st.sampled_from(["finish", "follow", "toggle", "draw", "push edges"]))
            target = draw(st.sampled_from(created)).id
            steps.append((what, draw(st.integers(0, 30)) if what in {"toggle", "draw"} else target))
    return steps, children


@st.composite
def _next_task_run(
    draw: st.DrawFn, number: int, created: list[TaskRunInfo], children: dict[str, str]
) -> TaskRunInfo:
    run = draw(st.sampled_from([ROOT, *children.values()]))
    kind = draw(st.sampled_from(["task", "task", "subflow"]))
    key = "subflow:inner" if kind == "subflow" else draw(st.sampled_from(["extract", "load"]))
    mine = [t for t in created if t.flow_run_id == run]
    same_task = [t for t in mine if t.task_key == key]
    producers = (
        draw(st.lists(st.sampled_from(mine), max_size=2, unique_by=lambda t: t.id)) if mine else []
    )
    kinds = tuple(draw(st.sampled_from(["data", "data", "wait_for"])) for _ in producers)
    # A thread that took its time after stamping a task run pushes it after a later one
    # (never before what it was given: its producers were there first).
    stamp = number - draw(st.sampled_from([0.0, 0.0, 0.0, 1.5]))
    stamp = max([stamp, *(p.created + 0.25 for p in producers)])
    return a_task_run(
        f"t{number}",
        key,
        *(p.id for p in producers),
        run=run,
        dyn=len(same_task),
        kind=kind,
        created=stamp,
        kinds=kinds,
    )


@settings(max_examples=EXAMPLES, deadline=None)
@given(histories())
def test_a_live_graph_reads_as_a_fresh_load_after_every_change(
    history: tuple[list[Step], dict[str, str]],
) -> None:
    steps, children = history
    daemon = Daemon(children)
    for what, arg in steps:
        if what == "create":
            daemon.create(*arg)
        elif what == "finish":
            daemon.finish(arg)
        elif what == "follow" and arg in children:
            daemon.follow(arg)
        elif what == "toggle" and len(daemon.graph):
            daemon.graph.toggle(arg % len(daemon.graph))
        elif what == "draw":
            daemon.graph.lay_out_through(arg)
            daemon.graph.take_changes()
        elif what == "push edges":
            daemon.push_held_edges()
        daemon.check()


def drawn(graph: RunGraph) -> list[str]:
    """Each row as `lanes  name` (indented by depth), the node's cell shown as ●."""
    rows = graph.rows()
    width = graph.lane_width
    return [f"{r.lanes.text(width)}{'  ' * r.node.depth}{r.node.name}".rstrip() for r in rows]


def test_an_open_subflow_called_again_keeps_its_rows_under_it() -> None:
    """The dashboard drew the child's rows under the calls' collapsed row, and nowhere on reload."""
    daemon = Daemon({"s1": "C1", "s2": "C2"})
    daemon.create(a_task_run("a", "step"))
    daemon.create(a_task_run("s1", "subflow:inner", kind="subflow"))
    daemon.follow("s1")
    daemon.create(a_task_run("x", "step", run="C1"))
    daemon.create(a_task_run("y", "add", "x", run="C1"))
    daemon.graph.toggle(1)  # the subflow's row, opened
    assert drawn(daemon.graph) == ["●   step-0", "  ● inner-0", "  ●   step-0", "  ●   add-0"]
    daemon.create(a_task_run("s2", "subflow:inner", dyn=1, kind="subflow"))
    daemon.check()
    assert drawn(daemon.graph) == [  # the calls' row opened: the subflow stays in view
        "●   step-0",
        "  ● inner",
        "●     inner-0",
        "●       step-0",
        "●       add-0",
        "  ●   inner-1",
    ]


def test_a_second_call_of_a_task_labels_the_first_one_too() -> None:
    daemon = Daemon({})
    daemon.create(a_task_run("e0", "extract"))
    daemon.create(a_task_run("e1", "extract", "e0", dyn=1))  # x = extract(x): a chain
    daemon.graph.rows()
    daemon.create(a_task_run("e2", "extract", dyn=2))  # extract() again, on its own
    daemon.check()
    assert [row.node.call for row in daemon.graph.rows()] == ["chained", "no upstream"]


def test_task_runs_pushed_after_later_ones_take_their_places_by_creation() -> None:
    """Threads that stamp a task run and then wait push it after one stamped later."""
    daemon = Daemon({})
    daemon.create(a_task_run("l1", "load", dyn=1, created=20.0))
    daemon.graph.rows()
    daemon.create(a_task_run("l0", "load", dyn=0, created=10.0))
    daemon.create(a_task_run("e0", "extract", created=5.0))
    daemon.check()
    assert [(row.node.name, row.node.ids) for row in daemon.graph.rows()] == [
        ("extract-0", ["e0"]),
        ("load", ["l0", "l1"]),
    ]
