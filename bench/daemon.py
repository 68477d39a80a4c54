"""Daemon benchmarks: schedule-to-start latency, run throughput, CLI wall time, idle memory.

    python bench/daemon.py [--runs 50] [--throughput 500] [--out bench/results]
    python bench/daemon.py --only latency --trace   # each step of a warm start, printed

Each figure comes from a real `orc up` in a temporary project, real worker
subprocesses and the real socket. Latency is from a run's due time to the
line its flow body logs (the engine logs one before the body starts; that
one is not it), for manual runs due now: with workers forked from the warm
zygote (the default) and spawned cold (`ORC_COLD_WORKERS=1`), each after two
runs not counted; and for the slots of a 1 s interval schedule, which adds
the daemon's wake-up on its timer. `--trace` sets `ORC_START_TRACE` so the
daemon, the zygote's children and the workers mark each step (see
`orchestrate.worker.start_trace`): its p50 and minimum after the due time,
and the CPU the marking process had used by then. Writes `daemon.json` and
`daemon.md` to the output folder (not with `--only`).
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

FLOW = """
from orchestrate import flow, get_run_logger

try:
    from orchestrate.worker.start_trace import mark
except ImportError:  # an orc from before the trace (a --baseline checkout)
    def mark(step: str) -> None: ...


@flow
def trivial(i: int = 0) -> int:
    mark("flow body")
    get_run_logger().info("start")
    return i
