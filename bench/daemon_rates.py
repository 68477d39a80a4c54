"""Daemon rates: events in over the socket, `orc logs` of a long run, RSS after a huge line, runs/s.

    python bench/daemon_rates.py [--events 200000] [--lines 200000] [--soak 150] [--only emit,logs,rss,runs]
                                 [--repeat 1] [--out bench/results]

`--only` takes groups (emit, logs, rss, runs) or rows (emit_single, emit_batched,
logs, huge_line, runs); `--repeat N` runs each row N times, each with a fresh
daemon, and keeps the run of median rate (the machine is shared and noisy).

Every figure comes from a real `orc up` in a temporary project, real worker
subprocesses and the real socket:

- events/s from 4 client processes at once, one `emit_event` per event and
  `emit_events` batches of 1,000 (every event counted in the store after):
  from the clients' start, as first measured, and from the moment all four are
  connected (`events_per_s_connected`: the daemon's rate without the clients'
  interpreter start, which takes seconds on a loaded machine),
  with the CPU time the daemon spent per event (all its threads: the loop and
  the store's writer) and the clients' CPU time, steadier than wall time on a
  loaded machine;
- wall time of `orc logs RUN` for a run that logged `--lines` lines, and the
  time its first line reached the terminal (a pipe);
- the daemon's RSS after a run printed one 50 MB line (and what was stored);
- runs/s the daemon sustains for one-task flows over `--soak` seconds.

Writes `daemon_rates.json` and `daemon_rates.md`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import daemon as bench_daemon
from daemon import ORC, start_daemon, stop

FLOWS = """
from orchestrate import flow, task, get_run_logger


@flow
def trivial(i: int = 0) -> int:
    get_run_logger().info("start")
    return i


@task
def one(i: int) -> int:
    return i


@flow
def one_task(i: int = 0) -> int:
    return one(i)


@flow
def chatty(lines: int = 200000) -> None:
    logger = get_run_logger()
    for n in range(lines):
        logger.info("line %d of the run, with a little text to make it look real", n)


@flow
def huge_line(mb: int = 50) -> None:
    get_run_logger().info("x" * (mb * 1024 * 1024))
