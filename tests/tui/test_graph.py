"""The run graph's layout on hand-built graphs: one row per task, lanes git-log style."""

from __future__ import annotations

import itertools
import time

from orchestrate.client.protocol import EdgeInfo, StateInfo, TaskRunInfo
from tui.graph import RunGraph
from tui.lanes import LaneLayout
from tui.widgets.graph_rows import LANE_COLOURS, RowGeometry, lane_columns, row_pieces

_clock = itertools.count(1)


def tr(
    id: str,
    *upstream: str | tuple[str, str],
    key: str | None = None,
    dyn: int = 0,
    kind: str = "task",
    run: str = "R",
    state: str = "Completed",
) -> TaskRunInfo:
    """A task run; `upstream` names data edges, or (id, kind) pairs."""
    edges = [
        EdgeInfo(upstream_id=u, kind="data")
        if isinstance(u, str)
        else EdgeInfo(upstream_id=u[0], kind=u[1])
        for u in upstream
    ]  # type: ignore[arg-type]
    return TaskRunInfo(
        id=id, flow_run_id=run, name=f"{key or id}-{dyn}", task_key=key or id, dynamic_key=dyn,
        kind=kind, state=StateInfo(type="COMPLETED", name=state, timestamp=0), created=next(_clock),  # type: ignore[arg-type]
        upstream=edges,
    )  # fmt: skip


def drawn(graph: RunGraph) -> list[str]:
    """Each row as `lanes  name`, the node's cell shown as ●."""
    rows = graph.rows()  # every row placed: lanes are laid out as far as rows are read
    width = graph.lane_width
    return [
        f"{row.lanes.text(width)}{'  ' * row.node.depth}{row.node.name}".rstrip() for row in rows
    ]


def laid_out(*task_runs: TaskRunInfo) -> RunGraph:
    graph = RunGraph("R")
    graph.load(list(task_runs))
    return graph


def test_a_chain_is_one_straight_column() -> None:
    assert drawn(laid_out(tr("a"), tr("b", "a"), tr("c", "b"))) == ["● a-0", "● b-0", "● c-0"]


def test_a_diamond_branches_and_joins() -> None:
    graph = laid_out(tr("a"), tr("b", "a"), tr("c", "a"), tr("d", "b", "c"))
    assert drawn(graph) == [
        "●─╮ a-0",
        "● │ b-0",
        "│ ● c-0",
        "●─╯ d-0",
    ]


def test_fan_out_and_fan_in_keep_one_row_per_task() -> None:
    graph = laid_out(
        tr("a"), *(tr(f"b{i}", "a") for i in range(3)), tr("z", *(f"b{i}" for i in range(3)))
    )
    assert drawn(graph) == [
        "●─┬─╮ a-0",
        "● │ │ b0-0",
        "│ ● │ b1-0",
        "│ │ ● b2-0",
        "●─┴─╯ z-0",
    ]
    assert [row.node.name for row in graph.rows()].count("a-0") == 1


def test_an_unrelated_task_steps_aside_so_adjacency_always_means_an_edge() -> None:
    graph = laid_out(tr("a"), tr("b"), tr("c", "a", "b"))
    assert drawn(graph) == [
        "●   a-0",
        "│ ● b-0",
        "●─╯ c-0",
    ]


def test_wait_for_edges_are_drawn_dashed() -> None:
    graph = laid_out(tr("a"), tr("b"), tr("c", "b", ("a", "wait_for")))
    assert drawn(graph) == [
        "●   a-0",
        "┆ ● b-0",
        "●─╯ c-0",
    ]
    assert graph.row(2).node.upstream == {"R:a": "wait_for", "R:b": "data"}


def test_mapped_tasks_collapse_into_one_row_with_counts_and_expand() -> None:
    first = tr("a")
    members = [
        tr(f"p{i}", "a", key="process", dyn=i, state="Failed" if i == 3 else "Completed")
        for i in range(200)
    ]
    graph = laid_out(first, *members, tr("z", *(m.id for m in members)))
    assert drawn(graph) == ["● a-0", "● process", "● z-0"]
    group = graph.row(1).node
    assert group.grouped and len(group.ids) == 200
    assert group.counts() == {"Completed": 199, "Failed": 1}

    graph.toggle(1)
    rows = graph.rows()
    assert len(rows) == 203  # the group's header, then every member, each once
    assert rows[1].node.header and rows[2].node.name == "process-0" and rows[2].node.depth == 1
    assert rows[-1].node.upstream == {m.id: "data" for m in members}
    graph.toggle(1)
    assert len(graph.rows()) == 3


