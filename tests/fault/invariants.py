"""What must hold after any fault, checked from the outside: the store and the markers.

The store is read only once every daemon is down (DuckDB lets no other
process open a file its writer holds). The markers are what the flow bodies
did, written before and after the work, so they are the ground truth the
store is checked against.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tests.fault.project import DEPLOYMENTS, describe, processes_of

INVARIANTS = {
    "attempts": "no run's body started more often than its attempts allow",
    "no_rerun": "a body that finished is Completed, never started again",
    "recorded": "every flow and task execution has its row",
    "history": "every run has its state history, ending in its current state",
    "not_stuck": "no run left Pending, Running or Cancelling",
    "retried": "a run that failed or crashed was retried while its retries allowed",
    "told_once": "a run that ended failed or crashed has the event telling so, once",
    "slot_once": "no schedule slot made or run twice",
    "no_leftover": "no process of a run alive after the daemon stopped",
    "answers": "orc status answers while the store's disk is full",
    "resumes": "runs start and complete again once disk space is back",
}

ACTIVE = ("PENDING", "RUNNING", "CANCELLING")
#: the state names a failed or crashed flow run ends in, each told by its own event
FAILED_NAMES = ("Failed", "TimedOut", "Crashed")
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
#: the most details kept per invariant and round; counts stay exact
DETAILS = 10


@dataclass
class Violations:
    """Violations per invariant: an exact count and the first few details."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INVARIANTS, 0))
    details: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in INVARIANTS})

    def add(self, invariant: str, detail: str) -> None:
        self.counts[invariant] += 1
        if len(self.details[invariant]) < DETAILS:
            self.details[invariant].append(detail)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "details": {k: v for k, v in self.details.items() if v}}

    def summary(self) -> str:
        lines = [f"{k}: {n} ({INVARIANTS[k]})" for k, n in self.counts.items() if n]
        for key, details in self.details.items():
            lines += [f"  {key}: {d}" for d in details]
        return "\n".join(lines)


@dataclass
class Evidence:
    """Everything the checks read: marker lines in write order, and the store's tables."""

    markers: list[dict[str, Any]]
    flow_runs: dict[str, dict[str, Any]]
    task_runs: dict[str, dict[str, Any]]
    history: dict[str, list[str]]
    slots: list[dict[str, Any]]
    #: per flow run, (state name, attempt) of each stored event telling it ended failed
    told: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def read_markers(path: Path) -> list[dict[str, Any]]:
    """Marker lines in the order they were written (a torn last line is impossible: one write each)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_store(
    path: Path,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]], list[Any]]:
    """Flow runs, task runs, state names per run (oldest first) and slots, from a closed store."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        flow_runs = _rows(
            conn, "SELECT id, deployment, state_type, state_name, run_count FROM flow_runs"
        )
        task_runs = _rows(conn, "SELECT id, flow_run_id, state_type, state_name FROM task_runs")
        history: dict[str, list[str]] = defaultdict(list)
        order = "SELECT run_id, state_name FROM state_history ORDER BY ts, rowid"
        for run_id, name in conn.execute(order).fetchall():
            history[run_id].append(name)
        slots = conn.execute(
            "SELECT key, flow_run_id, deployment, schedule_id, slot_time FROM schedule_slots"
        )
        columns = [d[0] for d in slots.description]
        slot_rows = [dict(zip(columns, row, strict=True)) for row in slots.fetchall()]
    finally:
        conn.close()
    return {r["id"]: r for r in flow_runs}, {r["id"]: r for r in task_runs}, history, slot_rows


def read_told(path: Path) -> dict[str, list[tuple[str, int]]]:
    """Per flow run, (state name, attempt) of each stored `orc.flow-run.<failed state>` event."""
    names = [f"orc.flow-run.{name}" for name in FAILED_NAMES]
    conn = duckdb.connect(str(path), read_only=True)
    try:
        rows = conn.execute(
            "SELECT json_extract_string(resource, '$.\"orc.resource.id\"'), event, "
            "json_extract(payload, '$.run_count')::INTEGER FROM events "
            "WHERE list_contains($1::VARCHAR[], event)",
            [names],
        ).fetchall()
    finally:
        conn.close()
    told: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for resource, event, attempt in rows:
        told[resource.removeprefix("orc.flow-run.")].append(
            (event.removeprefix("orc.flow-run."), attempt)
        )
    return told


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def gather(root: Path) -> Evidence:
    store = root / ".orc" / "orc.duckdb"
    flow_runs, task_runs, history, slots = read_store(store)
    markers = read_markers(root / "markers.log")
    return Evidence(markers, flow_runs, task_runs, history, slots, read_told(store))


