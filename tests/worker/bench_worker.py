"""Worker figures: cold start to the flow body's first line, and records shipped per second.

    python tests/worker/bench_worker.py [--spawns 20]

Start latency is measured from just before the supervisor spawns the worker
to the first line of the flow body (which prints `time.time()`), over
`--spawns` cold subprocesses, for a flow without and with parameters (the
latter pays for pydantic). Throughput runs a 1,000-task flow and counts the
records that reach `on_records` per second, from the body's first line to the
last record; the codec alone is timed in-process too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

from orchestrate.core.record_codec import decode_records, encode_records
from orchestrate.core.records import LogRecord, Record, StateRecord, TaskRunRecord
from orchestrate.daemon.supervisor import Supervisor
from orchestrate.worker.spec import RunSpec

FLOWS = """
import time
from orchestrate import flow, task

@flow
def bare():
    print(time.time(), flush=True)

@flow
def with_parameters(day: str, n: int = 1):
    print(time.time(), flush=True)

@task
def step(i: int) -> int:
    return i

@flow
def thousand(n: int = 1000):
    print(time.time(), flush=True)
    for i in range(n):
        step(i)
"""


async def first_line_latency(root: Path, entrypoint: str, parameters: dict[str, object]) -> float:
    lines: list[str] = []
    supervisor = Supervisor(
        lambda rs: lines.extend(
            r.message for r in rs if isinstance(r, LogRecord) and r.logger == "stdout"
        )
    )
    spec = RunSpec(
        flow_run_id="bench",
        deployment="bench",
        entrypoint=entrypoint,
        project_root=str(root),
        parameters=parameters,
    )
    before = time.time()
    handle = await supervisor.start(spec)
    exit_ = await handle.wait()
    assert exit_.final_state.is_completed(), exit_
    return float(lines[0]) - before


async def shipping_rate(root: Path) -> tuple[int, float]:
    received: list[tuple[float, list[Record]]] = []
    supervisor = Supervisor(lambda rs: received.append((time.time(), rs)))
    spec = RunSpec(
        flow_run_id="bench",
        deployment="bench",
        entrypoint="flows.py:thousand",
        project_root=str(root),
    )
    exit_ = await (await supervisor.start(spec)).wait()
    assert exit_.final_state.is_completed(), exit_
    body = next(
        float(r.message)
        for _, rs in received
        for r in rs
        if isinstance(r, LogRecord) and r.logger == "stdout"
    )
    shipped = [
        (t, rs)
        for t, rs in received
        if any(not isinstance(r, LogRecord) or r.logger != "stdout" for r in rs)
    ]
    count = sum(len(rs) for _, rs in shipped)
    return count, count / (shipped[-1][0] - body)


def codec_rates(n: int = 30_000) -> tuple[float, float]:
    from orchestrate.states import Completed

    records: list[Record] = []
    for i in range(n // 3):
        run = TaskRunRecord(
            f"t{i}",
            "f",
            f"step-{i}",
            "step",
            i,
            Completed(),
            time.time(),
            start_time=1.0,
            end_time=2.0,
        )
        records += [
            StateRecord(run.id, "f", True, run.state),
            run,
            LogRecord("f", run.id, 1.0, 20, "orc.task_runs", "Finished in state Completed()"),
        ]
    started = time.perf_counter()
    text = json.dumps(encode_records(records), separators=(",", ":"))
    encode = n / (time.perf_counter() - started)
    started = time.perf_counter()
    decode_records(json.loads(text))
    decode = n / (time.perf_counter() - started)
    return encode, decode


async def main(spawns: int) -> None:
    with tempfile.TemporaryDirectory(prefix="orc-bench-worker-") as folder:
        root = Path(folder)
        (root / "flows.py").write_text(textwrap.dedent(FLOWS))
        for label, entrypoint, parameters in [
            ("no parameters", "flows.py:bare", {}),
            ("with parameters", "flows.py:with_parameters", {"day": "2026-01-01", "n": "3"}),
        ]:
            samples = [
                await first_line_latency(root, entrypoint, parameters) for _ in range(spawns)
            ]
            print(
                f"cold start to first body line, {label}: p50 {statistics.median(samples) * 1e3:.0f} ms, "
                f"min {min(samples) * 1e3:.0f} ms, max {max(samples) * 1e3:.0f} ms ({spawns} spawns)"
            )
        rates = [await shipping_rate(root) for _ in range(3)]
        count, rate = sorted(rates, key=lambda r: r[1])[1]
        print(
            f"1,000-task flow: {count} records, {rate:,.0f} records/s through the pipe (median of 3)"
        )
    encode, decode = codec_rates()
    print(
        f"codec: encode + json.dumps {encode:,.0f} records/s, json.loads + decode {decode:,.0f} records/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=20)
    asyncio.run(main(parser.parse_args().spawns))
