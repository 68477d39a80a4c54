"""orc and Prefect 3 side by side: the same flows, each in fresh processes, and what each stored.

    python bench/vs_prefect.py [--build-prefect] [--prefect-venv DIR] [--repeat 3]
                               [--prefect-repeat 1] [--out bench/results]

Prefect is never a dependency of orc: `--build-prefect` makes a venv of its own
(default `~/.cache/orc-bench/prefect-venv`) and pip-installs `prefect>=3,<4`
there; without it an existing venv at `--prefect-venv` is used, and with none
the table has orc's figures alone. Each workload runs in a new interpreter of
its library, with a home of its own (ORC_HOME, PREFECT_HOME: Prefect's
ephemeral mode with its SQLite file, as `python flow.py` gets by default), and
the flow and task runs each durably stored are counted afterwards from the
file (DuckDB for orc, SQLite for Prefect), once the process has exited. The
workload script is one text for both; only the import differs. Writes
`vs_prefect.json` and `vs_prefect.md` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ORC_BIN = Path(sys.executable).parent
DEFAULT_VENV = Path.home() / ".cache" / "orc-bench" / "prefect-venv"

#: One script for both libraries (`LIB` is `orchestrate` or `prefect`); argv: workload, n.
WORKLOAD = """\
import json, statistics, sys, time
started = time.perf_counter()
from LIB import flow, task
imported = time.perf_counter() - started


@task
def noop(x=0):
    return x


@flow
def empty():
    pass


@flow
def sequential(n):
    for i in range(n):
        noop(i)


@flow
def submitted(n):
    return [f.result() for f in [noop.submit(i) for i in range(n)]]


@flow
def mapped(n):
    return noop.map(range(n)).result()


@flow
def chain(n):
    future = noop.submit(0)
    for _ in range(n - 1):
        future = noop.submit(future)
    return future.result()


which, n = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
empty()
first = time.perf_counter() - t
if which == "empty":
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        empty()
        samples.append(time.perf_counter() - t)
    seconds = statistics.median(samples)
else:
    t = time.perf_counter()
    {"sequential": sequential, "submitted": submitted, "mapped": mapped, "chain": chain}[which](n)
    seconds = time.perf_counter() - t
print(json.dumps({"import_s": imported, "first_flow_s": first, "seconds": seconds}))
"""

#: (label, workload, n, flow runs made, task runs made)
WORKLOADS = [
    ("empty flow (warm, median of 20)", "empty", 20, 21, 0),
    ("1,000 sequential tasks", "sequential", 1000, 2, 1000),
    ("10,000 sequential tasks", "sequential", 10000, 2, 10000),
    ("1,000 submitted tasks", "submitted", 1000, 2, 1000),
    ("1,000 mapped tasks", "mapped", 1000, 2, 1000),
    ("200-task chain", "chain", 200, 2, 200),
]


class Library:
    """One side of the comparison: its interpreter, its environment and its store."""

    def __init__(self, name: str, bin_dir: Path) -> None:
        self.name = name
        self.python = str(bin_dir / "python")
        self.cli = str(bin_dir / ("orc" if name == "orc" else "prefect"))
        self.module = "orchestrate" if name == "orc" else "prefect"

    def env(self, home: Path) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ORC_"))}
        if self.name == "orc":
            return {**base, "ORC_HOME": str(home), "ORC_LOGGING_TO_CONSOLE": "0"}
        return {
            **base,
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # its temporary server starts in 20-30 s on a loaded 2-core machine; 20 s is its default
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
            "DO_NOT_TRACK": "1",
        }

    def stored(self, home: Path) -> tuple[int, int]:
        """Flow runs and task runs durably in the library's file after the process exited."""
        if self.name == "orc":
            import duckdb

            path = home / ".orc" / "orc.duckdb"
            if not path.exists():
                return 0, 0
            with duckdb.connect(str(path), read_only=True) as db:
                return tuple(  # type: ignore[return-value]
                    db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                    for table in ("flow_runs", "task_runs")
                )
        path = home / "prefect.db"
        if not path.exists():
            return 0, 0
        with sqlite3.connect(path) as db:
            return tuple(  # type: ignore[return-value]
                db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("flow_run", "task_run")
            )

    def workload(self, which: str, n: int, home: Path) -> dict[str, float]:
        """One fresh process running `which`; its own timings plus the whole process's wall time."""
        script = WORKLOAD.replace("LIB", self.module)
        started = time.perf_counter()
        out = subprocess.run(
            [self.python, "-c", script, which, str(n)],
            env=self.env(home), cwd=home, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if out.returncode != 0:
            raise RuntimeError(f"{self.name} {which} failed:\n{out.stderr[-3000:]}")
        return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall_s": wall}

    def cli_wall(self, args: list[str], home: Path, repeat: int) -> float:
        """Median seconds of a CLI command, a fresh process each time."""
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(
                [self.cli, *args], env=self.env(home), cwd=home, capture_output=True, timeout=600
            )
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)