def test_a_subflow_nests_its_child_runs_rows_when_expanded() -> None:
    graph = laid_out(tr("a"), tr("s", "a", key="subflow:report", kind="subflow"), tr("z", "s"))
    graph.attach_child("s", "C", [tr("x", run="C"), tr("y", "x", run="C")])
    assert drawn(graph) == ["● a-0", "● subflow:report-0", "● z-0"]
    graph.toggle(1)
    assert drawn(graph) == [
        "●   a-0",
        "●─╮ subflow:report-0",
        "● │   x-0",
        "● │   y-0",
        "  ● z-0",
    ]
    assert graph.row(2).node.upstream == {"R:subflow:report": "parent"}


def test_edges_that_arrive_after_their_task_runs_are_drawn() -> None:
    graph = laid_out(tr("a"), tr("b"))
    assert drawn(graph) == ["●   a-0", "  ● b-0"]
    graph.add_edge("b", "a", "data")
    assert drawn(graph) == ["● a-0", "● b-0"]


def test_live_updates_append_rows_without_relaying_out() -> None:
    graph = laid_out()
    graph.rows()
    for task_run in (tr("a"), tr("b", "a"), tr("c", "a"), tr("d", "b", "c")):
        graph.upsert(task_run)
    first = graph.rows()
    assert drawn(graph) == ["●─╮ a-0", "● │ b-0", "│ ● c-0", "●─╯ d-0"]
    graph.upsert(tr("e", "d"))
    assert graph.rows()[0].lanes is first[0].lanes  # earlier rows were extended, not rebuilt
    changed = graph.upsert(tr("c", "a", state="Failed").model_copy(update={"id": "c"}))
    assert changed == 2


def test_an_older_snapshot_of_a_task_run_does_not_undo_a_newer_one() -> None:
    graph = laid_out()
    running = tr("a", state="Running").model_copy(
        update={"state": StateInfo(type="RUNNING", name="Running", timestamp=10)}
    )
    done = running.model_copy(
        update={"state": StateInfo(type="COMPLETED", name="Completed", timestamp=20)}
    )
    graph.upsert(done)
    graph.upsert(running)  # sent before the run was loaded, read after it
    assert graph.row(0).node.task_run.state.name == "Completed"


def test_live_changes_name_the_rows_to_repaint() -> None:
    graph = laid_out(tr("a"), tr("b", "a"))
    assert graph.take_changes().everything
    graph.rows()  # drawn (lanes are placed as rows are read)
    graph.take_changes()
    graph.upsert(tr("c", "b"))
    assert graph.take_changes().rows == {1, 2}  # the new row, and b's lane now running down to it
    graph.upsert(tr("b", "a", state="Failed").model_copy(update={"id": "b"}))
    changes = graph.take_changes()
    assert changes.rows == {1} and not changes.everything


def _cpu_to_append_live(count: int) -> float:
    """CPU seconds to upsert `count` chained task runs one by one, drawing each as it arrives."""
    graph = laid_out()
    task_runs = [
        tr(f"t{i}", *([f"t{i - 1}", f"t{max(0, i - 7)}"] if i else [])) for i in range(count)
    ]
    started = time.process_time()
    for task_run in task_runs:
        graph.upsert(task_run)
        graph.row(len(graph) - 1)  # drawn as it arrives
    took = time.process_time() - started
    assert len(graph) == count
    return took


def test_a_live_task_run_costs_the_same_however_many_came_before() -> None:
    """Appending stays linear: 2,000 live task runs cost ~4x what 500 do, not ~16x.

    A ratio of CPU times taken side by side, so a loaded machine does not fail it
    (a wall-clock limit did), while a cost per append that grows with the graph does.
    """
    small = min(_cpu_to_append_live(500) for _ in range(3))
    large = min(_cpu_to_append_live(2000) for _ in range(3))
    assert large < 8 * small, f"500 live appends took {small:.3f}s of CPU, 2,000 took {large:.3f}s"


def test_lanes_ignore_edges_that_point_up() -> None:
    layout = LaneLayout()
    layout.place([])
    assert layout.place([(5, "data"), (0, "data")]) == 1
    assert layout.rows[1].text(1) == "● "