"""

DEPLOYMENTS = "".join(
    f'[[deployments]]\nname = "{name}"\nentrypoint = "flows.py:{name}"\n'
    for name in ("trivial", "one_task", "chatty", "huge_line")
)


def daemon(root: Path, max_runs: int = 4) -> subprocess.Popen[bytes]:
    bench_daemon.FLOW = FLOWS  # start_daemon writes it as flows.py
    return start_daemon(root, DEPLOYMENTS, max_runs=max_runs)


def wait_settled(
    root: Path, deployment: str, parameters: dict[str, Any], timeout: float = 600
) -> str:
    from orchestrate.client import connect

    with connect(root, timeout=timeout) as client:
        run = client.create_run(deployment, parameters)
        with client.subscribe(["flow_run"], flow_run_id=run.id) as changes:
            for change in changes:
                if change.data.get("settled"):
                    return run.id
    raise RuntimeError("no settled run")


def _emitter(root: str, count: int, batch: int, client_no: int, ready: Any = None) -> None:
    from orchestrate.client import connect

    with connect(Path(root), timeout=120) as client:
        if ready is not None:
            ready.wait()  # every client started and connected: the clock starts
        resource = {"orc.resource.id": f"bench.client.{client_no}"}
        if batch <= 1:
            for n in range(count):
                client.emit_event("bench.tick", resource, payload={"n": n})
            return
        for start in range(0, count, batch):
            events = [{"event": "bench.tick", "resource": resource, "payload": {"n": n}}
                      for n in range(start, min(count, start + batch))]  # fmt: skip
            client.emit_events(events)


def emit_rate(root: Path, events: int, batch: int, clients: int = 4) -> dict[str, float]:
    """`events` events from `clients` processes at once; counted in the store after."""
    from orchestrate.client import connect

    proc = daemon(root)
    try:
        per = events // clients
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Barrier(clients + 1)
        workers = [
            ctx.Process(target=_emitter, args=(str(root), per, batch, c, ready))
            for c in range(clients)
        ]
        daemon_cpu, clients_cpu = _cpu_s(proc.pid), _children_cpu_s()
        started = time.perf_counter()
        for w in workers:
            w.start()
        ready.wait(120)
        connected = time.perf_counter()
        for w in workers:
            w.join()
            assert w.exitcode == 0, w.exitcode
        ended = time.perf_counter()
        elapsed = ended - started
        with connect(root, timeout=60) as client:  # the count waits for the writer to catch up
            stored = client.sql_query(
                "SELECT count(*) FROM events WHERE event = 'bench.tick'"
            ).rows[0][0]
        daemon_cpu, clients_cpu = _cpu_s(proc.pid) - daemon_cpu, _children_cpu_s() - clients_cpu
    finally:
        stop(proc)
    total = per * clients
    return {"events": total, "batch": batch, "clients": clients, "seconds": elapsed,
            "events_per_s": total / elapsed, "stored": stored,
            "events_per_s_connected": total / (ended - connected),
            "daemon_cpu_us_per_event": daemon_cpu / total * 1e6,
            "clients_cpu_us_per_event": clients_cpu / total * 1e6,
            "load": os.getloadavg()[0]}  # fmt: skip


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """CPU seconds of this process's children that have ended (the emitting clients)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def logs_time(root: Path, lines: int) -> dict[str, float]:
    """`orc logs RUN` of a run with `lines` lines: wall time, and time to its first line."""
    proc = daemon(root)
    try:
        run_id = wait_settled(root, "chatty", {"lines": lines})
        samples, firsts, counted = [], [], 0
        for _ in range(3):
            began = time.perf_counter()
            cli = subprocess.Popen(
                [ORC, "logs", run_id, "--project", str(root)], stdout=subprocess.PIPE
            )
            assert cli.stdout is not None
            first = cli.stdout.readline()
            firsts.append(time.perf_counter() - began)
            counted = 1 + sum(1 for _ in cli.stdout) if first else 0
            cli.wait()
            samples.append(time.perf_counter() - began)
    finally:
        stop(proc)
    return {"lines": lines, "printed": counted, "seconds": statistics.median(samples),
            "first_line_s": statistics.median(firsts)}  # fmt: skip


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def huge_line_rss(root: Path) -> dict[str, float]:
    """The daemon's RSS before and after a run printed one 50 MB line, and the longest line stored."""
    from orchestrate.client import connect

    proc = daemon(root)
    try:
        wait_settled(root, "trivial", {})
        before = _rss_mb(proc.pid)
        run_id = wait_settled(root, "huge_line", {"mb": 50})
        with connect(root, timeout=60) as client:
            longest = client.sql_query(
                f"SELECT coalesce(max(length(message)), 0) FROM logs WHERE flow_run_id = '{run_id}'"
            ).rows[0][0]
        after = _rss_mb(proc.pid)
    finally:
        stop(proc)
    return {"rss_before_mb": before, "rss_after_mb": after, "longest_stored_chars": longest}


def runs_rate(
    root: Path, seconds: float, in_flight_max: int = 16, dashboard: bool = False
) -> dict[str, float]:
    """One-task flow runs created as fast as they settle (`in_flight_max` in flight, 8 slots)
    for `seconds`; with `dashboard`, the client also takes what a dashboard is pushed (the
    deployments and the status).

    CPU per run is split by process kind: the daemon (all its threads), its
    zygotes (the fork servers themselves) and the workers (the zygotes' reaped
    children: what the kernel adds to a parent's `cutime`/`cstime`), and this
    client.
    """
    from orchestrate.client import connect

    topics: list[Any] = ["flow_run", *(["deployment", "status"] if dashboard else [])]
    proc = daemon(root, max_runs=8)
    try:
        with connect(root, timeout=60) as client, client.subscribe(topics) as changes:
            in_flight, settled, created = 0, 0, 0
            began, cpu = time.perf_counter(), _cpu_by_kind(proc.pid)
            while in_flight < in_flight_max:
                client.create_run("one_task", {"i": created})
                in_flight, created = in_flight + 1, created + 1
            for change in changes:
                if not change.data.get("settled"):
                    continue
                settled += 1
                in_flight -= 1
                if time.perf_counter() - began < seconds:
                    client.create_run("one_task", {"i": created})
                    in_flight, created = in_flight + 1, created + 1
                elif in_flight == 0:
                    break
            elapsed = time.perf_counter() - began
            ended = _cpu_by_kind(proc.pid)
            rss = _rss_mb(proc.pid)
            duckdb_mb = client.sql_query(
                "SELECT sum(memory_usage_bytes) / 2^20 FROM duckdb_memory()"
            ).rows[0][0]
    finally:
        stop(proc)
    per_run = {
        f"{kind}_cpu_ms_per_run": (ended[kind] - cpu.get(kind, 0.0)) / settled * 1000
        for kind in ended
        if kind not in _WORKER_DETAIL + _DAEMON_PARTS
    }
    parts = {
        f"{kind}_cpu_ms_per_run": (ended[kind] - cpu[kind]) / settled * 1000
        for kind in _DAEMON_PARTS
    }
    parts["daemon_rest_cpu_ms_per_run"] = per_run["daemon_cpu_ms_per_run"] - sum(parts.values())
    detail = {f"{kind}_per_run": (ended[kind] - cpu[kind]) / settled for kind in _WORKER_DETAIL}
    detail["worker_system_ms_per_run"] *= 1000
    return {"runs": settled, "seconds": elapsed, "runs_per_s": settled / elapsed, "rss_after_mb": rss,
            "duckdb_mb": duckdb_mb, **per_run, **parts, **detail,
            "all_cpu_ms_per_run": sum(per_run.values()), "load": os.getloadavg()[0]}  # fmt: skip