def build_prefect(venv: Path, spec: str) -> None:
    """A venv of Prefect's own, never orc's."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", spec], check=True)


def measure(lib: Library, repeat: int) -> dict[str, Any]:
    """Every workload `repeat` times (medians), stored counts, first flow and CLI figures."""
    figures: dict[str, Any] = {"workloads": {}}
    firsts, imports = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for label, which, n, flow_runs, task_runs in WORKLOADS:
            runs, kept = [], []
            for i in range(repeat):
                home = Path(tmp) / f"{which}-{n}-{i}"
                home.mkdir()
                result = lib.workload(which, n, home)
                runs.append(result)
                kept.append(lib.stored(home))
                firsts.append(result["first_flow_s"])
                imports.append(result["import_s"])
            seconds = statistics.median(r["seconds"] for r in runs)
            figures["workloads"][label] = {
                "seconds": seconds,
                "per_task_us": seconds / n * 1e6 if task_runs else None,
                "process_wall_s": statistics.median(r["wall_s"] for r in runs),
                "flow_runs_made": flow_runs,
                "task_runs_made": task_runs,
                "flow_runs_stored": min(k[0] for k in kept),
                "task_runs_stored": min(k[1] for k in kept),
            }
            print(lib.name, label, json.dumps(figures["workloads"][label]), flush=True)
        figures["import_s"] = statistics.median(imports)
        figures["first_flow_s"] = statistics.median(firsts)
        home = Path(tmp) / "sequential-1000-0"
        version = ["version"]
        listing = ["runs", "ls"] if lib.name == "orc" else ["flow-run", "ls"]
        figures["cli"] = {
            "version": lib.cli_wall(version, home, 5),
            "list runs": lib.cli_wall(listing, home, 5),
        }
    return figures


def _ms(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.0f} µs"
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def table(results: dict[str, Any]) -> list[str]:
    """The markdown rows: orc, Prefect, and how many times faster orc is."""
    orc, prefect = results["orc"], results.get("prefect")
    head = "| figure | orc | Prefect | Prefect / orc |" if prefect else "| figure | orc |"
    lines = [head, "|---|---|---|---|" if prefect else "|---|---|"]

    def row(label: str, ours: float, theirs: float | None, fmt: Any = _ms) -> None:
        if prefect is None or theirs is None:
            lines.append(f"| {label} | {fmt(ours)} |")
        else:
            lines.append(f"| {label} | {fmt(ours)} | {fmt(theirs)} | {theirs / ours:,.1f}x |")

    row("`import` (fresh process)", orc["import_s"], prefect and prefect["import_s"])
    row("first flow in a fresh process", orc["first_flow_s"], prefect and prefect["first_flow_s"])
    for label, ours in orc["workloads"].items():
        theirs = prefect["workloads"][label] if prefect else None
        row(label, ours["seconds"], theirs and theirs["seconds"])
        if ours["per_task_us"]:
            row(
                f"{label}: per task",
                ours["per_task_us"],
                theirs and theirs["per_task_us"],
                lambda us: f"{us:,.0f} µs",
            )
    for label, ours in orc["cli"].items():
        command = {"version": "version", "list runs": "runs ls` / `flow-run ls"}[label]
        row(f"CLI `{command}` (no server)", ours, prefect and prefect["cli"][label])
    lines += ["", "What each durably stored (fewest over the rounds):", ""]
    lines.append(
        "| workload | made (flow / task runs) | orc stored | Prefect stored |"
        if prefect
        else "| workload | made (flow / task runs) | orc stored |"
    )
    lines.append("|---|---|---|---|" if prefect else "|---|---|---|")
    for label, ours in orc["workloads"].items():
        made = f"{ours['flow_runs_made']} / {ours['task_runs_made']}"
        cells = [label, made, f"{ours['flow_runs_stored']} / {ours['task_runs_stored']}"]
        if prefect:
            theirs = prefect["workloads"][label]
            cells.append(f"{theirs['flow_runs_stored']} / {theirs['task_runs_stored']}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-prefect", action="store_true", help="make Prefect's venv first")
    parser.add_argument("--prefect-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--prefect-spec", default="prefect>=3,<4")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each workload for orc")
    parser.add_argument(
        "--prefect-repeat", type=int, default=1, help="rounds for Prefect (each ~30 s or more)"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the .md from the saved .json"
    )
    args = parser.parse_args()
    if args.report_only:
        results = json.loads((args.out / "vs_prefect.json").read_text())
    else:
        results = run_all(args)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "vs_prefect.json").write_text(json.dumps(results, indent=2) + "\n")
    against = f"Prefect {results['prefect_version']}" if "prefect" in results else "no Prefect venv"
    lines = [
        "# orc and Prefect side by side",
        "",
        f"{results['date']}; {results['machine']}; orc {results['orc_version']} against "
        f"{against}; medians of {results['repeat']} fresh processes per workload for orc "
        f"({results.get('prefect_repeat', 0)} for Prefect), each with a home of its own "
        "(orc: DuckDB, Prefect: ephemeral mode, SQLite); stored rows counted from the file "
        "after the process exited. The machine was shared with other work throughout, so "
        "both sides' absolute figures are high; orc's rounds ran first, then Prefect's. "
        "`python bench/vs_prefect.py --build-prefect` to reproduce.",
        "",
        *table(results),
    ]
    (args.out / "vs_prefect.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Build Prefect's venv if asked, then measure orc, and Prefect when its venv is there."""
    if args.build_prefect:
        build_prefect(args.prefect_venv, args.prefect_spec)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "orc_version": _orc_version(),
        "repeat": args.repeat,
        "orc": measure(Library("orc", ORC_BIN), args.repeat),
    }
    prefect_bin = args.prefect_venv / "bin"
    if (prefect_bin / "prefect").exists():
        version = subprocess.run(
            [str(prefect_bin / "python"), "-c", "import prefect; print(prefect.__version__)"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        results["prefect_version"] = version
        results["prefect_repeat"] = args.prefect_repeat
        results["prefect"] = measure(Library("prefect", prefect_bin), args.prefect_repeat)
    return results


def _orc_version() -> str:
    from orchestrate._version import __version__

    return __version__


if __name__ == "__main__":
    main()
