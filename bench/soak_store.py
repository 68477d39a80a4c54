"""Store soak: months of a busy project with run retention on; the file must level off.

    python bench/soak_store.py [--days 120] [--runs-per-day 2000] [--retention-days 30]

Each simulated day adds `--runs-per-day` finished flow runs (five task runs and
four log lines each, as `bench/store.py` writes them) to a real store file,
then prunes what ended more than `--retention-days` ago with the same code
`orc prune` and the daemon's hourly prune use, and checkpoints. The file's size
is recorded each day. It levels off when the last `--retention-days` days grow
it by less than 10 % while the store holds the same number of days of runs.
Writes `soak_store.json` and `soak_store.md` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DAY = 86_400
START = 1_700_000_000
TASKS_PER_RUN = 5
LOGS_PER_RUN = 4
LEVEL_GROWTH = 0.10


def add_day(conn: Any, day: int, runs: int) -> None:
    """One day of finished runs, with ids that are unique across days."""
    base = START + day * DAY
    spacing = DAY / runs
    conn.execute(
        "INSERT INTO flow_runs SELECT printf('%04d-%08x-run', ?, i), 'run-' || i, 'etl', "
        "CASE WHEN i % 7 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, "
        "CASE WHEN i % 7 = 0 THEN 'Failed' ELSE 'Completed' END, NULL, "
        "to_timestamp(? + i * ?), NULL, NULL, NULL, '{}', ['nightly'], NULL, NULL, "
        "'dep-' || (i % 10), 'flows.py:etl', NULL, to_timestamp(? + i * ?), "
        "to_timestamp(? + i * ?), to_timestamp(? + i * ? + 1), to_timestamp(? + i * ? + 9), 1 "
        "FROM range(?) r(i)",
        [day, base, spacing, base, spacing, base, spacing, base, spacing, base, spacing, runs],
    )
    conn.execute(
        "INSERT INTO task_runs SELECT printf('%04d-%08x-task-%d', ?, i // ?, i % ?), "
        "printf('%04d-%08x-run', ?, i // ?), 'step-' || (i % ?), 'flows.step', 0, 'task', "
        "'COMPLETED', 'Completed', NULL, to_timestamp(? + i * ?), NULL, NULL, NULL, [], NULL, "
        "NULL, to_timestamp(? + i * ?), to_timestamp(? + i * ?), to_timestamp(? + i * ? + 1), 1 "
        "FROM range(?) r(i)",
        [day, TASKS_PER_RUN, TASKS_PER_RUN, day, TASKS_PER_RUN, TASKS_PER_RUN]
        + [base, spacing / TASKS_PER_RUN] * 4
        + [runs * TASKS_PER_RUN],
    )
    conn.execute(
        "INSERT INTO logs SELECT printf('%04d-%08x-run', ?, i // ?), "
        "printf('%04d-%08x-task-%d', ?, i // ?, i % ?), to_timestamp(? + i * ?), 20, 'orc.task', "
        "'line ' || i FROM range(?) r(i)",
        [
            day,
            LOGS_PER_RUN,
            day,
            LOGS_PER_RUN,
            LOGS_PER_RUN,
            base,
            spacing / LOGS_PER_RUN,
            runs * LOGS_PER_RUN,
        ],
    )


def soak(path: Path, days: int, runs_per_day: int, retention_days: int) -> list[dict[str, Any]]:
    import duckdb

    from orchestrate.store import migrations, pruning

    conn = duckdb.connect(str(path))
    migrations.migrate(conn, path)
    rows = []
    for day in range(days):
        began = time.perf_counter()
        add_day(conn, day, runs_per_day)
        now = START + (day + 1) * DAY
        removed = pruning.prune_file(conn, now - retention_days * DAY, None, dry_run=False)
        conn.execute("CHECKPOINT")
        kept = conn.execute("SELECT count(*) FROM flow_runs").fetchone()[0]  # type: ignore[index]
        rows.append(
            {
                "day": day + 1,
                "size_mb": path.stat().st_size / 1e6,
                "flow_runs_kept": int(kept),
                "flow_runs_pruned": removed.flow_runs,
                "seconds": time.perf_counter() - began,
            }
        )
        print(f"day {day + 1:4d}  {rows[-1]['size_mb']:8.1f} MB  {kept:9,d} runs kept", flush=True)
    conn.close()
    return rows


def levelled_off(rows: list[dict[str, Any]], retention_days: int) -> tuple[bool, float]:
    """Whether the file grew by less than LEVEL_GROWTH over the last `retention_days` days."""
    if len(rows) < 2 * retention_days + 1:
        return False, float("nan")
    before = rows[-retention_days - 1]["size_mb"]
    growth = rows[-1]["size_mb"] / before - 1
    return growth < LEVEL_GROWTH, growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--runs-per-day", type=int, default=2000)
    parser.add_argument("--retention-days", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = soak(Path(tmp) / "orc.duckdb", args.days, args.runs_per_day, args.retention_days)
    flat, growth = levelled_off(rows, args.retention_days)
    result = {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "days": args.days,
        "runs_per_day": args.runs_per_day,
        "retention_days": args.retention_days,
        "levelled_off": flat,
        "growth_over_last_retention_window": growth,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak_store.json").write_text(json.dumps(result, indent=2))
    step = max(1, args.days // 12)
    table = "\n".join(
        f"| {r['day']} | {r['size_mb']:.1f} MB | {r['flow_runs_kept']:,} | {r['flow_runs_pruned']:,} |"
        for r in rows[step - 1 :: step]
    )
    (args.out / "soak_store.md").write_text(
        f"# orc store soak: run retention\n\n{args.runs_per_day:,} runs a day "
        f"({TASKS_PER_RUN} task runs and {LOGS_PER_RUN} log lines each), "
        f'`run_retention = "{args.retention_days}d"`, {args.days} days · {result["machine"]}\n\n'
        f"| day | file | flow runs kept | pruned that day |\n|---|---|---|---|\n{table}\n\n"
        f"Growth over the last {args.retention_days} days: {growth:+.1%} "
        f"({'levelled off' if flat else 'still growing'}; the bar is < {LEVEL_GROWTH:.0%}).\n"
    )
    print(f"growth over the last {args.retention_days} days: {growth:+.1%}")
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