"""


def start_daemon(
    root: Path, deployments: str, max_runs: int = 4, cold: bool = False, trace: Path | None = None
) -> subprocess.Popen[bytes]:
    from orchestrate.client import DaemonNotRunning, connect

    (root / "flows.py").write_text(FLOW)
    (root / "flows.toml").write_text(
        f"[project]\nname = 'bench'\nmax_concurrent_runs = {max_runs}\n" + deployments
    )
    env = {**os.environ, "ORC_COLD_WORKERS": "1" if cold else "0"}
    if trace is not None:
        env["ORC_START_TRACE"] = str(trace)
    proc = subprocess.Popen(
        [ORC, "up", "--project", str(root)],
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connect(root, timeout=2).close()
            return proc
        except DaemonNotRunning:
            time.sleep(0.05)
    raise RuntimeError("orc up did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(root: Path, runs: int, cold: bool = False, trace: bool = False) -> dict[str, Any]:
    """Due time to the flow body's first line, one run at a time (after two not counted).

    With `trace`, the daemon and its workers mark each step of a start
    (`orchestrate.worker.start_trace`), and the result has each step's p50 and
    minimum, counted from the run's due time.
    """
    from orchestrate.client import connect

    trace_file = root / "start-trace.txt" if trace else None
    proc = start_daemon(root, '[[deployments]]\nname = "trivial"\nentrypoint = "flows.py:trivial"\n',
                        cold=cold, trace=trace_file)  # fmt: skip
    samples, spans = [], []
    try:
        with connect(root) as client:
            for i in range(runs + 2):
                # subscribed before the run exists: a quick run may settle before a later
                # subscription would start, and its end would never be seen
                with client.subscribe(["flow_run"]) as changes:
                    run = client.create_run("trivial", {"i": i})
                    for change in changes:
                        if change.data.get("settled") and change.data.get("id") == run.id:
                            break
                # the body's own line: the engine logs before the body starts
                first = next(line for line in client.logs(run.id) if line.message == "start")
                due = run.expected_start_time or run.created
                samples.append((first.ts - due) * 1000)
                spans.append((due, first.ts))
    finally:
        stop(proc)
    samples = samples[2:]
    result: dict[str, Any] = {"p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 0.99),
                              "min_ms": min(samples), "runs": runs}  # fmt: skip
    if trace_file is not None:
        result["steps"] = trace_steps(trace_file, spans[2:])
    return result


def latency_scheduled(root: Path, runs: int) -> dict[str, Any]:
    """A schedule slot's time to the flow body's line, for slots of a 1 s interval schedule
    (after two not counted): the daemon sleeps on a timer until each slot, then starts it."""
    from orchestrate.client import connect

    proc = start_daemon(root, '[[deployments]]\nname = "every"\nentrypoint = "flows.py:trivial"\n'
                              'schedules = [{ interval = "1s" }]\n')  # fmt: skip
    samples: list[float] = []
    try:
        with connect(root) as client, client.subscribe(["flow_run"]) as changes:
            for change in changes:
                data = change.data
                if not data.get("settled") or not data.get("expected_start_time"):
                    continue
                first = next(
                    (line for line in client.logs(data["id"]) if line.message == "start"), None
                )
                if first is not None:
                    samples.append((first.ts - data["expected_start_time"]) * 1000)
                if len(samples) >= runs + 2:
                    break
    finally:
        stop(proc)
    samples = samples[2:]
    return {"p50_ms": statistics.median(samples), "p99_ms": percentile(samples, 0.99),
            "min_ms": min(samples), "runs": runs}  # fmt: skip


def trace_steps(path: Path, spans: list[tuple[float, float]]) -> dict[str, dict[str, float]]:
    """Each traced step's time after the run's due time (p50, min) and the CPU its process had
    used by then (p50), in the order steps happen."""
    marks = []
    for line in path.read_text().splitlines():
        _, at, cpu, step = line.split(" ", 3)
        marks.append((float(at), float(cpu), step))
    by_step: dict[str, list[tuple[float, float]]] = {}
    for due, body in spans:
        for at, cpu, step in marks:
            if due <= at <= body:
                by_step.setdefault(step, []).append(((at - due) * 1000, cpu))
        by_step.setdefault("flow body's log line", []).append(((body - due) * 1000, 0.0))
    order = sorted(by_step, key=lambda s: statistics.median(t for t, _ in by_step[s]))
    return {s: {"p50_ms": statistics.median(t for t, _ in by_step[s]), "min_ms": min(t for t, _ in by_step[s]),
                "cpu_p50_ms": statistics.median(c for _, c in by_step[s]), "runs": len(by_step[s])}
            for s in order}  # fmt: skip


def throughput(root: Path, runs: int) -> dict[str, float]:
    """`runs` trivial runs through the daemon with max_concurrent_runs = 4."""
    from orchestrate.client import connect

    proc = start_daemon(
        root, '[[deployments]]\nname = "trivial"\nentrypoint = "flows.py:trivial"\n'
    )
    try:
        with connect(root) as client, client.subscribe(["flow_run"]) as changes:
            started = time.perf_counter()
            for i in range(runs):
                client.create_run("trivial", {"i": i})
            settled = 0
            for change in changes:
                if change.data.get("settled"):
                    settled += 1
                    if settled == runs:
                        break
            elapsed = time.perf_counter() - started
    finally:
        stop(proc)
    return {"runs": runs, "seconds": elapsed, "runs_per_s": runs / elapsed}


def cli_and_memory(root: Path) -> dict[str, float]:
    """`orc runs ls` / `orc status` wall time and idle RSS with 50 cron deployments."""
    deployments = "".join(
        f'[[deployments]]\nname = "d{i}"\nentrypoint = "flows.py:trivial"\n'
        f'schedules = [{{ cron = "{i % 60} 3 * * *" }}]\n'
        for i in range(50)
    )
    proc = start_daemon(root, deployments)
    try:

        def wall(*args: str) -> float:
            samples = []
            for _ in range(7):
                t = time.perf_counter()
                subprocess.run(
                    [ORC, *args, "--project", str(root)], check=True, capture_output=True
                )
                samples.append((time.perf_counter() - t) * 1000)
            return statistics.median(samples)

        figures = {"runs_ls_ms": wall("runs", "ls"), "status_ms": wall("status")}
        rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS"))  # fmt: skip
        figures["idle_rss_mb_50_deployments"] = rss_kb / 1024
    finally:
        stop(proc)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--throughput", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--only", default="", help="comma-separated sections; prints, writes nothing"
    )
    parser.add_argument("--trace", action="store_true", help="time each step of a warm start")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
                               "load_at_start": os.getloadavg()[0]}  # fmt: skip
    only = set(filter(None, args.only.split(",")))
    for name, fn, n in (("latency", lambda r, n: latency(r, n, trace=args.trace), args.runs),
                        ("latency_cold", lambda r, n: latency(r, n, cold=True), args.runs),
                        ("latency_scheduled", lambda r, n: latency_scheduled(r, min(n, 20)), args.runs),
                        ("throughput", throughput, args.throughput),
                        ("cli_and_memory", lambda r, _: cli_and_memory(r), 0)):  # fmt: skip
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = fn(Path(tmp), n)
            print(name, json.dumps(results[name]), flush=True)
    if only:
        return
    results["load_at_end"] = os.getloadavg()[0]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "daemon.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# orc daemon benchmarks", "",
             f"Machine: {results['machine']} (shared; load average {results['load_at_start']:.1f} at start, "
             f"{results['load_at_end']:.1f} at end)", "",
             "| figure | value | target |", "|---|---|---|",
             f"| schedule-to-start p50, forked from the warm zygote | {results['latency']['p50_ms']:.1f} ms | <= 10 ms |",
             f"| schedule-to-start p99, forked from the warm zygote | {results['latency']['p99_ms']:.0f} ms | <= 30 ms |",
             f"| schedule-to-start min, forked from the warm zygote | {results['latency']['min_ms']:.1f} ms | |",
             f"| slot of a 1 s interval schedule to the flow body, p50 / p99 | {results['latency_scheduled']['p50_ms']:.1f} / "
             f"{results['latency_scheduled']['p99_ms']:.0f} ms | |",
             f"| schedule-to-start p50, cold spawn | {results['latency_cold']['p50_ms']:.0f} ms | |",
             f"| schedule-to-start p99, cold spawn | {results['latency_cold']['p99_ms']:.0f} ms | |",
             f"| throughput, {results['throughput']['runs']} trivial runs, 4 slots | {results['throughput']['runs_per_s']:.1f} runs/s | |",
             f"| `orc runs ls` | {results['cli_and_memory']['runs_ls_ms']:.0f} ms | <= 300 ms |",
             f"| `orc status` | {results['cli_and_memory']['status_ms']:.0f} ms | <= 300 ms |",
             f"| idle RSS, 50 deployments | {results['cli_and_memory']['idle_rss_mb_50_deployments']:.0f} MB | <= 120 MB |"]  # fmt: skip
    (args.out / "daemon.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
