"""Dashboard benchmarks: time to interactive with 10,000 runs, key latency, live and big graphs, idle CPU.

    python bench/tui.py [--repeat 3] [--out bench/results] [--compare before.json]
                        [--only-big-graphs | --only-cpu]

The app runs headless (Textual's test driver: every frame is composed and
every line rendered as for a terminal; only the final write of escape codes
is skipped) over the canned client of `tests/tui/fake_daemon.py`, which
stands in for the daemon so the figures measure the dashboard alone, with
the store's 10,000 runs served from memory. Every figure is the median over
`--repeat` rounds. Writes `tui.json` and `tui.md` (`tui_graphs.*` with
`--only-big-graphs`, the 500 / 5,000 task figures alone; `tui_cpu.*` with
`--only-cpu`, the three CPU figures alone); with `--compare`, the figures of
an earlier `tui.json` are shown next to the new ones. The machine's load
average is recorded beside the figures.

The live graph is timed two ways per batch of 50 task runs: how long Pilot's
`pause()` takes until the app is idle again (it sleeps in 20 ms steps, so
its floor, measured with nothing pushed, is shown too), and the longest time
the event loop was held by the app's work without a break (`LoopHold`): what
a key pressed during the burst waits, i.e. stutter. CPU is measured with a
clock that moves, so running durations change every second as they do for
a user; the changes a busy daemon pushes are encoded before the clock
starts (that is the daemon's work), and the idle figure waits in one sleep.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrate.client.protocol import FlowRunInfo  # noqa: E402
from tests.tui.fake_daemon import NOW, FakeDaemon, flow_run, state, task  # noqa: E402
from tests.tui.screen import screen_text, wait_until  # noqa: E402
from tui import graph as graph_module  # noqa: E402
from tui.app import OrcApp  # noqa: E402
from tui.client import DashboardClient  # noqa: E402
from tui.format import Clock  # noqa: E402
from tui.screens import main as main_module  # noqa: E402
from tui.screens.main import MainScreen  # noqa: E402

TARGETS = {"interactive_s": 1.0, "key_ms": 50.0, "idle_cpu_percent": 2.0}
SIZE = (120, 40)


def daemon_with_runs(count: int) -> FakeDaemon:
    daemon = FakeDaemon.canned()
    states = [("Completed", "COMPLETED"), ("Failed", "FAILED"), ("Running", "RUNNING")]
    daemon.runs = [
        flow_run(
            f"run-{i:05d}", f"run-{i}", *states[i % 3], NOW - i * 60, None if i % 3 == 2 else 30
        )
        for i in range(count)
    ]
    return daemon


def app_for(daemon: FakeDaemon, clock: Clock | None = None) -> OrcApp:
    async def connect() -> DashboardClient:
        return daemon.client()

    return OrcApp(connect, "bench", clock=clock or Clock(now=lambda: NOW))


def moving_clock() -> Clock:
    """The canned data's `NOW`, moving on in real time from here."""
    started = time.time()
    return Clock(now=lambda: NOW + (time.time() - started))


class LoopHold:
    """The longest stretch the event loop spent running callbacks back to back: what input waits behind.

    Every callback of the loop (task steps, timers, Textual's messages and
    paints) is timed; callbacks that follow each other with no idle gap make
    one stretch. `take()` returns the longest stretch since the last call and
    leaves out the callback it is called from (the benchmark's own pushing).
    """

    GAP = 0.0005  # seconds between callbacks that still count as one stretch

    def __init__(self) -> None:
        self.worst = self._stretch = self._last_end = 0.0
        self._skip = False
        self._run = asyncio.events.Handle._run

    def __enter__(self) -> LoopHold:
        hold, run = self, self._run

        def timed(handle: asyncio.events.Handle) -> None:
            started = time.perf_counter()
            try:
                run(handle)
            finally:
                hold._note(started, time.perf_counter())

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]

    def _note(self, started: float, ended: float) -> None:
        if self._skip:
            self._skip, self._stretch = False, 0.0
        else:
            joined = started - self._last_end <= self.GAP
            self._stretch = (self._stretch if joined else 0.0) + (ended - started)
            self.worst = max(self.worst, self._stretch)
        self._last_end = ended

    def take(self) -> float:
        """Milliseconds of the longest stretch since the last call."""
        worst, self.worst, self._skip = self.worst, 0.0, True
        return worst * 1000


