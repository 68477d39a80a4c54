"""Store read benchmarks: the reads the CLI and TUI make, at 1k, 100k and 1M flow runs.

    python bench/store.py [--sizes 1000,100000,1000000] [--repeat 7] [--out bench/results]

Each size is a real store file (the real schema and migrations) filled with
SQL: five task runs and four log lines per flow run, runs spread over ten
deployments and a year. A read is timed through the real `Store` (the query
part) and as a whole `orc` command in a fresh process (daemon down). A read
stays fast when its time at the largest size is within 1.5x of its time at
the smallest and its query part is under 20 ms. Writes `store.json` and
`store.md` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ORC = str(Path(sys.executable).parent / "orc")
TASKS_PER_RUN = 5
LOGS_PER_RUN = 4
RATIO_LIMIT = 1.5
QUERY_LIMIT_MS = 20.0


def build_store(path: Path, runs: int) -> str:
    """A store file with `runs` finished flow runs; returns the id of a run in the middle."""
    import duckdb

    from orchestrate.store import migrations

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    migrations.migrate(conn, path)
    start = 1_700_000_000
    conn.execute(
        "INSERT INTO flow_runs SELECT printf('%08x-run', i), 'run-' || i, 'etl', "
        "CASE WHEN i % 7 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, "
        "CASE WHEN i % 7 = 0 THEN 'Failed' ELSE 'Completed' END, NULL, "
        "to_timestamp(? + i * 30), NULL, NULL, NULL, '{}', ['nightly'], NULL, NULL, "
        "'dep-' || (i % 10), 'flows.py:etl', NULL, to_timestamp(? + i * 30), "
        "to_timestamp(? + i * 30), to_timestamp(? + i * 30 + 1), to_timestamp(? + i * 30 + 9), 1 "
        "FROM range(?) r(i)",
        [start, start, start, start, start, runs],
    )
    conn.execute(
        "INSERT INTO task_runs (id, flow_run_id, name, task_key, dynamic_key, kind, state_type, "
        "state_name, state_message, state_ts, error_type, error_message, traceback, tags, "
        "parent_task_run_id, cache_key, created, start_time, end_time, run_count) "
        "SELECT printf('%08x-task-%d', i // ?, i % ?), "
        "printf('%08x-run', i // ?), 'step-' || (i % ?), 'flows.step', 0, 'task', "
        "'COMPLETED', 'Completed', NULL, to_timestamp(? + i * 6), NULL, NULL, NULL, [], NULL, "
        "NULL, to_timestamp(? + i * 6), to_timestamp(? + i * 6), to_timestamp(? + i * 6 + 1), 1 "
        "FROM range(?) r(i)",
        [TASKS_PER_RUN] * 4 + [start] * 4 + [runs * TASKS_PER_RUN],
    )
    conn.execute(
        "INSERT INTO logs SELECT printf('%08x-run', i // ?), "
        "printf('%08x-task-%d', i // ?, i % ?), to_timestamp(? + i * 7.5), 20, 'orc.task', "
        "'line ' || i FROM range(?) r(i)",
        [LOGS_PER_RUN, LOGS_PER_RUN, LOGS_PER_RUN, start, runs * LOGS_PER_RUN],
    )
    conn.execute("CHECKPOINT")
    conn.close()
    return f"{runs // 2:08x}-run"


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """The median wall time of `action` in milliseconds, after one warm-up call."""
    action()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def query_times(path: Path, run_id: str, repeat: int) -> dict[str, float]:
    """Each read through one open `Store`: the part of a command that is the query."""
    from orchestrate.cli.runs import read_run
    from orchestrate.store import Store

    with Store(path) as store:
        return {
            "runs ls": median_ms(lambda: store.list_flow_runs(limit=50), repeat),
            "runs show": median_ms(lambda: read_run(store, run_id), repeat),
            "logs": median_ms(lambda: store.logs(run_id), repeat),
            "dashboard snapshot": median_ms(lambda: store.recent_by_deployment(10), repeat),
        }


def command_times(root: Path, run_id: str, repeat: int) -> dict[str, float]:
    """Each read as a whole `orc` command in a fresh process, daemon down."""
    commands = {
        "runs ls": ["runs", "ls"],
        "runs show": ["runs", "show", run_id],
        "logs": ["logs", run_id],
        "dashboard snapshot": ["deployments", "ls"],
    }
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}

    def run(args: list[str]) -> None:
        subprocess.run(
            [ORC, *args, "--project", str(root)], env=env, check=True, capture_output=True
        )

    return {name: median_ms(lambda a=args: run(a), repeat) for name, args in commands.items()}


def measure(size: int, repeat: int) -> dict[str, Any]:
    """Both kinds of time for a store of `size` flow runs."""
    with tempfile.TemporaryDirectory(prefix="orc-store-bench-") as tmp:
        root = Path(tmp)
        (root / "flows.toml").write_text("[project]\nname = 'bench'\n")
        began = time.perf_counter()
        run_id = build_store(root / ".orc" / "orc.duckdb", size)
        built = time.perf_counter() - began
        return {
            "flow_runs": size,
            "build_s": round(built, 1),
            "query_ms": query_times(root / ".orc" / "orc.duckdb", run_id, repeat),
            "command_ms": command_times(root, run_id, max(3, repeat // 2)),
        }


def verdicts(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each read: its ratio largest/smallest and whether it stays fast."""
    small, large = results[0], results[-1]
    out: dict[str, dict[str, Any]] = {}
    for name, query in large["query_ms"].items():
        ratio = query / small["query_ms"][name]
        command_ratio = large["command_ms"][name] / small["command_ms"][name]
        out[name] = {
            "query_ratio": round(ratio, 2),
            "command_ratio": round(command_ratio, 2),
            "ok": command_ratio <= RATIO_LIMIT and query < QUERY_LIMIT_MS,
        }
    return out


def markdown(results: list[dict[str, Any]], judged: dict[str, dict[str, Any]]) -> str:
    """The results as the table in bench/results/store.md."""
    sizes = [f"{r['flow_runs']:,}" for r in results]
    head = " | ".join(f"{s} query | {s} command" for s in sizes)
    lines = [
        "# orc store read benchmark",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} · Python {platform.python_version()} · "
        f"{os.cpu_count()} CPUs · medians · {TASKS_PER_RUN} task runs and "
        f"{LOGS_PER_RUN} log lines per flow run",
        "",
        f"| read | {head} | ratio (command) | query < {QUERY_LIMIT_MS:g} ms |",
        "|---|" + "---|" * (2 * len(sizes) + 2),
    ]
    for name, verdict in judged.items():
        cells = " | ".join(
            f"{r['query_ms'][name]:.2f} ms | {r['command_ms'][name]:.0f} ms" for r in results
        )
        ok = "yes" if verdict["ok"] else "NO"
        lines.append(f"| `{name}` | {cells} | {verdict['command_ratio']:.2f}x | {ok} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(measure(size, args.repeat))
        print(json.dumps(results[-1]), flush=True)
    judged = verdicts(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "store.json").write_text(
        json.dumps({"results": results, "verdicts": judged}, indent=2) + "\n"
    )
    (args.out / "store.md").write_text(markdown(results, judged))
    print(markdown(results, judged))


if __name__ == "__main__":
    main()
