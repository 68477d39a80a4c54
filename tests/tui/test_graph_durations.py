"""A task run's duration in the Graph and the Timeline: how long it took, or has run so far."""

from __future__ import annotations

from orchestrate.client.protocol import StateInfo, TaskRunInfo
from tui.graph import RunGraph
from tui.widgets.graph_rows import RowGeometry, lane_columns, row_pieces, to_text

START = 1_000.0


def task_run(id: str, key: str, dyn: int, end: float | None) -> TaskRunInfo:
    kind, name = ("COMPLETED", "Completed") if end is not None else ("RUNNING", "Running")
    return TaskRunInfo(
        id=id, flow_run_id="R", name=f"{key}-{dyn}", task_key=key, dynamic_key=dyn,
        state=StateInfo(type=kind, name=name, timestamp=START), created=START,
        start_time=START, end_time=end,
    )  # fmt: skip


def lines(graph: RunGraph, now: float, timeline: bool = False) -> list[str]:
    width = 60
    geometry = RowGeometry(
        width, timeline, lane_columns(graph.lane_width, width), graph.lane_width,
        (START, now), now,
    )  # fmt: skip
    return [to_text(row_pieces(row, geometry)).plain.rstrip() for row in graph.rows()]


def test_a_running_task_shows_how_long_it_has_run_and_its_row_moves_with_the_clock() -> None:
    graph = RunGraph("R")
    graph.load([task_run("a", "done", 0, START + 2.0), task_run("b", "busy", 0, None)])
    assert " 2.00s " in lines(graph, START + 12.5)[0]
    assert " 12.5s " in lines(graph, START + 12.5)[1]
    assert " 13.5s " in lines(graph, START + 13.5)[1]
    assert "+0.00s 12.5s" in lines(graph, START + 12.5, timeline=True)[1]


def test_a_folded_group_with_a_member_running_counts_until_now() -> None:
    graph = RunGraph("R")
    graph.load([task_run(f"m{i}", "mapped", i, START + 1.0 if i else None) for i in range(3)])
    (row,) = lines(graph, START + 30.0)
    assert " 30.0s " in row, row
