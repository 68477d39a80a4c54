"""Dashboard benchmarks: time to interactive with 10,000 runs, key latency, a 2,000-task live graph, idle CPU.

    python bench/tui.py [--out bench/results]

The app runs headless (Textual's test driver, which draws every frame as a
terminal would) over the canned client of `tests/tui/fake_daemon.py`, which
stands in for the daemon so the figures measure the dashboard alone, with
the store's 10,000 runs served from memory. Writes `tui.json` and `tui.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tui.fake_daemon import NOW, FakeDaemon, flow_run, task  # noqa: E402
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


def app_for(daemon: FakeDaemon) -> OrcApp:
    async def connect() -> DashboardClient:
        return daemon.client()

    return OrcApp(connect, "bench", clock=Clock(now=lambda: NOW))


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
            for key, name in (("down", "down"), ("z", "unbound")):
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
        frame_times: list[float] = []
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
            await pilot.pause()
            frame_times.append((time.perf_counter() - tick) * 1000)
        want = 1 if mapped else tasks
        await wait_until(
            pilot, lambda: screen.graph is not None and len(screen.graph) >= want, 60, "every row"
        )
        total = time.perf_counter() - started
    return {
        "tasks": tasks,
        "batch": batch,
        "total_s": round(total, 3),
        "per_task_us": round(total / tasks * 1e6, 1),
        "batch_frame_ms_median": round(statistics.median(frame_times), 2),
        "batch_frame_ms_max": round(max(frame_times), 2),
    }


def layout_only(tasks: int = 2000) -> dict[str, float]:
    """The pure layout: 2,000 appends one by one, and one full rebuild."""
    from orchestrate.protocol import EdgeInfo, StateInfo, TaskRunInfo

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


async def idle_cpu(seconds: float, busy: bool) -> float:
    """CPU used by the dashboard (percent of one core) while the daemon pushes run changes, or nothing."""
    daemon = daemon_with_runs(1000)
    async with app_for(daemon).run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "run-0 " in screen_text(pilot.app), 30, "the runs")
        await pilot.pause(0.5)
        cpu, wall = time.process_time(), time.perf_counter()
        pushed = 0
        while time.perf_counter() - wall < seconds:
            if busy:  # a busy daemon: 20 run state changes a second
                run = daemon.runs[pushed % 50]
                daemon.push("flow_run", run.model_copy(update={"run_count": pushed}))
                pushed += 1
            await asyncio.sleep(0.05)
        used = time.process_time() - cpu
        elapsed = time.perf_counter() - wall
    return used / elapsed * 100


async def measure() -> dict[str, Any]:
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
        "idle_cpu_percent_quiet": round(await idle_cpu(5.0, busy=False), 2),
        "idle_cpu_percent_busy_daemon": round(await idle_cpu(5.0, busy=True), 2),
    }


def markdown(results: dict[str, Any]) -> str:
    distinct, mapped = (
        results["graph_2000_distinct_tasks_live"],
        results["graph_2000_mapped_tasks_live"],
    )
    layout = results["graph_layout_2000"]
    rows = [
        (
            "time to interactive, 10,000 runs (newest 1,000 loaded)",
            f"{results['interactive_s_10k_runs_1k_loaded']} s",
            "≤ 1 s",
        ),
        (
            "time to interactive, 10,000 runs (all loaded)",
            f"{results['interactive_s_10k_runs_all_loaded']} s",
            "≤ 1 s",
        ),
        (
            "key press to repaint, net of Pilot's own press (median)",
            f"{results['key_ms_net_median']} ms",
            "≤ 50 ms",
        ),
        (
            "key press to repaint, as Pilot times it (median / p95; an unbound key: "
            f"{results['pilot_press_ms_median']} ms)",
            f"{results['key_ms_median']} / {results['key_ms_p95']} ms",
            "",
        ),
        (
            "2,000 distinct tasks arriving live, 50 a batch",
            f"{distinct['total_s']} s; frame median {distinct['batch_frame_ms_median']} ms, max {distinct['batch_frame_ms_max']} ms",
            "no stutter",
        ),
        (
            "2,000 mapped tasks arriving live (one row)",
            f"{mapped['total_s']} s; frame median {mapped['batch_frame_ms_median']} ms, max {mapped['batch_frame_ms_max']} ms",
            "no stutter",
        ),
        (
            "graph layout alone: append / full rebuild of 2,000",
            f"{layout['append_us']} µs / {layout['rebuild_ms']} ms",
            "",
        ),
        ("CPU, idle dashboard", f"{results['idle_cpu_percent_quiet']} %", "≤ 2 %"),
        (
            "CPU, daemon pushing 20 run changes/s",
            f"{results['idle_cpu_percent_busy_daemon']} %",
            "≤ 2 %",
        ),
    ]
    lines = [
        "# orc tui benchmarks",
        "",
        f"{platform.platform()}, Python {platform.python_version()}; headless Textual driver at {SIZE[0]}x{SIZE[1]}.",
        "",
        "| what | measured | target |",
        "|---|---|---|",
        *(f"| {what} | {value} | {target} |" for what, value, target in rows),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    results = asyncio.run(measure())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tui.json").write_text(json.dumps({"targets": TARGETS, **results}, indent=2) + "\n")
    (args.out / "tui.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