#: Also counted for the workers, apart from their CPU: the kernel's share of it (fork,
#: copy-on-write faults, exit) and their minor page faults.
_WORKER_DETAIL = ("worker_system_ms", "worker_faults")
#: The daemon's CPU by thread, within `daemon_cpu_ms_per_run`: its loop, its store writer
#: (`daemon_rest_cpu_ms_per_run` is the rest: DuckDB's threads, executors').
_DAEMON_PARTS = ("daemon_loop", "daemon_writer")


def _cpu_by_kind(daemon_pid: int) -> dict[str, float]:
    """CPU seconds so far of the daemon, its zygotes, their reaped workers, and this process."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kinds = {
        "daemon": _cpu_s(daemon_pid),
        **_daemon_threads_cpu_s(daemon_pid),
        "zygote": 0.0,
        "worker": 0.0,
        "client": own.ru_utime + own.ru_stime,
        "worker_system_ms": 0.0,
        "worker_faults": 0.0,
    }
    children = [
        pid for task in Path(f"/proc/{daemon_pid}/task").iterdir() for pid in _children(task)
    ]
    for child in children:
        try:
            if b"orchestrate.worker.zygote" not in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended since listed
        tick = os.sysconf("SC_CLK_TCK")
        kinds["zygote"] += (int(fields[11]) + int(fields[12])) / tick
        kinds["worker"] += (int(fields[13]) + int(fields[14])) / tick
        kinds["worker_system_ms"] += int(fields[14]) / tick
        kinds["worker_faults"] += int(fields[8])  # cminflt: the reaped children's minor faults
    return kinds


#: The daemon's threads by name (`orchestrate.daemon.thread_names`); what is in none of them
#: (DuckDB's threads, executors', threads that ended) is `daemon_rest`.
_DAEMON_THREADS = {"orc-store-write": "daemon_writer"}


def _daemon_threads_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds so far of the daemon's loop (its main thread) and its store writer's thread."""
    kinds = {"daemon_loop": 0.0, "daemon_writer": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended since listed
        kind = "daemon_loop" if task.name == str(pid) else _DAEMON_THREADS.get(comm)
        if kind is not None:
            kinds[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return kinds


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used itself."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--soak", type=float, default=150.0)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--dashboard", action="store_true", help="runs: subscribe as a dashboard")
    parser.add_argument("--only", default="emit,logs,rss,runs")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_at_start": os.getloadavg()[0],
    }
    sections = {
        "emit_single": ("emit", lambda r: emit_rate(r, min(args.events, 20_000), 1)),
        "emit_batched": ("emit", lambda r: emit_rate(r, args.events, 1000)),
        "logs": ("logs", lambda r: logs_time(r, args.lines)),
        "huge_line": ("rss", huge_line_rss),
        "runs": ("runs", lambda r: runs_rate(r, args.soak, args.in_flight, args.dashboard)),
    }
    for name, (group, fn) in sections.items():
        if group not in only and name not in only:
            continue
        runs = []
        for _ in range(max(1, args.repeat)):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(fn(Path(tmp)))
            print(name, json.dumps(runs[-1]), flush=True)
        results[name] = _median_run(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "daemon_rates.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = args.out / "daemon_rates.md"
    markdown.write_text(render(results) + _notes(markdown))
    print(render(results))


def _notes(markdown: Path) -> str:
    """The sections written by hand below the table (from the first `## `), kept across runs."""
    text = markdown.read_text() if markdown.exists() else ""
    at = text.find("\n## ")
    return "" if at < 0 else text[at:]


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median rate (or time), with how many runs it was chosen from."""
    key = next(
        (k for k in ("events_per_s", "runs_per_s", "seconds", "rss_after_mb") if k in runs[0]), None
    )
    ordered = sorted(runs, key=lambda run: run[key]) if key else runs
    return {**ordered[(len(ordered) - 1) // 2], "of_runs": len(runs)}


def _children(task: Path) -> list[str]:
    try:
        return (task / "children").read_text().split()
    except OSError:
        return []  # the thread ended


def _daemon_threads(runs: dict[str, Any]) -> str:
    if "daemon_loop_cpu_ms_per_run" not in runs:
        return ""
    return (f" (its loop {runs['daemon_loop_cpu_ms_per_run']:.1f}, store writer {runs['daemon_writer_cpu_ms_per_run']:.1f}, "
            f"other threads {runs['daemon_rest_cpu_ms_per_run']:.1f})")  # fmt: skip


def _worker_cpu(runs: dict[str, Any]) -> str:
    if "worker_cpu_ms_per_run" not in runs:
        return ""
    kernel = (f" ({runs['worker_system_ms_per_run']:.1f} in the kernel, {runs['worker_faults_per_run']:,.0f} page faults each)"
              if "worker_faults_per_run" in runs else "")  # fmt: skip
    return (f", zygote {runs['zygote_cpu_ms_per_run']:.1f}, workers {runs['worker_cpu_ms_per_run']:.1f}{kernel}, "
            f"all with the client {runs['all_cpu_ms_per_run']:.1f} ms a run")  # fmt: skip


def render(r: dict[str, Any]) -> str:
    rows = []
    if "emit_single" in r:
        rows.append(f"| events/s into the daemon, 4 clients, one call per event | {r['emit_single']['events_per_s']:,.0f}/s "
                    f"({r['emit_single']['stored']:,} of {r['emit_single']['events']:,} stored) | |")  # fmt: skip
    if "emit_batched" in r:
        b = r["emit_batched"]
        cpu = (f"; daemon CPU {b['daemon_cpu_us_per_event']:.1f} µs/event, clients {b['clients_cpu_us_per_event']:.1f} µs/event"
               if "daemon_cpu_us_per_event" in b else "")  # fmt: skip
        connected = (f"; {b['events_per_s_connected']:,.0f}/s once all four were connected"
                     if "events_per_s_connected" in b else "")  # fmt: skip
        rows.append(f"| events/s into the daemon, 4 clients, `emit_events` batches of 1,000 | {b['events_per_s']:,.0f}/s "
                    f"({b['stored']:,} of {b['events']:,} stored{connected}{cpu}) | ≥ 50,000/s |")  # fmt: skip
    if "logs" in r:
        rows.append(f"| `orc logs` of a run with {r['logs']['lines']:,} lines (first line after) | {r['logs']['seconds']:.2f} s "
                    f"({r['logs']['first_line_s']:.2f} s) | ≤ 2 s, streamed |")  # fmt: skip
    if "huge_line" in r:
        h = r["huge_line"]
        rows.append(f"| daemon RSS before / after a run printed one 50 MB line | {h['rss_before_mb']:.0f} / {h['rss_after_mb']:.0f} MB "
                    f"(longest line stored {h['longest_stored_chars']:,} chars) | ≤ 150 MB |")  # fmt: skip
    if "runs" in r:
        duckdb = (
            f", DuckDB's share {r['runs']['duckdb_mb']:.0f} MiB" if "duckdb_mb" in r["runs"] else ""
        )
        rows.append(f"| one-task flow runs/s sustained over {r['runs']['seconds']:.0f} s | {r['runs']['runs_per_s']:.1f}/s "
                    f"({r['runs']['runs']:,} runs; RSS after {r['runs']['rss_after_mb']:.0f} MB{duckdb}; daemon CPU "
                    f"{r['runs'].get('daemon_cpu_ms_per_run', 0):.1f} ms a run{_daemon_threads(r['runs'])}{_worker_cpu(r['runs'])}) | ≥ 200/s |")  # fmt: skip
    head = ["# orc daemon rates", "", f"Machine: {r['machine']} (load {r['load_at_start']:.1f} at start)", "",
            "| figure | value | target |", "|---|---|---|"]  # fmt: skip
    return "\n".join(head + rows) + "\n"


if __name__ == "__main__":
    main()
