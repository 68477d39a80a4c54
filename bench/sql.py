"""`orc sql --json` wall time with the daemon up and down, for answers of a few sizes.

    python bench/sql.py [--repeat 5] [--out bench/results]

A real `orc up` in a temporary project answers `orc sql --json` for a query of
N rows (about 60 bytes each); each figure is the median wall time of
`--repeat` runs of the real `orc` command, stdout to /dev/null. The same
queries then run with the daemon stopped (the store file read directly).
Writes `sql.json` and `sql.md` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ORC = str(Path(sys.executable).parent / "orc")
SIZES = (1, 10_000, 100_000)


def _query(rows: int) -> str:
    return f"SELECT i, 'row ' || i AS name, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS at FROM range({rows}) t(i)"


def _median_ms(root: Path, rows: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([ORC, "sql", "--json", _query(rows), "--project", str(root)],
                       stdout=subprocess.DEVNULL, check=True)  # fmt: skip
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _up(root: Path) -> subprocess.Popen[bytes]:
    (root / "flows.toml").write_text("[project]\nname = 'bench'\n")
    proc = subprocess.Popen([ORC, "up", "--project", str(root)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while subprocess.run([ORC, "status", "--project", str(root)], capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise SystemExit("orc up did not answer within 30 s")
        time.sleep(0.1)  # the interval between checks that the daemon answers
    return proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc = _up(root)
        try:
            results["up_ms"] = {str(n): _median_ms(root, n, args.repeat) for n in SIZES}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        results["down_ms"] = {str(n): _median_ms(root, n, args.repeat) for n in SIZES}
    print(json.dumps(results), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sql.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# `orc sql --json` benchmarks", "", f"Machine: {results['machine']}", "",
             "| rows | daemon up | daemon down |", "|---:|---:|---:|"]  # fmt: skip
    lines += [
        f"| {n:,} | {results['up_ms'][str(n)]:.0f} ms | {results['down_ms'][str(n)]:.0f} ms |"
        for n in SIZES
    ]
    (args.out / "sql.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
