"""Daemon soak: does `orc up` hold the same memory, files and threads after many runs?

    python bench/daemon_soak.py [--minutes 60] [--rate 25] [--every 15] [--out bench/results]

A real `orc up` in a temporary project runs one-task flows at a steady
`--rate` a second (below what the machine sustains, so the figures are about
what the daemon keeps, not about a backlog) for `--minutes`. Every `--every`
seconds it samples the daemon's RSS, DuckDB's own share of it (`duckdb_memory()`),
its open files and threads, and the runs settled so far.

Memory that grows with the runs for good grows at the same slope in the last
half of the soak as in the first; memory that fills a bounded cache levels
off. The table gives both slopes, in MB per 10,000 runs, without DuckDB's share
(the store file grows with the history it holds; `run_retention` bounds that).
Writes `daemon_soak.json` and `daemon_soak.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from daemon import stop
from daemon_rates import _notes, _rss_mb, daemon


def soak(root: Path, minutes: float, rate: float, every: float) -> dict[str, Any]:
    from orchestrate.client import connect

    proc = daemon(root, max_runs=8)
    samples: list[dict[str, float]] = []
    try:
        with connect(root, timeout=60) as client, client.subscribe(["flow_run"]) as changes:
            began = time.monotonic()
            created = settled = 0
            next_sample = began
            ends = began + minutes * 60
            for change in _changes_or_ticks(changes, 1 / rate):
                now = time.monotonic()
                if change is not None and change.data.get("settled"):
                    settled += 1
                while created < (min(now, ends) - began) * rate:
                    client.create_run("one_task", {"i": created})
                    created += 1
                if now >= next_sample:
                    samples.append(_sample(proc.pid, client, now - began, settled))
                    next_sample += every
                if now >= ends and settled >= created:
                    break
            samples.append(_sample(proc.pid, client, time.monotonic() - began, settled))
    finally:
        stop(proc)
    return {"minutes": minutes, "rate": rate, "runs": settled, "samples": samples}


def _changes_or_ticks(changes: Any, tick: float) -> Any:
    """The subscription's changes, and None at least every `tick` seconds when none come."""
    from orchestrate.client import DaemonTimeout

    while True:
        try:
            yield changes.get(timeout=tick)
        except DaemonTimeout:
            yield None


def _sample(pid: int, client: Any, at: float, settled: int) -> dict[str, float]:
    duckdb_mb = client.sql_query("SELECT sum(memory_usage_bytes) / 2^20 FROM duckdb_memory()")
    return {
        "seconds": round(at, 1),
        "runs": settled,
        "rss_mb": round(_rss_mb(pid), 1),
        "duckdb_mb": round(float(duckdb_mb.rows[0][0] or 0.0), 1),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": len(os.listdir(f"/proc/{pid}/task")),
    }


def slopes(samples: list[dict[str, float]]) -> dict[str, float]:
    """MB per 10,000 runs of the daemon's RSS without DuckDB's share, first half and last
    half of the soak (medians of the samples at each end, the machine being noisy)."""
    rest = [(s["runs"], s["rss_mb"] - s["duckdb_mb"]) for s in samples if s["runs"] > 0]
    if len(rest) < 9:
        return {}
    third = len(rest) // 4

    def at(part: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r for r, _ in part), statistics.median(m for _, m in part)

    start, middle, end = (
        at(rest[:third]),
        at(rest[len(rest) // 2 - third // 2 :][:third]),
        at(rest[-third:]),
    )
    per = lambda a, b: (b[1] - a[1]) / max(1.0, b[0] - a[0]) * 10_000  # noqa: E731
    return {"first_half_mb_per_10k": per(start, middle), "last_half_mb_per_10k": per(middle, end)}


def render(result: dict[str, Any]) -> str:
    samples = result["samples"]
    first, last = samples[0], samples[-1]
    slope = slopes(samples)
    rows = [
        (
            "runs settled",
            f"{result['runs']:,} over {result['minutes']:g} min at {result['rate']:g}/s",
        ),
        ("daemon RSS, first sample → last", f"{first['rss_mb']} → {last['rss_mb']} MB"),
        ("DuckDB's share, first → last", f"{first['duckdb_mb']} → {last['duckdb_mb']} MiB"),
        ("open files, first → last", f"{first['fds']} → {last['fds']}"),
        ("threads, first → last", f"{first['threads']} → {last['threads']}"),
    ]
    if slope:
        rows.append(
            (
                "RSS without DuckDB, MB per 10k runs: first half / last half",
                f"{slope['first_half_mb_per_10k']:.1f} / {slope['last_half_mb_per_10k']:.1f}",
            )
        )
    lines = ["# orc daemon soak", "", f"Machine: {result['machine']}", ""]
    lines += ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--every", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = soak(Path(tmp), args.minutes, args.rate, args.every)
    result["machine"] = (
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "daemon_soak.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = args.out / "daemon_soak.md"
    markdown.write_text(render(result) + _notes(markdown))  # the notes by hand are kept
    print(render(result))


if __name__ == "__main__":
    main()
