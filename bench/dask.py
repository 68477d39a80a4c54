"""Dask task runner benchmark: 1,000 tasks of 10 ms on 2 Dask workers x 4 threads, and 5,000 no-ops.

    python bench/dask.py [--repeat 3] [--tasks 1000] [--out bench/results]

On a `LocalCluster` (its scheduler inside the flow process, as `DaskTaskRunner()`
starts one) and on a `dask scheduler` with `dask worker` processes (the layout
of a cluster on several servers), compares: plain Dask (`client.map` +
`gather`, and one `submit` per task collected as each ends, which is what orc
does), orc's `DaskTaskRunner`, and orc's thread runner with 8 threads.
Recording is on (a real DuckDB file in a temporary project), as for a user; one
row turns it off to show the store's share. Figures are medians over
`--repeat` rounds. orc's own overhead per task on Dask is its wall time beyond
plain Dask's, divided by the number of tasks; the flow process's CPU time per
task is given too. Also measured: a 200-task dependency chain, log lines
shipped back from workers, and a 20 MB result passed down a chain with and
without keeping it on its worker. Writes `dask.json` and `dask.md`.

    python bench/dask.py --only-noop [--before OLD.json --before-code main]

5,000 no-op task runs against `client.map` + `gather` of 5,000 no-op calls on
the same cluster (target: within 1.2x), rounds alternating, with the memory the
flow process holds per task run; put into the last full report. `--before`
shows an earlier `--only-noop` JSON (the same script run from a checkout of
older code) beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is called dask.py: its folder must not shadow the real `dask` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from orchestrate import flow, get_run_logger, task  # noqa: E402
from orchestrate.integrations.dask import DaskTaskRunner  # noqa: E402
from orchestrate.recording import NullSink, get_sink, set_sink  # noqa: E402
from orchestrate.task_runners import ThreadPoolTaskRunner  # noqa: E402

SLEEP = 0.01
WORKERS, THREADS = 2, 4
TARGET_OVERHEAD_MS = 1.0
#: no-op task runs on Dask, within this factor of plain `client.map` + `gather` of as many
NOOP_TASKS, TARGET_NOOP_RATIO = 5000, 1.2


def sleepy(x: int) -> int:
    time.sleep(SLEEP)
    return x


def echo(x: int) -> int:
    return x


@task
def sleep_task(x: int) -> int:
    time.sleep(SLEEP)
    return x


@task
def logging_task(x: int) -> int:
    get_run_logger().info("item %d", x)
    return x


@task
def quick(x: int) -> int:
    return x


@task
def grow(data: bytes) -> bytes:
    return data[:1] + data[1:]


def fan_out(runner: Any, body: Any, count: int) -> Callable[[], None]:
    @flow(task_runner=runner)
    def fanned() -> None:
        body.map(range(count)).result()

    return fanned


def chain(runner: Any, length: int) -> Callable[[], None]:
    @flow(task_runner=runner)
    def chained() -> None:
        future = quick.submit(0)
        for _ in range(length - 1):
            future = quick.submit(future)
        future.result()

    return chained


def big_chain(runner: Any) -> Callable[[], None]:
    @flow(task_runner=runner)
    def passed_on() -> None:
        future = grow.submit(b"x" * (20 << 20))
        for _ in range(4):
            future = grow.submit(future)
        future.result()

    return passed_on


def unrecorded(fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        previous = set_sink(NullSink())
        try:
            fn()
        finally:
            set_sink(previous)

    return run


def measure(repeat: int, fn: Callable[[], Any]) -> dict[str, float]:
    """Median wall and flow-process CPU seconds of `fn` over `repeat` rounds."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    get_sink().flush(120)  # the store's writer catches up outside the timed rounds
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}