def check(evidence: Evidence, root: Path, seen: list[tuple[str, str]] | None = None) -> Violations:
    """Every invariant over one project's evidence, plus the processes still alive in it.

    `seen` are (invariant, detail) violations observed live, such as runs
    that never settled: stuck, even if the stop then gave them a final state.
    """
    found = Violations()
    for invariant, detail in seen or []:
        found.add(invariant, detail)
    check_attempts(evidence, found)
    check_no_rerun(evidence, found)
    check_recorded(evidence, found)
    check_history(evidence, found)
    check_not_stuck(evidence, found)
    check_failures(evidence, found)
    check_slot_once(evidence, found)
    check_no_leftover(root, found)
    return found


def _flow_starts(evidence: Evidence) -> dict[str, list[dict[str, Any]]]:
    starts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in evidence.markers:
        if line["kind"] == "flow" and line["phase"] == "start":
            starts[line["flow_run"]].append(line)
    return starts


def check_attempts(evidence: Evidence, found: Violations) -> None:
    """At most retries + 1 attempts, each attempt number once, and the store counts them all."""
    for run_id, starts in _flow_starts(evidence).items():
        deployment = starts[0]["deployment"]
        allowed = DEPLOYMENTS[deployment][2] + 1
        attempts = [s["attempt"] for s in starts]
        if len(set(attempts)) > allowed:
            found.add(
                "attempts",
                f"run {run_id} ({deployment}) started attempts {attempts}; retries allow {allowed}",
            )
        for number in sorted({a for a in attempts if attempts.count(a) > 1}):
            pids = [s["pid"] for s in starts if s["attempt"] == number]
            found.add(
                "attempts",
                f"run {run_id} ({deployment}) started attempt {number} {len(pids)} times (pids {pids})",
            )
        stored = evidence.flow_runs.get(run_id)
        if stored is not None and (stored["run_count"] or 0) < max(attempts):
            found.add(
                "attempts",
                f"run {run_id} ({deployment}) executed attempt {max(attempts)} "
                f"but the store counts run_count = {stored['run_count']}",
            )


def check_no_rerun(evidence: Evidence, found: Violations) -> None:
    """After a body wrote `end`, the run never starts a body again, and it is stored Completed."""
    finished: dict[str, int] = {}
    for line in evidence.markers:
        if line["kind"] != "flow":
            continue
        run_id = line["flow_run"]
        if line["phase"] == "end":
            finished.setdefault(run_id, line["attempt"])
        elif line["phase"] == "start" and run_id in finished:
            found.add(
                "no_rerun",
                f"run {run_id} ({line['deployment']}) finished attempt "
                f"{finished[run_id]}, then started attempt {line['attempt']}",
            )
    _check_finished_completed(evidence, found)


def _check_finished_completed(evidence: Evidence, found: Violations) -> None:
    """A run whose last body finished is Completed, not Crashed as if it had been cut off."""
    last: dict[str, dict[str, Any]] = {}
    for line in evidence.markers:
        if line["kind"] == "flow" and line["phase"] in ("start", "end"):
            last[line["flow_run"]] = line
    for run_id, line in last.items():
        stored = evidence.flow_runs.get(run_id)
        if line["phase"] == "end" and stored is not None and stored["state_name"] != "Completed":
            found.add(
                "no_rerun",
                f"run {run_id} ({line['deployment']}) finished attempt {line['attempt']} "
                f"but is stored {stored['state_name']}",
            )


def check_recorded(evidence: Evidence, found: Violations) -> None:
    """Each body that started has its flow run row; each task body its task run row."""
    for run_id, starts in _flow_starts(evidence).items():
        if run_id not in evidence.flow_runs:
            found.add(
                "recorded", f"run {run_id} ({starts[0]['deployment']}) ran but has no flow_runs row"
            )
    seen: set[str] = set()
    for line in evidence.markers:
        if line["kind"] == "task" and line["phase"] == "start" and line["task_run"] not in seen:
            seen.add(line["task_run"])
            if line["task_run"] not in evidence.task_runs:
                found.add(
                    "recorded",
                    f"task run {line['task_run']} of run {line['flow_run']} "
                    f"(attempt {line['attempt']}) ran but has no task_runs row",
                )


