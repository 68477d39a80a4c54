"""The store writer's CPU per one-task run, by how many runs one batch holds.

At 100 runs/s the daemon's writer (50 ms batches) stores ~5 runs a batch; at
200 runs/s it would store ~10. This measures whether its cost per run falls as
batches grow (a fixed cost per batch or statement) or stays (a cost per row):
each batch is the records the daemon gives the writer for N one-task runs
(the worker's snapshots, states and logs from running the flow in-process,
the daemon's Pending, and one event per state, as `daemon.recorder` makes
them), each run's start in one batch and its end in the next, as a run of
~20 ms spans the writer's 50 ms rounds, put at once and flushed; CPU is the whole process's (the writer's
thread and DuckDB's), from `getrusage`.

    python bench/daemon_writer_batches.py [--runs 600] [--sizes 1,3,10,30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrate import flow, task
from orchestrate.core.records import FlowRunRecord, Record, StateRecord, TaskRunRecord
from orchestrate.core.states import Pending, StateType
from orchestrate.daemon import state_events
from orchestrate.recording import KeptSink, set_sink
from orchestrate.store.writer import StoreWriter


@task
def one(i: int) -> int:
    return i


@flow
def one_task(i: int = 0) -> int:
    return one(i)


def run_records(i: int) -> tuple[list[Record], list[Record]]:
    """What the daemon's writer is given for one one-task run: as it starts (the daemon's
    Pending, the worker's first line: the run Running) and as it ends (the rest). They reach
    the writer in different batches, so the run's row is upserted as in the daemon."""
    sink = KeptSink()
    set_sink(sink)
    one_task(i)
    flow_run = next(r for r in sink.records if type(r) is FlowRunRecord)
    task_run = next(r for r in sink.records if type(r) is TaskRunRecord)
    states = [r for r in sink.records if type(r) is StateRecord]
    running = next(r for r in states if not r.is_task and r.state.type is StateType.RUNNING)
    pending = StateRecord(flow_run.id, flow_run.id, False, Pending())
    head: list[Record] = [pending, state_events.flow_run_event(flow_run, pending.state, None)]
    head += [replace(flow_run, state=running.state, end_time=None), running]
    head.append(state_events.flow_run_event(flow_run, running.state, None))
    tail: list[Record] = []
    for record in sink.records:
        if record is running or (type(record) is StateRecord and record.state.name == "Pending"
                                 and not record.is_task):  # fmt: skip
            continue  # the daemon recorded it (`pending_recorded`), or it went in the head
        tail.append(replace(record) if type(record) in (FlowRunRecord, TaskRunRecord) else record)
        if type(record) is StateRecord:
            tail.append(
                state_events.task_run_event(task_run, record.state, None, flow_run)
                if record.is_task
                else state_events.flow_run_event(flow_run, record.state, None)
            )
    return head, tail


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(size: int, runs: int, threads: int | None = None) -> dict[str, Any]:
    """CPU per run of storing `runs` one-task runs in batches of `size` runs, in a fresh store."""
    halves = [[run_records(b * size + i) for i in range(size)] for b in range(runs // size + 1)]
    batches = [  # the runs starting now, and the ends of those that started a batch before
        [r for head, _ in halves[b] for r in head]
        + ([r for _, tail in halves[b - 1] for r in tail] if b else [])
        for b in range(len(halves))
    ]
    rows = sum(len(batch) for batch in batches)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orc.duckdb"
        conn = None
        if threads is not None:  # the daemon's way: one connection, held; DuckDB's pool sized
            from orchestrate.store import connection, migrations

            conn = connection.connect(path)
            migrations.migrate(conn, path)
            conn.execute(f"SET threads = {threads}")
        writer = StoreWriter(path, connection=conn)
        for record in (r for half in run_records(-1) for r in half):
            writer.put(record)
        writer.flush()
        began, wall = _cpu(), time.perf_counter()
        for batch in batches:
            for record in batch:
                writer.put(record)
            assert writer.flush(60)
        cpu, wall = _cpu() - began, time.perf_counter() - wall
        writer.close()
    stored = runs // size * size  # and the heads of one batch more
    return {
        "runs_per_batch": size,
        "duckdb_threads": threads,
        "runs": stored,
        "records_per_run": rows / (stored + size),
        "cpu_ms_per_run": cpu / stored * 1000,
        "cpu_ms_per_batch": cpu / len(batches) * 1000,
        "wall_ms_per_run": wall / stored * 1000,
    }


#: CPU (the whole process's) and count per statement kind, when `--statements` asks.
_by_statement: dict[str, list[float]] = {}


def time_statements() -> None:
    """Replace the store's statement loop with one that sends each statement alone and adds
    its CPU to `_by_statement` (the store sends those without parameters together)."""
    from orchestrate.store import batch

    def timed(conn: Any, statements: list[Any], prepared: set[str], commit: bool) -> None:
        def execute(sql: str, parameters: Any = None) -> Any:
            kind = sql.split("(")[0][:40] if sql.startswith("EXECUTE") else sql[:40]
            began = _cpu()
            try:
                return conn.execute(sql, parameters)
            finally:
                spent = _by_statement.setdefault(kind, [0.0, 0])
                spent[0] += _cpu() - began
                spent[1] += 1

        execute("BEGIN TRANSACTION")
        for sql, parameters, prepare in statements:
            if prepare is not None and prepare[0] not in prepared:
                execute(f"PREPARE {prepare[0]} AS {prepare[1]}")
                prepared.add(prepare[0])
            execute(sql, parameters)
        execute("COMMIT" if commit else "ROLLBACK")

    batch._execute_all = timed  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--sizes", default="1,3,10,30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--statements", action="store_true", help="CPU by statement kind")
    parser.add_argument("--threads", type=int, help="DuckDB's threads (its default: the cores)")
    args = parser.parse_args()
    if args.statements:
        time_statements()
    os.environ.setdefault("ORC_LOGGING_TO_CONSOLE", "0")
    results = []
    for _ in range(args.repeat):
        for size in (int(s) for s in args.sizes.split(",")):
            result = measure(size, args.runs, args.threads)
            print(json.dumps(result), flush=True)
            results.append(result)
    table = [
        "| runs a batch | records a run | writer CPU a run (median) | a batch |",
        "|---|---|---|---|",
    ]
    for size in sorted({r["runs_per_batch"] for r in results}):
        mine = [r for r in results if r["runs_per_batch"] == size]
        per_run = statistics.median(r["cpu_ms_per_run"] for r in mine)
        per_batch = statistics.median(r["cpu_ms_per_batch"] for r in mine)
        table.append(
            f"| {size} | {mine[0]['records_per_run']:.1f} | {per_run:.2f} ms | {per_batch:.1f} ms |"
        )
    print("\n".join(table))
    for kind, (cpu, count) in sorted(_by_statement.items(), key=lambda kv: -kv[1][0]):
        print(f"{kind:42s} {count:6d} statements, {cpu / count * 1000:6.2f} ms each")
    if args.out is not None:
        args.out.write_text(json.dumps({"load": os.getloadavg()[0], "runs": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
