"""Transactions: what a task run costs outside a transaction, inside one, and with commit hooks.

    python bench/transactions.py [--rounds 30] [--out bench/results]

Outside a transaction (and without commit/rollback hooks) a task run must
cost what it did before transactions existed; inside one, each task run
stages its result and stays a child until the outermost transaction
commits. Runs record nowhere (a null sink) so the engine alone is measured,
and the figure is CPU time per task (these machines are shared, and wall
time measures the neighbours). Medians over `--rounds` rounds of 1,000
sequential tasks. Writes `transactions.json` and `transactions.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = 1000


def per_task_us(run: Callable[[int], Any], rounds: int) -> dict[str, float]:
    run(50)  # warm: parameter models, loggers
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        run(TASKS)
        samples.append((time.process_time() - started) / TASKS * 1e6)
    return {"median": statistics.median(samples), "min": min(samples)}


def workloads(rounds: int) -> dict[str, dict[str, float]]:
    from orchestrate import flow, task
    from orchestrate.transactions import transaction

    @task
    def noop(x: int) -> int:
        return x

    hooked = noop.with_options(name="hooked", on_commit=[lambda txn: None])

    @flow
    def plain(n: int) -> None:
        for i in range(n):
            noop(i)

    @flow
    def in_transaction(n: int) -> None:
        with transaction():
            for i in range(n):
                noop(i)

    @flow
    def with_commit_hook(n: int) -> None:
        for i in range(n):
            hooked(i)

    return {
        "plain": per_task_us(plain, rounds),
        "in_transaction": per_task_us(in_transaction, rounds),
        "with_commit_hook": per_task_us(with_commit_hook, rounds),
    }


def render(results: dict[str, dict[str, float]], rounds: int) -> str:
    rows = [
        ("1,000 sequential tasks, no transaction", results["plain"]),
        ("the same inside `with transaction()`", results["in_transaction"]),
        ("the same, each task with an `on_commit` hook", results["with_commit_hook"]),
    ]
    lines = [
        "# orc transactions benchmark",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')} · Python {platform.python_version()} · "
        f"{os.cpu_count()} CPUs · CPU time per task, median (min) of {rounds} rounds · no recording",
        "",
        "| workload | per task |",
        "|---|---|",
        *(f"| {name} | {r['median']:.1f} µs ({r['min']:.1f}) |" for name, r in rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    project = Path(tempfile.mkdtemp(prefix="orc-bench-txn-"))
    os.environ["ORC_HOME"] = str(project)
    os.environ["ORC_LOGGING_TO_CONSOLE"] = "0"
    os.chdir(project)
    from orchestrate.recording import NullSink, set_sink

    set_sink(NullSink())
    results = workloads(args.rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "transactions.json").write_text(json.dumps(results, indent=2) + "\n")
    report = render(results, args.rounds)
    (args.out / "transactions.md").write_text(report)
    print(report, end="")


if __name__ == "__main__":
    main()