def plain_dask(client: Any, n: int, repeat: int) -> dict[str, dict[str, float]]:
    from distributed import as_completed

    def mapped() -> None:
        client.gather(client.map(sleepy, range(n), pure=False))

    def streamed() -> None:
        futures = [client.submit(sleepy, i, pure=False) for i in range(n)]
        for _ in as_completed(futures, loop=client.loop, with_results=True):
            pass

    def chained() -> None:
        future = client.submit(echo, 0, pure=False)
        for _ in range(199):
            future = client.submit(echo, future.result(), pure=False)
        future.result()

    client.gather(client.map(sleepy, range(50), pure=False))  # warm up the workers
    return {
        "dask_map_gather": measure(repeat, mapped),
        "dask_submit_each": measure(repeat, streamed),
        "dask_chain_200": measure(repeat, chained),
    }


def orc_workloads(address: str, n: int, repeat: int) -> dict[str, dict[str, float]]:
    dask = DaskTaskRunner(address)
    threads = ThreadPoolTaskRunner(WORKERS * THREADS)
    fan_out(dask, quick, 10)()  # warm up: imports on the workers, the store
    return {
        "orc_dask": measure(repeat, fan_out(dask, sleep_task, n)),
        "orc_dask_unrecorded": measure(repeat, unrecorded(fan_out(dask, sleep_task, n))),
        "orc_threads": measure(repeat, fan_out(threads, sleep_task, n)),
        "orc_dask_logging": measure(repeat, fan_out(dask, logging_task, n)),
        "orc_dask_quiet": measure(repeat, fan_out(dask, quick, n)),
        "orc_dask_chain_200": measure(repeat, chain(dask, 200)),
        "orc_threads_chain_200": measure(repeat, chain(threads, 200)),
        "orc_dask_20mb_chain_kept": measure(repeat, big_chain(dask)),
        "orc_dask_20mb_chain_resent": measure(
            repeat, big_chain(DaskTaskRunner(address, keep_results_over=None))
        ),
    }


def noop_comparison(client: Any, address: str, n: int, repeat: int) -> dict[str, Any]:
    """`n` no-op task runs on Dask against `client.map` + `gather` of as many no-op calls.

    Rounds alternate between the two (the machine's load moves both alike). Memory is
    what the flow process holds per task run once all have ended (tracemalloc).
    """

    def plain() -> None:
        client.gather(client.map(echo, range(n), pure=False))

    orc = fan_out(DaskTaskRunner(address), quick, n)
    plain(), orc()  # warm up
    walls: dict[str, list[float]] = {"plain": [], "orc": []}
    cpus: dict[str, list[float]] = {"plain": [], "orc": []}
    writer: list[float] = []
    for _ in range(repeat):
        for name, fn in (("plain", plain), ("orc", orc)):
            cpu, wall, written = time.process_time(), time.perf_counter(), writer_cpu()
            fn()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
            get_sink().flush(120)
            if name == "orc" and written is not None:
                writer.append((writer_cpu() or 0.0) - written)

    def plain_held() -> None:
        futures = client.map(echo, range(n), pure=False)
        client.gather(futures)  # the futures still held, as orc's are below
        held.append(tracemalloc.get_traced_memory()[0])

    @flow(task_runner=DaskTaskRunner(address))
    def orc_held() -> None:
        futures = quick.map(range(n))
        futures.wait()
        held.append(tracemalloc.get_traced_memory()[0])
        futures.result()

    memory = {}
    for name, fn in (("plain", plain_held), ("orc", orc_held)):
        held: list[int] = []
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        tracemalloc.stop()
        get_sink().flush(120)
        memory[name] = (held[0] - before) / n
    return {
        "tasks": n,
        "wall": {name: statistics.median(values) for name, values in walls.items()},
        "cpu": {name: statistics.median(values) for name, values in cpus.items()},
        "bytes_held_per_task": memory,
        "writer_cpu": statistics.median(writer) if writer else None,
    }


def writer_cpu() -> float | None:
    """CPU seconds the store's writer thread has used (Linux), the flush after a round included:
    the share of the flow process's CPU that goes to DuckDB rather than to running tasks."""
    for thread in threading.enumerate():
        if thread.name == "orc-store-writer" and thread.native_id is not None:
            try:
                stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            except OSError:
                return None
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None


