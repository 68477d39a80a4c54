"""CLI wall time: each command run N times against a real `orc up`, medians, with `python -c pass`.

    python bench/cli.py [--repeat 15] [--baseline ../main] [--out bench/results]

A real daemon runs in a temporary project (the flows.toml and flow below); each
command is a fresh `orc` process, as a user types it, timed from spawn to exit
(hyperfine's way, without its shell). `orc run NAME → body` is from the spawn of
`orc run` to the first log line of the flow body, as the daemon stored it.
With `--baseline DIR` (another orc source tree, run through PYTHONPATH with
this venv) each command also runs from that tree, in turns with this one, so
the before and after figures share the machine's busy moments. Each command's modules are counted too (`sys.modules`
at exit, one more run in each environment). Writes `cli.json` and `cli.md` to
the output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Per environment: (wall ms, CPU ms of the process and its children) per run.
Samples = dict[str, list[tuple[float, float]]]
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


def start_daemon(root: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`orc up` in `root` (in `env`: this tree's by default), once its socket answers."""
    from orchestrate.client import DaemonNotRunning, connect

    (root / "flows.toml").write_text(FLOWS_TOML)
    (root / "flows.py").write_text(FLOW)
    proc = subprocess.Popen(
        [ORC, "up", "--project", str(root)], stderr=subprocess.DEVNULL, start_new_session=True,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connect(root, timeout=2).close()
            return proc
        except DaemonNotRunning:
            time.sleep(0.05)
    raise RuntimeError("orc up did not start")


def compile_sources(trees: list[Path]) -> None:
    """Write the bytecode of each tree's `orchestrate` and `tui`, as `pip install` does.

    An editable install under `PYTHONDONTWRITEBYTECODE=1` has none, so every command
    would compile its modules from source first: that is not what a user's `orc` does.
    """
    for tree in trees:
        for package in ("orchestrate", "tui"):
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(tree / package)], check=True
            )


def variants(baseline: Path | None) -> dict[str, dict[str, str]]:
    """The environments each command runs in: this tree, and the baseline source tree if given."""
    now = {**os.environ}
    now.pop("PYTHONPATH", None)
    if baseline is None:
        return {"now": now}
    return {"now": now, "before": {**now, "PYTHONPATH": str(baseline.resolve())}}


def children_cpu() -> float:
    """CPU seconds (user + system) of the waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(argv: list[str], repeat: int, cwd: Path, envs: dict[str, dict[str, str]]) -> Samples:
    """Milliseconds from spawn to exit of `argv` in each environment, and the CPU it used, taking
    turns, `repeat` times each (after one round not counted), so a busy moment hits both alike.
    CPU time is what a busy machine inflates least: wall time swings several-fold with load."""
    samples: Samples = {name: [] for name in envs}
    for _ in range(repeat + 1):
        for name, env in envs.items():
            cpu, started = children_cpu(), time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, cwd=cwd, env=env)
            elapsed = (time.perf_counter() - started) * 1000
            samples[name].append((elapsed, (children_cpu() - cpu) * 1000))
    return {name: values[1:] for name, values in samples.items()}


#: `orc ARGS…` in this interpreter, writing how many modules it had loaded to $MODULES_OUT at exit.
COUNT_MODULES = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write(str(len(sys.modules))))\n"
    "sys.argv = ['orc', *sys.argv[1:]]\n"
    "from orchestrate.cli import main\n"
    "main()\n"
)


def modules_loaded(args: list[str], cwd: Path, envs: dict[str, dict[str, str]]) -> dict[str, int]:
    """How many modules `orc ARGS…` loaded (interpreter start-up included), per environment."""
    counts = {}
    out = cwd / "modules.count"
    for name, env in envs.items():
        subprocess.run(
            [sys.executable, "-c", COUNT_MODULES, *args], check=True, capture_output=True,
            cwd=cwd, env={**env, "MODULES_OUT": str(out)},
        )  # fmt: skip
        counts[name] = int(out.read_text())
    return counts


def run_to_body(
    root: Path, repeat: int, envs: dict[str, dict[str, str]], extra: tuple[str, ...] = ()
) -> Samples:
    """Milliseconds from spawning `orc run hello` to the flow body's first stored log line
    (and the CPU of the `orc run` process alone)."""
    from orchestrate.client import connect

    samples: Samples = {name: [] for name in envs}
    with connect(root) as client:
        for _ in range(repeat + 1):
            for name, env in envs.items():
                cpu, started = children_cpu(), time.time()
                out = subprocess.run(
                    [ORC, "run", "hello", *extra, "--json"], check=True, capture_output=True,
                    cwd=root, env=env,
                ).stdout  # fmt: skip
                used = (children_cpu() - cpu) * 1000
                run_id = json.loads(out)["id"]
                with client.subscribe(["flow_run"], flow_run_id=run_id) as changes:
                    if client.run(run_id).run.state.type not in FINAL:
                        for change in changes:
                            if change.data.get("settled"):
                                break
                first = next(line for line in client.logs(run_id) if line.message == "body")
                samples[name].append(((first.ts - started) * 1000, used))
    return {name: values[1:] for name, values in samples.items()}


def measure(
    root: Path, repeat: int, baseline: Path | None, reads: Reads, modules: Modules
) -> dict[str, Samples]:
    """Every figure of the table, as samples in milliseconds per environment (and the
    reads' own times into `reads`, the commands' module counts into `modules`)."""
    envs = variants(baseline)
    samples: dict[str, Samples] = {
        "python -c pass": wall([sys.executable, "-c", "pass"], repeat, root, {"now": envs["now"]}),
        "orc version": wall([ORC, "version"], repeat, root, envs),
    }
    modules["orc version"] = modules_loaded(["version"], root, envs)
    proc = start_daemon(root)
    try:
        samples["orc run hello → flow body"] = run_to_body(root, repeat, envs)
        samples["orc run hello -p n=2 → flow body"] = run_to_body(root, repeat, envs, ("-p", "n=2"))
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
            "orc deployments ls": ["deployments", "ls"],
            "orc sql QUERY": ["sql", SQL],
        }
        for label, args in commands.items():
            samples[label] = wall([ORC, *args], repeat, root, envs)
            modules[label] = modules_loaded(args, root, envs)
        reads["socket"] = socket_reads(root, run_id, repeat)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    reads["store"] = store_reads(root, run_id, repeat)
    if baseline is not None:
        reads |= daemon_reads(root, run_id, repeat, envs)
    return samples


def daemon_reads(
    root: Path, run_id: str, repeat: int, envs: dict[str, dict[str, str]]
) -> dict[str, dict[str, list[float]]]:
    """The socket reads again, each tree's daemon on its own copy of the same store, both up
    at once and asked in turns, so the daemon's own before and after share the busy moments."""
    from orchestrate.client.plain import PlainClient

    copies = {name: root.parent / f"{root.name}-{name}" for name in envs}
    procs, clients = [], {}
    try:
        for name, copy in copies.items():
            shutil.copytree(root, copy, ignore=shutil.ignore_patterns("*.sock", "*.lock", "runs"))
            procs.append(start_daemon(copy, envs[name]))
            clients[name] = PlainClient(copy)
        calls = {
            f"{label}\0{name}": call
            for name, client in clients.items()
            for label, call in _socket_calls(client, run_id).items()
        }
        times = _timed(calls, repeat)
    finally:
        for client in clients.values():
            client.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return {
        f"socket ({name}, in turns)": {
            label.split("\0")[0]: values
            for label, values in times.items()
            if label.endswith(f"\0{name}")
        }
        for name in envs
    }