async def time_to_interactive(runs: int, loaded: int) -> float:
    """From start to the newest run on screen, with `loaded` of the `runs` fetched."""
    main_module.RUNS_LOADED = loaded
    daemon = daemon_with_runs(runs)
    started = time.perf_counter()
    async with app_for(daemon).run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "run-0 " in screen_text(pilot.app), 30, "the runs")
        took = time.perf_counter() - started
    main_module.RUNS_LOADED = 1000
    return took


async def key_latency(presses: int = 100) -> dict[str, list[float]]:
    """Milliseconds per key press moving down the 10,000-run list, and per press of an unbound key.

    Pilot's own press costs some tens of milliseconds (it waits for the app to
    settle after each key); the unbound key measures that, so the difference
    is what the dashboard adds.
    """
    daemon = daemon_with_runs(10_000)
    samples: dict[str, list[float]] = {"down": [], "unbound": []}
    async with app_for(daemon).run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "run-0 " in screen_text(pilot.app), 30, "the runs")
        for _ in range(presses):
            for key, name in (("down", "down"), ("f12", "unbound")):  # z is bound (zoom)
                started = time.perf_counter()
                await pilot.press(key)
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


async def live_graph(tasks: int, mapped: bool, batch: int = 50) -> dict[str, float]:
    """A run whose task runs arrive `batch` at a time by subscription, until `tasks` rows (or members) show."""
    daemon = FakeDaemon.canned()
    async with app_for(daemon).run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "eager-yak" in screen_text(pilot.app), 30, "the runs")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("2", "down")
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.id == "run-0003",
            30,
            "eager-yak",
        )
        floor = []
        for _ in range(20):  # Pilot's own pause, with nothing to do
            tick = time.perf_counter()
            await pilot.pause()
            floor.append((time.perf_counter() - tick) * 1000)
        frame_times: list[float] = []
        stalls: list[float] = []
        hold = LoopHold().__enter__()
        started = time.perf_counter()
        for first in range(0, tasks, batch):
            tick = time.perf_counter()
            for i in range(first, min(tasks, first + batch)):
                key = "process" if mapped else f"step-{i}"
                upstream = [(f"live-{i - 1}", "data")] if i and not mapped else []
                daemon.push(
                    "task_run",
                    task(
                        f"live-{i}",
                        f"{key}-{i}",
                        key,
                        NOW - 40 + i * 0.01,
                        None,
                        upstream,
                        dyn=i if mapped else 0,
                        run="run-0003",
                        state_name="Running",
                        state_type="RUNNING",
                    ),
                )
            hold.take()  # what comes before is the daemon's part
            await pilot.pause()
            frame_times.append((time.perf_counter() - tick) * 1000)
            stalls.append(hold.take())
        want = 1 if mapped else tasks
        await wait_until(
            pilot, lambda: screen.graph is not None and len(screen.graph) >= want, 60, "every row"
        )
        total = time.perf_counter() - started
        stalls[-1] = max(stalls[-1], hold.take())
        hold.__exit__()
    return {
        "tasks": tasks,
        "batch": batch,
        "total_s": round(total, 3),
        "per_task_us": round(total / tasks * 1e6, 1),
        "batch_frame_ms_median": round(statistics.median(frame_times), 2),
        "batch_frame_ms_max": round(max(frame_times), 2),
        "pause_floor_ms_median": round(statistics.median(floor), 2),
        "stall_ms_median": round(statistics.median(stalls), 2),
        "stall_ms_max": round(max(stalls), 2),
    }


def big_run_tasks(count: int) -> list[Any]:
    """`count` distinct tasks (one row each), each fed by the one before and the one 7 back."""
    return [
        task(
            f"big-{i}", f"step{i}-0", f"step{i}", NOW - 600 + i * 0.01, 0.5 if i % 97 else None,
            [(f"big-{j}", "data") for j in sorted({i - 1, max(0, i - 7)}) if i and j != i],
            run="run-0002",
            state_name="Completed" if i % 97 else "Running",
            state_type="COMPLETED" if i % 97 else "RUNNING",
        )
        for i in range(count)
    ]  # fmt: skip


