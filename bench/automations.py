"""Automations benchmark: trigger evaluation throughput, and event-to-action latency.

    python bench/automations.py [--events 200000] [--out bench/results]

Fifty automations of every trigger shape watch a stream shaped like a busy
daemon's (mostly task-run state changes, some flow-run ones, some custom
events). Measured: how many events per second `on_event` takes on one core;
the time per event; whether a real-time feed at 10,000 events/s is kept up
with (queue depth, drain time) while the engine's state is kept in a file as
the daemon keeps it (debounced snapshots); what one snapshot costs; and the
time from an event to its action running: a daemon call, a webhook POST
received by a local HTTP server, and a `run-command` program started. Writes
`automations.json` and `.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from orchestrate.automations import AutomationEngine, AutomationSpec, execute, validate_automations
from orchestrate.automations.statefile import StateKeeper, write_snapshot
from orchestrate.core.records import EventRecord

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {"events_per_s": 10_000, "event_to_action_p50_ms": 50}
DEPLOYMENTS = [f"d{i}" for i in range(20)]


def fifty_automations(webhook_url: str = "http://127.0.0.1:9/hook") -> list[AutomationSpec]:
    """Ten shapes, five automations each, as flows.toml would hold them."""
    blocks = []
    for i in range(5):
        d = DEPLOYMENTS[i]
        blocks += [
            f'name = "fail-{d}"\ntrigger = {{ event = "orc.flow-run.Failed", match = {{ deployment = "{d}" }} }}\n'
            f'actions = [{{ type = "run-deployment", deployment = "cleanup", parameters = {{ run = "{{{{ flow_run.id }}}}" }} }}]',
            f'name = "crash-{d}"\ntrigger = {{ event = "orc.flow-run.Crashed", match = {{ deployment = "{d}", tags = "etl" }} }}\n'
            'actions = [{ type = "run-deployment", deployment = "cleanup" }]',
            f'name = "three-{i}"\ntrigger = {{ event = "orc.flow-run.*", match = {{ "orc.state-type" = ["FAILED", "CRASHED"] }}, '
            f'threshold = 3, within = "1m", for_each = ["deployment"] }}\nactions = [{{ type = "pause-deployment" }}]',
            f'name = "task-fail-{i}"\ntrigger = {{ event = "orc.task-run.Failed", match = {{ tags = "t{i}" }} }}\n'
            'actions = [{ type = "emit-event", event = "ops.task.failed" }]',
            f'name = "silent-{d}"\ntrigger = {{ posture = "proactive", event = "orc.flow-run.Completed", '
            f'match = {{ deployment = "{d}" }}, within = "26h" }}\nactions = [{{ type = "run-deployment", deployment = "{d}" }}]',
            f'name = "stuck-{i}"\ntrigger = {{ posture = "proactive", after = "orc.flow-run.Running", '
            f'event = ["orc.flow-run.Completed", "orc.flow-run.Failed"], match = {{ deployment = "{DEPLOYMENTS[10 + i]}" }}, '
            'within = "1h", for_each = ["orc.resource.id"] }\nactions = [{ type = "cancel-flow-run" }]',
            f'name = "order-{i}"\ntrigger = {{ all = [{{ event = "shop.order.paid" }}, {{ event = "shop.order.packed" }}], within = "1h" }}\n'
            'actions = [{ type = "emit-event", event = "shop.order.ready" }]',
            f'name = "pause-then-fail-{i}"\ntrigger = {{ sequence = [{{ event = "orc.deployment.paused" }}, '
            f'{{ event = "orc.flow-run.Failed" }}], within = "10m" }}\nactions = [{{ type = "emit-event", event = "ops.odd" }}]',
            f'name = "special-{i}"\ntrigger = {{ event = "orc.*", match = {{ "orc.resource.id" = "orc.flow-run.special-{i}*" }} }}\n'
            f'actions = [{{ type = "call-webhook", url = "{webhook_url}" }}]',
            f'name = "shop-{i}"\ntrigger = {{ event = "shop.order.refunded", match = {{ "orc.resource.id" = "shop.order.{i}*" }} }}\n'
            'actions = [{ type = "emit-event", event = "shop.audit" }]',
        ]
    text = "\n\n".join(f"[[automations]]\n{b}" for b in blocks)
    specs, problems = validate_automations(
        tomllib.loads(text)["automations"], {*DEPLOYMENTS, "cleanup"}
    )
    assert not problems and len(specs) == 50, problems
    return specs


def event_stream(count: int, start: float, step: float) -> list[EventRecord]:
    """A daemon's stream: per flow run 4 flow-run events and 30 task-run ones, plus shop events."""
    events: list[EventRecord] = []
    run = 0
    while len(events) < count:
        run += 1
        d = DEPLOYMENTS[run % len(DEPLOYMENTS)]
        related = [
            {
                "orc.resource.id": f"orc.deployment.{d}",
                "orc.resource.role": "deployment",
                "orc.resource.name": d,
            },
            {
                "orc.resource.id": "orc.flow.etl",
                "orc.resource.role": "flow",
                "orc.resource.name": "etl",
            },
            {"orc.resource.id": f"orc.tag.t{run % 7}", "orc.resource.role": "tag"},
        ]
        end = "Failed" if run % 10 == 0 else "Completed"
        names = ["orc.flow-run.Pending", "orc.flow-run.Running"]
        names += [
            f"orc.task-run.{s}" for _ in range(10) for s in ("Pending", "Running", "Completed")
        ]
        names += [f"orc.flow-run.{end}", "shop.order.paid", "shop.order.packed"]
        for name in names:
            kind = name.split(".")[1]
            resource = {
                "orc.resource.id": f"orc.{kind}.r{run}",
                "orc.state-name": name.rsplit(".", 1)[1],
            }
            resource["orc.state-type"] = resource["orc.state-name"].upper()
            if name.startswith("shop."):
                resource = {"orc.resource.id": f"shop.order.{run}"}
            events.append(
                EventRecord(
                    f"e{len(events)}", start + len(events) * step, name, resource, {}, related
                )
            )
    return events[:count]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def throughput(count: int) -> dict[str, Any]:
    """`on_event` over a pre-built stream, event time advancing 100 µs per event (10,000/s)."""
    start = 1_800_000_000.0
    clock = Clock(start)
    engine = AutomationEngine(fifty_automations(), clock=clock)
    events = event_stream(count, start, 1e-4)
    firings = 0
    began = time.perf_counter()
    for n, event in enumerate(events):
        clock.now = event.occurred
        firings += len(engine.on_event(event))
        if n % 1000 == 0:
            firings += len(engine.due(clock.now))
    elapsed = time.perf_counter() - began
    per_event = []
    for event in events[:50_000]:
        t = time.perf_counter_ns()
        engine.on_event(event)
        per_event.append(time.perf_counter_ns() - t)
    per_event.sort()
    return {
        "events": count,
        "firings": firings,
        "events_per_s": count / elapsed,
        "per_event_p50_us": per_event[len(per_event) // 2] / 1e3,
        "per_event_p99_us": per_event[int(len(per_event) * 0.99)] / 1e3,
        "snapshot": snapshot_cost(engine),
    }


def snapshot_cost(engine: AutomationEngine, samples: int = 50) -> dict[str, float]:
    """One save as the daemon makes it: `snapshot()` to JSON on the loop, then the atomic write."""
    on_loop, written = [], []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "automations.json"
        for _ in range(samples):
            began = time.perf_counter()
            text = json.dumps(engine.snapshot(), separators=(",", ":"))
            encoded = time.perf_counter()
            write_snapshot(path, text)
            on_loop.append(encoded - began)
            written.append(time.perf_counter() - encoded)
    return {
        "bytes": len(text),
        "on_loop_p50_ms": statistics.median(on_loop) * 1e3,
        "write_p50_ms": statistics.median(written) * 1e3,
    }


class Stamps:
    """An ActionContext for one firing: notes how long after `born` each action reached the daemon's side."""

    def __init__(self, born: float, out: list[float]) -> None:
        self.born = born
        self.out = out

    def _note(self) -> None:
        self.out.append(time.perf_counter() - self.born)

    async def run_deployment(self, name: str, parameters: dict[str, Any]) -> str:
        self._note()
        return "run"

    async def pause_deployment(self, name: str) -> None:
        self._note()

    async def resume_deployment(self, name: str) -> None:
        self._note()

    async def cancel_flow_run(self, flow_run_id: str) -> None:
        self._note()

    async def set_flow_run_state(self, flow_run_id: str, name: str, message: str | None) -> None:
        self._note()

    async def pause_automation(self, name: str) -> None:
        self._note()

    async def resume_automation(self, name: str) -> None:
        self._note()

    async def emit(self, event: EventRecord) -> None:
        self._note()


async def realtime(rate: int, seconds: float) -> dict[str, Any]:
    """Feeds events at `rate`/s in 5 ms batches through a queue to the engine, as the daemon would,
    keeping its state in a file as the daemon does."""
    engine = AutomationEngine(fifty_automations(), clock=time.time)
    folder = tempfile.TemporaryDirectory()
    keeper = StateKeeper(engine, Path(folder.name) / "automations.json")
    template = event_stream(int(rate * seconds), 0.0, 0.0)
    queue: asyncio.Queue[tuple[float, EventRecord] | None] = asyncio.Queue()
    latencies: list[float] = []
    depth = 0

    async def consume() -> None:
        tasks = set()
        while (item := await queue.get()) is not None:
            born, event = item
            for firing in engine.on_event(event):
                work = execute(firing, engine.spec(firing.automation), Stamps(born, latencies))
                task = asyncio.create_task(work)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            keeper.changed()
        await asyncio.gather(*tasks)

    consumer = asyncio.create_task(consume())
    batch = max(1, rate // 200)
    began = time.perf_counter()
    for i in range(0, len(template), batch):
        due = began + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        now, stamp = time.time(), time.perf_counter()
        for e in template[i : i + batch]:
            queue.put_nowait(
                (stamp, EventRecord(e.id, now, e.event, e.resource, e.payload, e.related))
            )
        depth = max(depth, queue.qsize())
    fed = time.perf_counter()
    queue.put_nowait(None)
    await consumer
    drained = time.perf_counter()
    await keeper.close()
    folder.cleanup()
    latencies.sort()
    return {
        "rate": rate,
        "events": len(template),
        "state_saves": keeper.saves,
        "max_queue_depth": depth,
        "drain_after_feed_ms": (drained - fed) * 1e3,
        "achieved_events_per_s": len(template) / (drained - began),
        "actions": len(latencies),
        "event_to_action_p50_ms": latencies[len(latencies) // 2] * 1e3 if latencies else None,
        "event_to_action_p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3
        if latencies
        else None,
    }


def serve_hooks() -> tuple[ThreadingHTTPServer, list[float], threading.Event]:
    arrivals: list[float] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrivals.append(time.perf_counter())
            arrived.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals, arrived


async def webhook_latency(samples: int) -> dict[str, float]:
    """Event in, POST received by a local server: one at a time."""
    server, arrivals, _ = serve_hooks()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    engine = AutomationEngine(fifty_automations(url), clock=time.time)
    latencies = []
    for i in range(samples):
        event = EventRecord(
            f"w{i}",
            time.time(),
            "orc.flow-run.Running",
            {"orc.resource.id": f"orc.flow-run.special-0-{i}"},
        )
        born = time.perf_counter()
        for firing in engine.on_event(event):
            await execute(firing, engine.spec(firing.automation), Stamps(born, []))
        latencies.append(arrivals[-1] - born)
    server.shutdown()
    server.server_close()
    return _percentiles(latencies)


async def command_latency(samples: int) -> dict[str, float]:
    """Event in, `run-command` program finished (`true`): process start dominates."""
    text = '[[automations]]\nname = "cmd"\ntrigger = { event = "x" }\nactions = [{ type = "run-command", command = ["true"] }]'
    specs, _ = validate_automations(tomllib.loads(text)["automations"], set())
    engine = AutomationEngine(specs, clock=time.time)
    latencies = []
    for i in range(samples):
        born = time.perf_counter()
        for firing in engine.on_event(
            EventRecord(f"c{i}", time.time(), "x", {"orc.resource.id": "x"})
        ):
            await execute(firing, engine.spec("cmd"), Stamps(born, []))
        latencies.append(time.perf_counter() - born)
    return _percentiles(latencies)


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "p50_ms": statistics.median(values) * 1e3,
        "p99_ms": values[int(len(values) * 0.99)] * 1e3,
    }


def render_markdown(report: dict[str, Any]) -> str:
    snap = report["throughput"]["snapshot"]
    t, rt, hook, cmd = (
        report["throughput"],
        report["realtime"],
        report["webhook"],
        report["command"],
    )
    rows: list[tuple[str, str, str]] = [
        (
            "`on_event`, 50 automations, one core",
            f"{t['events_per_s']:,.0f} events/s",
            f"≥ {TARGETS['events_per_s']:,}/s",
        ),
        (
            "time per event (p50 / p99)",
            f"{t['per_event_p50_us']:.1f} / {t['per_event_p99_us']:.1f} µs",
            "",
        ),
        (
            f"state snapshot of the 50 automations after the run ({snap['bytes']:,} bytes): "
            "on the loop / atomic write (p50)",
            f"{snap['on_loop_p50_ms']:.2f} / {snap['write_p50_ms']:.2f} ms",
            "",
        ),
        (
            f"real-time feed at {rt['rate']:,}/s for {rt['events']:,} events, state kept in a file "
            f"({rt.get('state_saves', 0)} saves): max queue depth",
            f"{rt['max_queue_depth']:,}",
            "",
        ),
        (
            "… queue drained after the last event in",
            f"{rt['drain_after_feed_ms']:.1f} ms",
            "keeps up",
        ),
        (
            "… event → daemon action (p50 / p99)",
            _ms(rt["event_to_action_p50_ms"], rt["event_to_action_p99_ms"]),
            f"p50 ≤ {TARGETS['event_to_action_p50_ms']} ms",
        ),
        (
            "event → webhook POST received (p50 / p99)",
            _ms(hook["p50_ms"], hook["p99_ms"]),
            f"p50 ≤ {TARGETS['event_to_action_p50_ms']} ms",
        ),
        ("event → `run-command` program done (p50 / p99)", _ms(cmd["p50_ms"], cmd["p99_ms"]), ""),
    ]
    lines = [
        "# orc automations benchmark",
        "",
        f"{report['when']} · Python {report['python']} · {report['cpus']} CPUs (load {report['load_average']:.1f} at start) · "
        f"{t['events']:,} events, {t['firings']:,} firings",
        "",
        "| workload | orc | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Prefect's event persister flushes every 5 s; its automations react after that.",
        "",
    ]
    return "\n".join(lines)


def _ms(p50: float | None, p99: float | None) -> str:
    return "n/a" if p50 is None or p99 is None else f"{p50:.2f} / {p99:.2f} ms"


def timed_section(name: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    print(f"{name}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the real-time feed")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],  # a shared machine's other work shows in every figure
        "throughput": timed_section("throughput", lambda: throughput(args.events)),
        "realtime": timed_section(
            "realtime", lambda: asyncio.run(realtime(TARGETS["events_per_s"], args.seconds))
        ),
        "webhook": timed_section("webhook", lambda: asyncio.run(webhook_latency(200))),
        "command": timed_section("command", lambda: asyncio.run(command_latency(50))),
        "targets": TARGETS,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "automations.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render_markdown(report)
    (args.out / "automations.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
