"""CLI wall time: each command run N times against a real `orc up`, medians, with `python -c pass`.

    python bench/cli.py [--repeat 15] [--baseline ../main] [--out bench/results]

A real daemon runs in a temporary project (the flows.toml and flow below); each
command is a fresh `orc` process, as a user types it, timed from spawn to exit
(hyperfine's way, without its shell). `orc run NAME → body` is from the spawn of
`orc run` to the first log line of the flow body, as the daemon stored it.
With `--baseline DIR` (another orc source tree, run through PYTHONPATH with
this venv) each command also runs from that tree, in turns with this one, so
the before and after figures share the machine's busy moments. Writes
`cli.json` and `cli.md` to the output folder.
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

Samples = dict[str, list[float]]
FINAL = ("COMPLETED", "FAILED", "CRASHED")

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


def variants(baseline: Path | None) -> dict[str, dict[str, str]]:
    """The environments each command runs in: this tree, and the baseline source tree if given."""
    now = {**os.environ}
    now.pop("PYTHONPATH", None)
    if baseline is None:
        return {"now": now}
    return {"now": now, "before": {**now, "PYTHONPATH": str(baseline.resolve())}}


def wall(argv: list[str], repeat: int, cwd: Path, envs: dict[str, dict[str, str]]) -> Samples:
    """Milliseconds from spawn to exit of `argv` in each environment, taking turns, `repeat`
    times each (after one round not counted), so a busy moment hits both alike."""
    samples: Samples = {name: [] for name in envs}
    for _ in range(repeat + 1):
        for name, env in envs.items():
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, cwd=cwd, env=env)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: values[1:] for name, values in samples.items()}


def run_to_body(root: Path, repeat: int, envs: dict[str, dict[str, str]]) -> Samples:
    """Milliseconds from spawning `orc run hello` to the flow body's first stored log line."""
    from orchestrate.client import connect

    samples: Samples = {name: [] for name in envs}
    with connect(root) as client:
        for _ in range(repeat + 1):
            for name, env in envs.items():
                started = time.time()
                out = subprocess.run(
                    [ORC, "run", "hello", "--json"], check=True, capture_output=True, cwd=root,
                    env=env,
                ).stdout  # fmt: skip
                run_id = json.loads(out)["id"]
                with client.subscribe(["flow_run"], flow_run_id=run_id) as changes:
                    if client.run(run_id).run.state.type not in FINAL:
                        for change in changes:
                            if change.data.get("settled"):
                                break
                first = next(line for line in client.logs(run_id) if line.message == "body")
                samples[name].append((first.ts - started) * 1000)
    return {name: values[1:] for name, values in samples.items()}


def measure(root: Path, repeat: int, baseline: Path | None) -> dict[str, Samples]:
    """Every figure of the table, as samples in milliseconds per environment."""
    envs = variants(baseline)
    samples: dict[str, Samples] = {
        "python -c pass": wall([sys.executable, "-c", "pass"], repeat, root, {"now": envs["now"]}),
        "orc version": wall([ORC, "version"], repeat, root, envs),
    }
    proc = start_daemon(root)
    try:
        samples["orc run hello → flow body"] = run_to_body(root, repeat, envs)
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
            samples[label] = wall([ORC, *args], repeat, root, envs)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return samples


def figure(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(values),
        "p90_ms": sorted(values)[round(0.9 * (len(values) - 1))],
        "min_ms": min(values),
    }


def write(results: dict[str, Any], out: Path) -> None:
    """`cli.json` and `cli.md`: medians, p90, the ratio to a cold `python -c pass`, and the
    baseline's median beside each when one was measured."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cli.json").write_text(json.dumps(results, indent=2) + "\n")
    base = results["figures"]["python -c pass"]["now"]["median_ms"]
    before = results.get("baseline")
    lines = [
        "# orc CLI wall time",
        "",
        f"{results['date']}; {results['machine']}; {results['repeat']} runs each, "
        "a fresh process each, against a real `orc up`"
        + (f"; before = {before}, run in turns with now" if before else "")
        + ". The machine was shared with other work: compare within a row.",
        "",
        "| command | median | p90 | x `python -c pass` |"
        + (" before (median) | before / now |" if before else "")
        + " target |",
        "|---|---|---|---|" + ("---|---|" if before else "") + "---|",
    ]
    for label, variant in results["figures"].items():
        now = variant["now"]
        target = "" if label == "python -c pass" else "≤ 100 ms"
        if label.startswith("orc") and label not in ("orc version", "orc run hello → flow body"):
            target += ", ≤ 3x"
        cells = [
            f"`{label}`",
            f"{now['median_ms']:.0f} ms",
            f"{now['p90_ms']:.0f} ms",
            f"{now['median_ms'] / base:.1f}x",
        ]
        if before:
            old = variant.get("before")
            cells += (
                [f"{old['median_ms']:.0f} ms", f"{old['median_ms'] / now['median_ms']:.1f}x"]
                if old
                else ["", ""]
            )
        lines.append("| " + " | ".join([*cells, target]) + " |")
    (out / "cli.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another orc source tree (e.g. a worktree of main) to time in turns with this one",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = measure(Path(tmp), args.repeat, args.baseline)
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "baseline": _describe(args.baseline),
        "figures": {
            label: {name: figure(values) for name, values in variant.items()}
            for label, variant in samples.items()
        },
    }
    write(results, args.out)


def _describe(baseline: Path | None) -> str | None:
    """The baseline as `path @ commit`, for the table's header."""
    if baseline is None:
        return None
    commit = subprocess.run(
        ["git", "-C", str(baseline), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return f"{baseline} @ {commit}" if commit else str(baseline)


if __name__ == "__main__":
    main()