async def big_graph(tasks: int, pages: int = 30) -> dict[str, float]:
    """Open a finished run of `tasks` rows (time to its first rows on screen), then page down the graph.

    Each page down is timed as Pilot's press (its floor, an unbound key, is
    shown too), as the longest stretch the loop was held (`LoopHold`): the
    frame a user waits for while scrolling, and in the process's CPU time,
    which a loaded machine inflates less than wall time.
    """
    daemon = FakeDaemon.canned()
    daemon.task_runs["run-0002"] = big_run_tasks(tasks)
    async with app_for(daemon).run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "calm-owl" in screen_text(pilot.app), 30, "the runs")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("2", "end")  # calm-owl, the oldest run
        started = time.perf_counter()
        await wait_until(pilot, lambda: " step1-0 " in screen_text(pilot.app), 30, "the graph")
        opened = time.perf_counter() - started
        await pilot.press("enter")  # into the graph
        presses: list[float] = []
        floor: list[float] = []
        stalls: list[float] = []
        cpu: list[float] = []
        cpu_floor: list[float] = []
        with LoopHold() as hold:
            for _ in range(pages):
                hold.take()
                tick, ticked = time.perf_counter(), time.process_time()
                await pilot.press("pagedown")
                presses.append((time.perf_counter() - tick) * 1000)
                cpu.append((time.process_time() - ticked) * 1000)
                stalls.append(hold.take())
                tick, ticked = time.perf_counter(), time.process_time()
                await pilot.press("f12")  # unbound: what Pilot costs alone
                floor.append((time.perf_counter() - tick) * 1000)
                cpu_floor.append((time.process_time() - ticked) * 1000)
        assert screen._graph_view.cursor > 0
    return {
        "tasks": tasks,
        "open_s": round(opened, 3),
        "page_ms_median": round(statistics.median(presses), 2),
        "page_press_floor_ms_median": round(statistics.median(floor), 2),
        "page_stall_ms_median": round(statistics.median(stalls), 2),
        "page_stall_ms_max": round(max(stalls), 2),
        "page_cpu_ms_median": round(statistics.median(cpu), 2),
        "page_press_floor_cpu_ms_median": round(statistics.median(cpu_floor), 2),
    }


def layout_only(tasks: int = 2000) -> dict[str, float]:
    """The pure layout: 2,000 appends one by one, and one full rebuild."""
    from orchestrate.client.protocol import EdgeInfo, StateInfo, TaskRunInfo

    def make(i: int) -> TaskRunInfo:
        edges = [
            EdgeInfo(upstream_id=f"t{j}", kind="data")
            for j in {i - 1, max(0, i - 7)}
            if i and j != i
        ]
        return TaskRunInfo(id=f"t{i}", flow_run_id="R", name=f"t{i}", task_key=f"t{i}", dynamic_key=0,
                           state=StateInfo(type="COMPLETED", name="Completed", timestamp=0), created=i, upstream=edges)  # fmt: skip

    runs = [make(i) for i in range(tasks)]
    graph = graph_module.RunGraph("R")
    graph.load([])
    started = time.perf_counter()
    for run in runs:
        graph.upsert(run)
        graph.row(len(graph) - 1)
    append = time.perf_counter() - started
    rebuilt = graph_module.RunGraph("R")
    rebuilt.load(runs)
    started = time.perf_counter()
    rebuilt.rows()
    rebuild = time.perf_counter() - started
    return {
        "append_us": round(append / tasks * 1e6, 1),
        "rebuild_ms": round(rebuild * 1000, 1),
        "lanes": graph.lane_width,
    }


async def idle_cpu(seconds: float, busy: str = "") -> float:
    """CPU used by the dashboard (percent of one core) while the daemon pushes run changes, or nothing.

    `busy`: "" pushes nothing; "run_count" pushes 20 run changes a second that
    do not change what a row shows (a run's attempt count); "states" pushes 20
    state changes a second that do (Running, Completed, Failed in turn).
    """
    daemon = daemon_with_runs(1000)
    changes = [_change(daemon.runs[i % 50], i, busy) for i in range(int(seconds * 20) + 20)]
    async with app_for(daemon, moving_clock()).run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "run-0 " in screen_text(pilot.app), 30, "the runs")
        await pilot.pause(0.5)
        gc.collect()  # what earlier measurements left behind is not this one's to collect
        cpu, wall = time.process_time(), time.perf_counter()
        pushed = 0
        while busy and time.perf_counter() - wall < seconds:  # a busy daemon: 20 changes a second
            daemon.push("flow_run", changes[pushed])
            pushed += 1
            await asyncio.sleep(0.05)
        if not busy:  # one sleep: waking up to do nothing would cost what is measured
            await asyncio.sleep(seconds)
        used = time.process_time() - cpu
        elapsed = time.perf_counter() - wall
    return used / elapsed * 100


