"""CLI wall time: each command run N times against a real `orc up`, medians, with `python -c pass`.

    python bench/cli.py [--repeat 15] [--out bench/results]

A real daemon runs in a temporary project (the flows.toml and flow below); each
command is a fresh `orc` process, as a user types it, timed from spawn to exit
(hyperfine's way, without its shell). `orc run NAME → body` is from the spawn of
`orc run` to the first log line of the flow body, as the daemon stored it.
Writes `cli.json` and `cli.md` to the output folder.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ORC = str(Path(sys.executable).parent / "orc")
FLOWS_TOML = """\
[project]
name = "bench-cli"

[[deployments]]
name = "hello"
entrypoint = "flows.py:hello"
"""
FLOW = """\
from orchestrate import flow, get_run_logger, task


@task
def one(i: int) -> int:
    return i


@flow
def hello(n: int = 3) -> int:
    get_run_logger().info("body")
    return sum(one(i) for i in range(n))
"""


def start_daemon(root: Path) -> subprocess.Popen[bytes]:
    """`orc up` in `root`, once its socket answers."""
    from orchestrate.client import DaemonNotRunning, connect

    (root / "flows.toml").write_text(FLOWS_TOML)
    (root / "flows.py").write_text(FLOW)
    proc = subprocess.Popen(
        [ORC, "up", "--project", str(root)], stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connect(root, timeout=2).close()
            return proc
        except DaemonNotRunning:
            time.sleep(0.05)
    raise RuntimeError("orc up did not start")


def wall(argv: list[str], repeat: int, cwd: Path) -> list[float]:
    """Milliseconds from spawn to exit of `argv`, `repeat` times (after one not counted)."""
    samples = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
        samples.append((time.perf_counter() - started) * 1000)
    return samples[1:]


def run_to_body(root: Path, repeat: int) -> list[float]:
    """Milliseconds from spawning `orc run hello` to the flow body's first stored log line."""
    from orchestrate.client import connect

    samples = []
    with connect(root) as client:
        for _ in range(repeat + 1):
            started = time.time()
            out = subprocess.run(
                [ORC, "run", "hello", "--json"], check=True, capture_output=True, cwd=root
            ).stdout
            run_id = json.loads(out)["id"]
            with client.subscribe(["flow_run"], flow_run_id=run_id) as changes:
                if client.run(run_id).run.state.type not in ("COMPLETED", "FAILED", "CRASHED"):
                    for change in changes:
                        if change.data.get("settled"):
                            break
            first = next(line for line in client.logs(run_id) if line.message == "body")
            samples.append((first.ts - started) * 1000)
    return samples[1:]


def measure(root: Path, repeat: int) -> dict[str, list[float]]:
    """Every figure of the table, as samples in milliseconds."""
    samples: dict[str, list[float]] = {
        "python -c pass": wall([sys.executable, "-c", "pass"], repeat, root),
        "orc version": wall([ORC, "version"], repeat, root),
    }
    proc = start_daemon(root)
    try:
        samples["orc run hello → flow body"] = run_to_body(root, repeat)
        run_id = json.loads(
            subprocess.run(
                [ORC, "runs", "ls", "--json"], check=True, capture_output=True, cwd=root
            ).stdout
        )[0]["id"]
        commands = {
            "orc status": ["status"],
            "orc status --json": ["status", "--json"],
            "orc runs ls": ["runs", "ls"],
            "orc runs ls --json": ["runs", "ls", "--json"],
            "orc runs show RUN": ["runs", "show", run_id],
            "orc logs RUN": ["logs", run_id],
        }
        for label, args in commands.items():
            samples[label] = wall([ORC, *args], repeat, root)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return samples


def write(results: dict[str, Any], out: Path) -> None:
    """`cli.json` and `cli.md`: medians, p90 and the ratio to a cold `python -c pass`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cli.json").write_text(json.dumps(results, indent=2) + "\n")
    base = results["figures"]["python -c pass"]["median_ms"]
    lines = [
        "# orc CLI wall time",
        "",
        f"{results['date']}; {results['machine']}; {results['repeat']} runs each, "
        "a fresh process each, against a real `orc up`.",
        "",
        "| command | median | p90 | x `python -c pass` | target |",
        "|---|---|---|---|---|",
    ]
    for label, figure in results["figures"].items():
        target = "" if label == "python -c pass" else "≤ 100 ms"
        if label.startswith("orc") and label not in ("orc version", "orc run hello → flow body"):
            target += ", ≤ 3x"
        lines.append(
            f"| `{label}` | {figure['median_ms']:.0f} ms | {figure['p90_ms']:.0f} ms "
            f"| {figure['median_ms'] / base:.1f}x | {target} |"
        )
    (out / "cli.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = measure(Path(tmp), args.repeat)
    figures = {
        label: {
            "median_ms": statistics.median(values),
            "p90_ms": sorted(values)[round(0.9 * (len(values) - 1))],
            "min_ms": min(values),
        }
        for label, values in samples.items()
    }
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "figures": figures,
    }
    write(results, args.out)


if __name__ == "__main__":
    main()
