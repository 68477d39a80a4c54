"""What the pushed `status` and `deployment` topics cost the daemon, with a dashboard open and without.

    python bench/state_push.py [--runs 200] [--rounds 3] [--out bench/results]

A real `orc up` runs `runs` trivial runs (4 slots), twice per round on a
fresh daemon: once with a client subscribed to `flow_run` only (what a CLI
`--watch` asks), once subscribed as `orc tui` is (flow_run, deployment,
automation, status, event), so every run change also builds and pushes a
status (a burst coalesced into one per 0.1 s). Figures: runs per second,
the daemon's CPU seconds per run, and the status pushes received. Medians of
the rounds, the two modes taken side by side. Writes `state_push.json` and
`state_push.md` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from daemon import start_daemon, stop

DEPLOYMENT = '[[deployments]]\nname = "trivial"\nentrypoint = "flows.py:trivial"\n'
DASHBOARD = ["flow_run", "deployment", "automation", "status", "event"]


def cpu_seconds(pid: int) -> float:
    """The daemon's own CPU time (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (100/s here)


def one(runs: int, topics: list[str]) -> dict[str, float]:
    from orchestrate.client import connect

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        proc = start_daemon(root, DEPLOYMENT)
        try:
            with connect(root) as client, client.subscribe(topics) as changes:  # type: ignore[arg-type]
                cpu, started = cpu_seconds(proc.pid), time.perf_counter()
                for i in range(runs):
                    client.create_run("trivial", {"i": i})
                settled = statuses = 0
                for change in changes:
                    statuses += change.topic == "status"
                    if change.topic == "flow_run" and change.data.get("settled"):
                        settled += 1
                        if settled == runs:
                            break
                elapsed = time.perf_counter() - started
                used = cpu_seconds(proc.pid) - cpu
        finally:
            stop(proc)
    return {
        "runs_per_s": runs / elapsed,
        "cpu_ms_per_run": used / runs * 1000,
        "status_pushes": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    rounds: dict[str, list[dict[str, float]]] = {"flow_run only": [], "as orc tui": []}
    for _ in range(args.rounds):  # side by side, so the machine's mood hits both alike
        rounds["flow_run only"].append(one(args.runs, ["flow_run"]))
        rounds["as orc tui"].append(one(args.runs, DASHBOARD))
    results: dict[str, Any] = {
        mode: {key: round(statistics.median(r[key] for r in found), 2) for key in found[0]}
        for mode, found in rounds.items()
    }
    results["runs"], results["rounds"] = args.runs, args.rounds
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "state_push.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# status and deployment pushes: their cost to the daemon",
        "",
        f"{platform.machine()} {platform.python_version()}; {args.runs} trivial runs, 4 slots; "
        f"medians of {args.rounds} rounds, the two subscriptions side by side.",
        "",
        "| subscriber | runs/s | daemon CPU per run | status pushes |",
        "|---|---|---|---|",
    ]
    for mode in rounds:
        r = results[mode]
        lines.append(
            f"| {mode} | {r['runs_per_s']} | {r['cpu_ms_per_run']} ms | {r['status_pushes']:.0f} |"
        )
    (args.out / "state_push.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