def _change(run: FlowRunInfo, i: int, busy: str) -> dict[str, Any]:
    """The i-th change pushed, as the daemon sends it (encoded before the clock starts)."""
    if busy == "states":
        name, kind = [("Completed", "COMPLETED"), ("Failed", "FAILED"), ("Running", "RUNNING")][
            i % 3
        ]
        return run.model_copy(update={"state": state(name, kind, NOW)}).model_dump()
    return run.model_copy(update={"run_count": i}).model_dump()


async def measure_big_graphs() -> dict[str, Any]:
    return {
        "graph_500_tasks_open": await big_graph(500),
        "graph_5000_tasks_open": await big_graph(5000),
    }


async def measure_cpu() -> dict[str, Any]:
    return {
        "idle_cpu_percent_quiet": round(await idle_cpu(5.0), 2),
        "idle_cpu_percent_busy_daemon": round(await idle_cpu(5.0, busy="run_count"), 2),
        "idle_cpu_percent_busy_daemon_states": round(await idle_cpu(5.0, busy="states"), 2),
    }


async def measure(only: str = "") -> dict[str, Any]:
    if only == "big_graphs":
        return await measure_big_graphs()
    if only == "cpu":
        return await measure_cpu()
    interactive = await time_to_interactive(10_000, 1000)
    interactive_all = await time_to_interactive(10_000, 10_000)
    keys = await key_latency()
    return {
        "interactive_s_10k_runs_1k_loaded": round(interactive, 3),
        "interactive_s_10k_runs_all_loaded": round(interactive_all, 3),
        "key_ms_median": round(statistics.median(keys["down"]), 2),
        "key_ms_p95": round(sorted(keys["down"])[int(len(keys["down"]) * 0.95)], 2),
        "pilot_press_ms_median": round(statistics.median(keys["unbound"]), 2),
        "key_ms_net_median": round(
            statistics.median(keys["down"]) - statistics.median(keys["unbound"]), 2
        ),
        "graph_2000_distinct_tasks_live": await live_graph(2000, mapped=False),
        "graph_2000_mapped_tasks_live": await live_graph(2000, mapped=True),
        "graph_layout_2000": layout_only(),
        **await measure_cpu(),
        **await measure_big_graphs(),
    }


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds (nested figures too)."""
    first = rounds[0]
    return {
        key: medians([r[key] for r in rounds])
        if isinstance(first[key], dict)
        else round(statistics.median(r[key] for r in rounds), 3)
        for key in first
    }


def _live(figures: dict[str, Any]) -> str:
    """One live-graph row: wall time, UI held per batch, and Pilot's settle time per batch."""
    text = f"{figures['total_s']} s"
    if "stall_ms_median" in figures:
        text += f"; UI held per batch median {figures['stall_ms_median']} ms, max {figures['stall_ms_max']} ms"
    text += f"; settled per batch median {figures['batch_frame_ms_median']} ms, max {figures['batch_frame_ms_max']} ms"
    if "pause_floor_ms_median" in figures:
        text += f" (Pilot's floor {figures['pause_floor_ms_median']} ms)"
    return text


def _big(figures: dict[str, Any] | None) -> tuple[str, str]:
    """(open time, page-down frame) of one big-graph figure, or `n/a` from a run that lacks it."""
    if figures is None:
        return "n/a", "n/a"
    cpu = ""
    if "page_cpu_ms_median" in figures:
        cpu = (
            f"; CPU per press {figures['page_cpu_ms_median']} ms "
            f"(unbound key {figures['page_press_floor_cpu_ms_median']} ms)"
        )
    return f"{figures['open_s']} s", (
        f"UI held median {figures['page_stall_ms_median']} ms, max {figures['page_stall_ms_max']} ms; "
        f"Pilot's press {figures['page_ms_median']} ms (unbound key {figures['page_press_floor_ms_median']} ms)"
        + cpu
    )


def _big_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for count, key in (("500", "graph_500_tasks_open"), ("5,000", "graph_5000_tasks_open")):
        opened, page = _big(results.get(key))
        rows.append(
            (f"open a run of {count} distinct tasks (select to first rows drawn)", opened, "≤ 1 s")
        )
        rows.append((f"page down its graph, {count} rows", page, "no lag (UI held ≤ 16 ms)"))
    return rows