@contextmanager
def local_cluster() -> Iterator[str]:
    from orchestrate.integrations.dask.cluster import start_cluster

    cluster = start_cluster(None, {"n_workers": WORKERS, "threads_per_worker": THREADS})
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


@contextmanager
def separate_processes() -> Iterator[str]:
    """`dask scheduler` and `dask worker` in processes of their own, as on several servers."""
    from distributed import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    scheduler = subprocess.Popen(
        [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        **quiet,
    )
    workers = subprocess.Popen(
        [dask_cli, "worker", address, "--nworkers", str(WORKERS), "--nthreads", str(THREADS),
         "--no-dashboard", "--host", "127.0.0.1"],
        **quiet,
    )  # fmt: skip
    try:
        with Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(WORKERS, timeout=60)
        yield address
    finally:
        for process in (workers, scheduler):
            process.terminate()
            process.wait(30)


def run_on(cluster: Callable[[], Any], n: int, repeat: int) -> dict[str, Any]:
    from distributed import Client

    with cluster() as address, Client(address, set_as_default=False) as client:
        results = plain_dask(client, n, repeat)
        results.update(orc_workloads(address, n, repeat))
    return {"results": results, "derived": derive(results, n)}


def noop_on(cluster: Callable[[], Any], repeat: int) -> dict[str, Any]:
    from distributed import Client

    with cluster() as address, Client(address, set_as_default=False) as client:
        return noop_comparison(client, address, NOOP_TASKS, repeat)


def derive(r: dict[str, dict[str, float]], n: int) -> dict[str, float]:
    ideal = n * SLEEP / (WORKERS * THREADS)
    dask, streamed = r["dask_map_gather"], r["dask_submit_each"]
    return {
        "ideal_s": ideal,
        "orc_beyond_dask_ms": (r["orc_dask"]["wall"] - dask["wall"]) / n * 1e3,
        "orc_beyond_dask_submit_each_ms": (r["orc_dask"]["wall"] - streamed["wall"]) / n * 1e3,
        "orc_unrecorded_beyond_dask_ms": (r["orc_dask_unrecorded"]["wall"] - dask["wall"])
        / n
        * 1e3,
        "orc_cpu_beyond_dask_ms": (r["orc_dask"]["cpu"] - dask["cpu"]) / n * 1e3,
        "orc_unrecorded_cpu_beyond_dask_ms": (r["orc_dask_unrecorded"]["cpu"] - dask["cpu"])
        / n
        * 1e3,
        "log_line_cost_ms": (r["orc_dask_logging"]["wall"] - r["orc_dask_quiet"]["wall"]) / n * 1e3,
    }


def render_section(title: str, section: dict[str, Any], n: int) -> list[str]:
    r, d = section["results"], section["derived"]

    def row(name: str, key: str) -> str:
        wall, cpu = r[key]["wall"], r[key]["cpu"]
        overhead = (wall - d["ideal_s"]) / n * 1e3
        return f"| {name} | {wall:.2f} s | {overhead:.2f} ms | {cpu / n * 1e3:.2f} ms |"

    verdict = "met" if d["orc_beyond_dask_ms"] < TARGET_OVERHEAD_MS else "missed"
    return [
        f"## {title}",
        "",
        "| 1,000 tasks of 10 ms | wall | overhead per task | flow-process CPU per task |",
        "|---|---|---|---|",
        row("plain Dask: `client.map` + `gather`", "dask_map_gather"),
        row("plain Dask: `submit` each, `as_completed`", "dask_submit_each"),
        row("orc, `DaskTaskRunner`", "orc_dask"),
        row("orc, `DaskTaskRunner`, recording off", "orc_dask_unrecorded"),
        row("orc, thread runner (8 threads)", "orc_threads"),
        "",
        f"orc's own overhead per task on Dask, beyond `client.map` + `gather`: "
        f"**{d['orc_beyond_dask_ms']:.2f} ms** (target < {TARGET_OVERHEAD_MS:g} ms: {verdict}); "
        f"recording off: {d['orc_unrecorded_beyond_dask_ms']:.2f} ms; beyond one `submit` per "
        f"task: {d['orc_beyond_dask_submit_each_ms']:.2f} ms. Flow-process CPU beyond plain Dask: "
        f"{d['orc_cpu_beyond_dask_ms']:.2f} ms per task ({d['orc_unrecorded_cpu_beyond_dask_ms']:.2f} "
        "ms with recording off).",
        "",
        "| other workloads | orc on Dask | orc on threads | plain Dask |",
        "|---|---|---|---|",
        f"| 200-task dependency chain | {r['orc_dask_chain_200']['wall'] * 1e3:.0f} ms | "
        f"{r['orc_threads_chain_200']['wall'] * 1e3:.0f} ms | "
        f"{r['dask_chain_200']['wall'] * 1e3:.0f} ms (submit, wait, submit) |",
        f"| {n:,} no-op tasks | {r['orc_dask_quiet']['wall']:.2f} s | | |",
        f"| {n:,} no-op tasks logging one line each | {r['orc_dask_logging']['wall']:.2f} s "
        f"({d['log_line_cost_ms']:+.3f} ms per line) | | |",
        f"| 20 MB result passed down a 5-task chain, kept on its worker | "
        f"{r['orc_dask_20mb_chain_kept']['wall'] * 1e3:.0f} ms | | |",
        f"| the same, every input sent from the flow process | "
        f"{r['orc_dask_20mb_chain_resent']['wall'] * 1e3:.0f} ms | | |",
        "",
    ]


def render_markdown(report: dict[str, Any]) -> str:
    n = report["tasks"]
    ideal = report["local_cluster"]["derived"]["ideal_s"]
    return "\n".join(
        [
            "# orc Dask task runner benchmark",
            "",
            f"{report['when']} · Python {report['python']} · distributed {report['distributed']} · "
            f"{report['cpus']} CPUs · {WORKERS} workers x {THREADS} threads · medians of "
            f"{report['repeat']} rounds · recording on (DuckDB) unless said",
            "",
            f"{n:,} tasks of {SLEEP * 1e3:.0f} ms sleep: the ideal wall time on "
            f"{WORKERS * THREADS} threads is {ideal:.2f} s.",
            "",
            *render_section(
                "LocalCluster (scheduler in the flow process)", report["local_cluster"], n
            ),
            *render_section(
                "`dask scheduler` + `dask worker` processes", report["separate_processes"], n
            ),
            *render_noops(report.get("noop")),
        ]
    )


def render_noop(title: str, noop: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    wall, cpu, held = noop["wall"], noop["cpu"], noop["bytes_held_per_task"]
    earlier = []
    if before is not None:
        b_wall, b_cpu, b_held = before["wall"], before["cpu"], before["bytes_held_per_task"]
        earlier = [
            f"| orc before ({before['code']}), `.map` | {b_wall['orc']:.2f} s "
            f"(its plain Dask: {b_wall['plain']:.2f} s, {b_wall['orc'] / b_wall['plain']:.2f}x) | "
            f"{b_cpu['orc']:.2f} s{_writer(before)} | {b_held['orc'] / 1024:.1f} KB |"
        ]
    ratio = wall["orc"] / wall["plain"]
    verdict = "met" if ratio <= TARGET_NOOP_RATIO else "missed"
    return [
        f"### {title}",
        "",
        f"| {noop['tasks']:,} no-op tasks, rounds alternating | wall | flow-process CPU | "
        "held per task run |",
        "|---|---|---|---|",
        f"| plain Dask: `client.map` + `gather` | {wall['plain']:.2f} s | {cpu['plain']:.2f} s | "
        f"{held['plain'] / 1024:.1f} KB |",
        f"| orc, `DaskTaskRunner`, `.map` | {wall['orc']:.2f} s | {cpu['orc']:.2f} s"
        f"{_writer(noop)} | {held['orc'] / 1024:.1f} KB |",
        *earlier,
        "",
        f"orc / plain Dask: **{ratio:.2f}x** wall (target <= {TARGET_NOOP_RATIO:g}x: {verdict}), "
        f"{cpu['orc'] / cpu['plain']:.2f}x flow-process CPU. In brackets: the part of it the "
        "store's writer thread used (DuckDB; the flush after each round included).",
        "",
    ]


def _writer(noop: dict[str, Any]) -> str:
    written = noop.get("writer_cpu")
    return f" ({written:.2f} s)" if written is not None else ""


def _loads(noop: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    """The machine's load average (1 min) at the start and end of each measurement."""
    if not noop.get("load"):
        return []
    line = "Load average (1 min), start to end: {:.1f} to {:.1f}".format(*noop["load"])
    if before and before.get("load"):
        line += ", before: {:.1f} to {:.1f}".format(*before["load"])
    return ["", line + " (2 CPUs shared: compare ratios and CPU, not walls across runs)."]


def render_noops(noop: dict[str, Any] | None) -> list[str]:
    if not noop:
        return []
    before = noop.get("before") or {}
    return [
        f"## {NOOP_TASKS:,} no-op tasks against plain `client.map`",
        "",
        f"{noop['when']} · medians of {noop['repeat']} rounds · recording on (DuckDB); the "
        "'before' row is the code named, measured in the same sitting.",
        *_loads(noop, before.get("local_cluster")),
        "",
        *render_noop("LocalCluster", noop["local_cluster"], before.get("local_cluster")),
        *render_noop(
            "`dask scheduler` + `dask worker` processes",
            noop["separate_processes"],
            before.get("separate_processes"),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--only-noop", action="store_true", help=f"only the {NOOP_TASKS:,} no-op comparison"
    )
    parser.add_argument("--before", type=Path, help="a --only-noop JSON of earlier code, to show")
    parser.add_argument("--before-code", default="main", help="what --before measured")
    args = parser.parse_args()
    if args.only_noop:
        only_noop(args)
        return
    import distributed

    with tempfile.TemporaryDirectory(prefix="orc-bench-") as folder:
        os.environ["ORC_HOME"] = folder
        os.environ["ORC_LOGGING_TO_CONSOLE"] = "0"
        report = {
            "when": time.strftime("%Y-%m-%d %H:%M"),
            "python": platform.python_version(),
            "distributed": distributed.__version__,
            "cpus": os.cpu_count(),
            "repeat": args.repeat,
            "tasks": args.tasks,
            "local_cluster": run_on(local_cluster, args.tasks, args.repeat),
            "separate_processes": run_on(separate_processes, args.tasks, args.repeat),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    earlier = args.out / "dask.json"
    if earlier.exists():  # keep the last no-op comparison
        report["noop"] = json.loads(earlier.read_text()).get("noop")
    write(args.out, report)


def only_noop(args: argparse.Namespace) -> None:
    """The no-op comparison alone, put into the last full report (`--out`)."""
    with tempfile.TemporaryDirectory(prefix="orc-bench-") as folder:
        os.environ["ORC_HOME"] = folder
        os.environ["ORC_LOGGING_TO_CONSOLE"] = "0"
        load = os.getloadavg()[0]
        noop: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%d %H:%M"),
            "repeat": args.repeat,
            "local_cluster": noop_on(local_cluster, args.repeat),
            "separate_processes": noop_on(separate_processes, args.repeat),
        }
        noop["load"] = [load, os.getloadavg()[0]]  # the machine is shared: say how busy it was
    if args.before is not None:
        before = json.loads(args.before.read_text())["noop"]
        noop["before"] = {
            layout: {**before[layout], "code": args.before_code, "load": before.get("load")}
            for layout in ("local_cluster", "separate_processes")
        }
    path = args.out / "dask.json"
    report = json.loads(path.read_text()) if path.exists() else None
    if report is None or "local_cluster" not in report:
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"noop": noop}, indent=2) + "\n")
        print(json.dumps(noop, indent=2))
        return
    report["noop"] = noop
    write(args.out, report)


def write(out: Path, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "dask.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render_markdown(report)
    (out / "dask.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