async def test_f_in_the_graph_jumps_to_the_failed_task() -> None:
    from tests.tui.conftest import make_app
    from tests.tui.fake_daemon import FakeDaemon
    from tests.tui.screen import wait_for_text, wait_until
    from tests.tui.test_app import open_run
    from tui.screens.main import MainScreen

    async with make_app(FakeDaemon.canned()).run_test(size=(120, 40)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await open_run(pilot, "brave-fox")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("enter", "f")  # into the graph; the mapped `process` holds the failure
        await wait_until(pilot, lambda: screen._graph_view.selected_node().name == "process-7")  # type: ignore[union-attr]
        await pilot.press("f")  # the only failure: `f` comes back to it
        await wait_until(pilot, lambda: screen._graph_view.selected_node().name == "process-7")  # type: ignore[union-attr]


def mapped_and_chained(mapped: int = 250, chained: int = 30) -> list[TaskRunInfo]:
    """`extract`, then `process.map(extract)` and a loop `x = process(x)`: two calls of one task."""
    runs = [tr("e", key="extract")]
    runs += [tr(f"m{i}", "e", key="process", dyn=i) for i in range(mapped)]
    runs += [
        tr(f"c{i}", *([f"c{i - 1}"] if i else []), key="process", dyn=mapped + i)
        for i in range(chained)
    ]
    return runs


def test_mapped_and_chained_calls_of_one_task_are_two_rows() -> None:
    graph = laid_out(*mapped_and_chained())
    rows = [row.node for row in graph.rows()]
    assert [(n.name, len(n.ids), n.call) for n in rows] == [
        ("extract-0", 1, ""),
        ("process", 250, "after extract"),
        ("process", 30, "chained"),
    ]


def test_calls_stay_apart_when_their_runs_arrive_live() -> None:
    graph = laid_out()
    graph.rows()
    for task_run in mapped_and_chained(20, 5):
        graph.upsert(task_run)
        graph.rows()
    assert [(n.name, len(n.ids)) for n in (row.node for row in graph.rows())] == [
        ("extract-0", 1),
        ("process", 20),
        ("process", 5),
    ]


def test_a_chain_whose_edges_arrive_late_moves_to_its_own_row() -> None:
    graph = laid_out(*(tr(f"m{i}", key="process", dyn=i) for i in range(3)))
    graph.upsert(tr("c0", key="process", dyn=3))
    graph.upsert(tr("c1", key="process", dyn=4))
    assert len(graph) == 1  # no edges yet: one call as far as anyone can tell
    graph.add_edge("c1", "c0", "data")
    assert [(n.call, len(n.ids)) for n in (row.node for row in graph.rows())] == [
        ("no upstream", 3),
        ("chained", 2),
    ]


def test_rows_read_from_the_top_place_only_the_lanes_that_reach_them() -> None:
    task_runs = [
        tr(f"t{i}", *([f"t{i - 1}", f"t{max(0, i - 7)}"] if i else [])) for i in range(5000)
    ]
    lazy, full = laid_out(*task_runs), laid_out(*task_runs)
    top = [lazy.row(i).lanes for i in range(40)]  # a first screen
    assert len(lazy._layout.rows) < 100  # not the 5,000
    assert [
        row.lanes for row in full.rows()[:40]
    ] == top  # and drawn as the whole layout draws them
    sink = laid_out(*task_runs[:50], tr("z", "t0"))  # a last row fed by the first
    assert sink.row(0).lanes == sink.rows()[0].lanes and len(sink._layout.rows) == 51


def test_each_lane_column_is_one_piece_in_its_colour() -> None:
    """`✔─╮`: the glyph, then `─╮ ` in the next lane's colour as one piece (one segment drawn), not three."""
    graph = laid_out(tr("a"), tr("b", "a"), tr("c", "a"), tr("d", "b", "c"))
    first = graph.rows()[0]
    geometry = RowGeometry(
        60, False, lane_columns(graph.lane_width, 60), graph.lane_width, (0, 1), 1
    )
    pieces = row_pieces(first, geometry)
    assert [(text, style) for text, style, _ in pieces[:3]] == [
        ("✔", "green"),  # a-0, completed
        ("─", LANE_COLOURS[0]),
        ("╮ ", LANE_COLOURS[1]),
    ]