def _cpu_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    states = results.get("idle_cpu_percent_busy_daemon_states")
    return [
        ("CPU, idle dashboard", f"{results['idle_cpu_percent_quiet']} %", "≤ 2 %"),
        ("CPU, daemon pushing 20 run changes/s (attempt counts: rows read the same)",
         f"{results['idle_cpu_percent_busy_daemon']} %", "≤ 2 %"),
        ("CPU, daemon pushing 20 run state changes/s (rows change)",
         "n/a" if states is None else f"{states} %", "≤ 2 %"),
    ]  # fmt: skip


def _rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, measured, target) for each figure; a figure an older run lacks reads `n/a`."""
    if "graph_layout_2000" not in results:  # a run of the big graphs or the CPU figures alone
        return _big_rows(results) if "graph_500_tasks_open" in results else _cpu_rows(results)
    layout = results["graph_layout_2000"]
    return [
        *_big_rows(results),
        ("time to interactive, 10,000 runs (newest 1,000 loaded)",
         f"{results['interactive_s_10k_runs_1k_loaded']} s", "≤ 1 s"),
        ("time to interactive, 10,000 runs (all loaded)",
         f"{results['interactive_s_10k_runs_all_loaded']} s", "≤ 1 s"),
        ("key press to repaint, net of Pilot's own press (median)",
         f"{results['key_ms_net_median']} ms", "≤ 50 ms"),
        ("key press to repaint, as Pilot times it (median / p95; an unbound key: "
         f"{results['pilot_press_ms_median']} ms)", f"{results['key_ms_median']} / {results['key_ms_p95']} ms", ""),
        ("2,000 distinct tasks arriving live, 50 a batch",
         _live(results["graph_2000_distinct_tasks_live"]), "no stutter (UI held ≤ 16 ms median, ≤ 50 ms max)"),
        ("2,000 mapped tasks arriving live (one row)",
         _live(results["graph_2000_mapped_tasks_live"]), "no stutter (UI held ≤ 16 ms median, ≤ 50 ms max)"),
        ("graph layout alone: append / full rebuild of 2,000",
         f"{layout['append_us']} µs / {layout['rebuild_ms']} ms", ""),
        *_cpu_rows(results),
    ]  # fmt: skip


def _load(results: dict[str, Any]) -> str:
    return f"; load average {results['load']} (1 min, at start / end)" if "load" in results else ""


def markdown(results: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    head = ["| what | measured | target |", "|---|---|---|"]
    rows = [f"| {what} | {value} | {target} |" for what, value, target in _rows(results)]
    if before is not None:
        head = ["| what | measured | before | target |", "|---|---|---|---|"]
        earlier = {what: value for what, value, _ in _rows(before)}
        rows = [
            f"| {what} | {value} | {earlier.get(what, 'n/a')} | {target} |"
            for what, value, target in _rows(results)
        ]
    lines = [
        "# orc tui benchmarks",
        "",
        f"{platform.platform()}, Python {platform.python_version()}; headless Textual driver at "
        f"{SIZE[0]}x{SIZE[1]}; medians of {results.get('rounds', 1)} rounds{_load(results)}.",
        "",
        *head,
        *rows,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each figure is their median")
    parser.add_argument("--compare", type=Path, help="an earlier tui.json, shown as `before`")
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--only-big-graphs", action="store_true", help="just the 500 / 5,000 task graph figures"
    )
    only.add_argument("--only-cpu", action="store_true", help="just the three CPU figures")
    args = parser.parse_args()
    part = "big_graphs" if args.only_big_graphs else "cpu" if args.only_cpu else ""
    load = os.getloadavg()[0]
    rounds = [asyncio.run(measure(part)) for _ in range(args.repeat)]
    results = {
        **medians(rounds),
        "rounds": args.repeat,
        "load": f"{load:.1f} / {os.getloadavg()[0]:.1f}",
    }
    before = json.loads(args.compare.read_text()) if args.compare else None
    document: dict[str, Any] = {"targets": TARGETS, **results}
    if before is not None:
        document["before"] = {k: v for k, v in before.items() if k not in ("targets", "before")}
    args.out.mkdir(parents=True, exist_ok=True)
    # a part never overwrites the whole
    stem = {"big_graphs": "tui_graphs", "cpu": "tui_cpu"}.get(part, "tui")
    (args.out / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(results, before))
    print(markdown(results, before))


if __name__ == "__main__":
    main()