def _socket_calls(client: Any, run_id: str) -> dict[str, Any]:
    return {
        "status": client.status,
        "runs.list (50)": client.runs,
        "runs.get (full id)": lambda: client.run(run_id),
        "runs.get (8-char prefix)": lambda: client.run(run_id[:8]),
        "runs.log_page (first page)": lambda: client.log_page(run_id, None, 1000),
    }


#: Per read, then per side ("socket", "store"): milliseconds per call.
Reads = dict[str, dict[str, list[float]]]
#: Per command, then per environment: how many modules it loaded.
Modules = dict[str, dict[str, int]]
#: What `orc sql QUERY` asks: a small table of the runs.
SQL = "SELECT id, name, state_name, parameters FROM flow_runs ORDER BY created LIMIT 20"


def _timed(calls: dict[str, Any], repeat: int) -> dict[str, list[float]]:
    """Milliseconds of each call, `repeat` times each, in turns."""
    times: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(repeat):
        for label, call in calls.items():
            started = time.perf_counter()
            call()
            times[label].append((time.perf_counter() - started) * 1000)
    return times


def socket_reads(root: Path, run_id: str, repeat: int) -> dict[str, list[float]]:
    """Each read of a quick command as the daemon answers it: request to reply, one connection."""
    from orchestrate.client.plain import PlainClient

    with PlainClient(root) as client:
        return _timed(_socket_calls(client, run_id), repeat)


def store_reads(root: Path, run_id: str, repeat: int) -> dict[str, list[float]]:
    """The same reads as the daemon's handlers query the store for them, on the file alone
    (after `orc down`): what of a reply is DuckDB's time, and what the daemon's and the socket's."""
    from orchestrate.core.project import store_path
    from orchestrate.store.queries import Store

    store = Store(store_path(root))
    store.open()

    def detail(run: str) -> None:
        found = store.get_flow_run(run, counted=False)  # as `handlers._run_detail` reads it
        tasks = store.task_runs(found.id)
        store.state_history(found.id)
        store.child_flow_runs(found.id, [t.id for t in tasks])

    try:
        return _timed(
            {
                "status": lambda: None,  # answered from memory
                "runs.list (50)": lambda: store.list_flow_runs(limit=50),
                "runs.get (full id)": lambda: detail(run_id),
                "runs.get (8-char prefix)": lambda: detail(run_id[:8]),
                "runs.log_page (first page)": lambda: store.log_page(
                    store.flow_run_id(run_id), None, 1000
                ),
            },
            repeat,
        )
    finally:
        store.close()