def check_history(evidence: Evidence, found: Violations) -> None:
    """Every flow and task run has history rows, the latest naming its current state."""
    runs = [*evidence.flow_runs.values(), *evidence.task_runs.values()]
    for run in runs:
        kind = "task run" if "flow_run_id" in run else "run"
        names = evidence.history.get(run["id"], [])
        if not names:
            found.add("history", f"{kind} {run['id']} ({run['state_name']}) has no state history")
        elif names[-1] != run["state_name"]:
            found.add(
                "history",
                f"{kind} {run['id']} is {run['state_name']} but its history ends "
                f"{names[-1]} ({len(names)} rows)",
            )


def check_not_stuck(evidence: Evidence, found: Violations) -> None:
    """Nothing active once the daemon settled and stopped; no task open in a finished run."""
    for run in evidence.flow_runs.values():
        if run["state_type"] in ACTIVE:
            found.add(
                "not_stuck", f"run {run['id']} ({run['deployment']}) left {run['state_name']}"
            )
    for task in evidence.task_runs.values():
        parent = evidence.flow_runs.get(task["flow_run_id"])
        if task["state_type"] in ACTIVE and parent is not None and parent["state_type"] in FINAL:
            found.add(
                "not_stuck",
                f"task run {task['id']} left {task['state_name']} "
                f"in {parent['state_name']} run {parent['id']}",
            )


def check_failures(evidence: Evidence, found: Violations) -> None:
    """A run that ended failed or crashed spent every attempt its retries allow (nothing here
    stops a retry: no cancel, no failure that needs a fix), and its end was told exactly once."""
    for run in evidence.flow_runs.values():
        if run["state_type"] not in ("FAILED", "CRASHED"):
            continue
        allowed = DEPLOYMENTS[run["deployment"]][2] + 1
        if (run["run_count"] or 0) < allowed:
            found.add(
                "retried",
                f"run {run['id']} ({run['deployment']}) ended {run['state_name']} after "
                f"{run['run_count']} attempt(s); retries allow {allowed}",
            )
        told = evidence.told.get(run["id"], []).count((run["state_name"], run["run_count"]))
        if told != 1:
            found.add(
                "told_once",
                f"run {run['id']} ({run['deployment']}) ended {run['state_name']} "
                f"(attempt {run['run_count']}): told {told} time(s)",
            )


def check_slot_once(evidence: Evidence, found: Violations) -> None:
    """One run per (deployment, schedule, slot time); every run has its slot; no slot body twice."""
    by_slot: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    slot_of: dict[str, tuple[Any, ...]] = {}
    for slot in evidence.slots:
        key = (slot["deployment"], slot["schedule_id"], slot["slot_time"])
        by_slot[key].add(slot["flow_run_id"])
        slot_of[slot["flow_run_id"]] = key
    for key, run_ids in by_slot.items():
        if len(run_ids) > 1:
            found.add(
                "slot_once", f"slot {key[0]} at {key[2]} has {len(run_ids)} runs: {sorted(run_ids)}"
            )
    for run in evidence.flow_runs.values():
        if run["id"] not in slot_of:
            found.add(
                "slot_once", f"run {run['id']} ({run['deployment']}) has no schedule slot row"
            )
    _check_slot_bodies(evidence, slot_of, found)


def _check_slot_bodies(
    evidence: Evidence, slot_of: dict[str, tuple[Any, ...]], found: Violations
) -> None:
    ran: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for run_id, starts in _flow_starts(evidence).items():
        first = min(starts, key=lambda s: s["attempt"])
        key = slot_of.get(run_id)
        if key is None and first["attempt"] == 1:
            key = (first["deployment"], "marker", first["slot"])
        if key is not None:
            ran[key].add(run_id)
    for key, run_ids in ran.items():
        if len(run_ids) > 1:
            found.add(
                "slot_once",
                f"slot {key[0]} at {key[2]} ran in {len(run_ids)} runs: {sorted(run_ids)}",
            )


def check_no_leftover(root: Path, found: Violations, dying_for: float = 2.0) -> None:
    """No process works in the project once its daemon has stopped.

    A process killed just before the daemon exited may take a moment to
    leave the process table; only one still there `dying_for` s later counts.
    """
    deadline = time.monotonic() + dying_for
    left = list(processes_of(root))
    while left and time.monotonic() < deadline:
        time.sleep(0.05)  # the interval between checks of a condition
        left = list(processes_of(root))
    for pid, cmd in left:
        found.add("no_leftover", f"pid {pid} still runs: {describe(cmd)[:160]}")


__all__ = ["INVARIANTS", "Evidence", "Violations", "check", "gather"]