def figure(samples: list[tuple[float, float]]) -> dict[str, float]:
    values = [wall_ms for wall_ms, _ in samples]
    return {
        "median_ms": statistics.median(values),
        "p90_ms": sorted(values)[round(0.9 * (len(values) - 1))],
        "min_ms": min(values),
        "cpu_median_ms": statistics.median(cpu for _, cpu in samples),
    }


def write(results: dict[str, Any], out: Path) -> None:
    """`cli.json` and `cli.md`: wall medians and p90, CPU medians, the ratios to a cold
    `python -c pass`, and the baseline's medians beside each when one was measured."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cli.json").write_text(json.dumps(results, indent=2) + "\n")
    base = results["figures"]["python -c pass"]["now"]
    before = results.get("baseline")
    lines = [
        "# orc CLI wall time",
        "",
        f"{results['date']}; {results['machine']}; {results['repeat']} runs each, "
        "a fresh process each, against a real `orc up`"
        + (f"; before = {before}, run in turns with now" if before else "")
        + f"; load average {results['load']}; bytecode {results['bytecode']}."
        " The machine was shared with other work: compare within a row, and CPU time"
        " (user + system of the `orc` process) over wall time.",
        "",
        "| command | median | p90 | CPU | x `python -c pass` (wall, CPU) | modules |"
        + (" before: median, CPU, modules | before / now (wall, CPU) |" if before else "")
        + " target |",
        "|---|---|---|---|---|---|" + ("---|---|" if before else "") + "---|",
    ]
    counts = results.get("modules") or {}
    for label, variant in results["figures"].items():
        row = _row(label, variant, base, bool(before), counts.get(label, {}))
        lines.append("| " + " | ".join(row) + " |")
    lines += _reads_table(results.get("reads") or {})
    (out / "cli.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _reads_table(reads: dict[str, dict[str, float]]) -> list[str]:
    """Each read through the socket beside the same queries on the store file alone."""
    if not reads:
        return []
    lines = [
        "",
        "## Reads: the daemon's answer vs the store's queries",
        "",
        "Medians in ms. `socket`: request to reply through `PlainClient`, the daemon up"
        " (its handler, its flush wait, the store queries, JSON both ways); `store`: the"
        " queries the handler makes, on the file alone after `orc down`.",
        "",
        "| read | " + " | ".join(reads) + " |",
        "|---|" + "---|" * len(reads),
    ]
    for label in reads.get("socket", {}):
        cells = [reads[side].get(label) for side in reads]
        lines.append(
            f"| `{label}` | " + " | ".join("" if c is None else f"{c:.1f}" for c in cells) + " |"
        )
    return lines


def _row(
    label: str,
    variant: dict[str, Any],
    base: dict[str, float],
    before: bool,
    modules: dict[str, int],
) -> list[str]:
    now = variant["now"]
    target = "" if label == "python -c pass" else "≤ 100 ms"
    if label.startswith(("orc status", "orc runs", "orc logs", "orc deployments", "orc sql")):
        target += ", ≤ 3x"
    cells = [
        f"`{label}`",
        f"{now['median_ms']:.0f} ms",
        f"{now['p90_ms']:.0f} ms",
        f"{now['cpu_median_ms']:.0f} ms",
        f"{now['median_ms'] / base['median_ms']:.1f}x, "
        f"{now['cpu_median_ms'] / base['cpu_median_ms']:.1f}x",
        str(modules.get("now", "")),
    ]
    if before:
        old = variant.get("before")
        cells += (
            [
                f"{old['median_ms']:.0f} ms, {old['cpu_median_ms']:.0f} ms, "
                f"{modules.get('before', '')}",
                f"{old['median_ms'] / now['median_ms']:.1f}x, "
                f"{old['cpu_median_ms'] / now['cpu_median_ms']:.1f}x",
            ]
            if old
            else ["", ""]
        )
    return [*cells, target]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another orc source tree (e.g. a worktree of main) to time in turns with this one",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--no-compile", action="store_true", help="time without writing the bytecode first"
    )
    args = parser.parse_args()
    if not args.no_compile:
        here = Path(__file__).resolve().parent.parent
        compile_sources([here, *([args.baseline.resolve()] if args.baseline else [])])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        reads: Reads = {}
        modules: Modules = {}
        samples = measure(Path(tmp), args.repeat, args.baseline, reads, modules)
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "bytecode": "not written first" if args.no_compile else "written first (compileall)",
        "load": f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "baseline": _describe(args.baseline),
        "figures": {
            label: {name: figure(values) for name, values in variant.items()}
            for label, variant in samples.items()
        },
        "modules": modules,
        "reads": {
            side: {label: statistics.median(values) for label, values in times.items()}
            for side, times in reads.items()
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
