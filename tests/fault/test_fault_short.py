"""The short fault suite: a few kill -9s of the daemon and of workers, a SIGSTOP, then the invariants.

The long form (`python -m tests.fault`) runs the same rounds hundreds of
times; this one runs two in well under the test timeout, on every change.
A failure names the seed: `ORC_FAULT_SEED=<seed> pytest tests/fault` replays it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.fault.faults import Round, default_seed, run_round, write_results
from tests.fault.invariants import INVARIANTS, Evidence, Violations, check

#: seven daemon kills over every kind, three worker kills and one SIGSTOP, in two rounds
ROUNDS = [
    ["dispatch", "reload", "shutdown", "worker", "worker", "sigstop"],
    ["run", "write", "dispatch", "failure", "worker"],
]


def _failure(seed: str, rounds: list[Round], results: Path) -> str:
    lines = [
        f"seed {seed} (replay: ORC_FAULT_SEED={seed} pytest tests/fault); results in {results}"
    ]
    for r in rounds:
        faults = ", ".join(f"{t.kind} ({t.detail})" for t in r.trials)
        lines.append(f"round {r.round}: {faults}")
        if r.error:
            lines.append(f"  error: {r.error}")
        for key, details in r.violations.get("details", {}).items():
            lines.append(f"  {key}: {INVARIANTS[key]}: {r.violations['counts'][key]}")
            lines += [f"    {d}" for d in details[:3]]
    return "\n".join(lines)


def test_kill_9_of_the_daemon_and_workers_breaks_no_guarantee(tmp_path: Path) -> None:
    seed = default_seed()
    rng = random.Random(seed)
    rounds = []
    for number, faults in enumerate(ROUNDS, start=1):
        plan = list(faults)
        rng.shuffle(plan)
        rounds.append(run_round(tmp_path, number, seed, faults=plan, settle_for=20))
    results = Path(os.environ.get("ORC_FAULT_RESULTS", tmp_path / ".orc-fault-results.json"))
    write_results(results, seed, rounds)
    broken = sum(r.total_violations for r in rounds) + sum(1 for r in rounds if r.error)
    assert broken == 0, _failure(seed, rounds, results)


def _evidence() -> Evidence:
    """A consistent store and marker file for one finished run of `quick`."""
    run, task = "run-1", "task-1"
    return Evidence(
        markers=[
            {
                "kind": "flow",
                "phase": "start",
                "flow_run": run,
                "attempt": 1,
                "deployment": "quick",
                "pid": 1,
                "slot": 0.0,
            },
            {
                "kind": "task",
                "phase": "start",
                "flow_run": run,
                "task_run": task,
                "attempt": 1,
                "deployment": "quick",
                "pid": 1,
            },
            {
                "kind": "flow",
                "phase": "end",
                "flow_run": run,
                "attempt": 1,
                "deployment": "quick",
                "pid": 1,
            },
        ],
        flow_runs={
            run: {
                "id": run,
                "deployment": "quick",
                "state_type": "COMPLETED",
                "state_name": "Completed",
                "run_count": 1,
            }
        },
        task_runs={
            task: {
                "id": task,
                "flow_run_id": run,
                "state_type": "COMPLETED",
                "state_name": "Completed",
            }
        },
        history={
            run: ["Scheduled", "Pending", "Running", "Completed"],
            task: ["Running", "Completed"],
        },
        slots=[
            {
                "key": "k",
                "flow_run_id": run,
                "deployment": "quick",
                "schedule_id": "s",
                "slot_time": 0.0,
            }
        ],
    )


def _found(evidence: Evidence, tmp_path: Path) -> dict[str, int]:
    found: Violations = check(evidence, tmp_path)
    return {k: n for k, n in found.counts.items() if n}


def test_the_checks_pass_a_consistent_run(tmp_path: Path) -> None:
    assert _found(_evidence(), tmp_path) == {}


def _ended_failed(evidence: Evidence, deployment: str, told: int, attempt: int = 1) -> None:
    """The run of `deployment` ended Failed at `attempt`, its end told `told` times."""
    run = evidence.flow_runs["run-1"]
    run.update(deployment=deployment, state_type="FAILED", state_name="Failed", run_count=attempt)
    evidence.told["run-1"] = [("Failed", attempt)] * told


def test_the_checks_pass_a_run_that_failed_for_good_and_said_so(tmp_path: Path) -> None:
    evidence = _evidence()
    for marker in evidence.markers:
        marker["deployment"] = "fails"
    evidence.markers[-1]["phase"] = "raise"
    _ended_failed(evidence, "fails", told=1, attempt=3)
    evidence.history["run-1"][-1] = "Failed"
    assert _found(evidence, tmp_path) == {}


@pytest.mark.parametrize(
    ("name", "broken"),
    [
        ("attempts", lambda e: e.markers.insert(2, dict(e.markers[0], pid=2))),
        ("no_rerun", lambda e: e.markers.append(dict(e.markers[0], attempt=2))),
        ("no_rerun", lambda e: e.flow_runs["run-1"].update(state_name="Crashed")),
        ("recorded", lambda e: e.task_runs.clear()),
        ("history", lambda e: e.history["run-1"].pop()),
        (
            "not_stuck",
            lambda e: e.flow_runs["run-1"].update(state_type="RUNNING", state_name="Running"),
        ),
        ("slot_once", lambda e: e.slots.append(dict(e.slots[0], key="k2", flow_run_id="run-2"))),
        ("retried", lambda e: _ended_failed(e, "fails", told=1)),
        ("told_once", lambda e: _ended_failed(e, "quick", told=0)),
        ("told_once", lambda e: _ended_failed(e, "quick", told=2)),
    ],
)
def test_each_check_catches_its_violation(tmp_path: Path, name: str, broken: object) -> None:
    evidence = _evidence()
    broken(evidence)  # type: ignore[operator]
    assert name in _found(evidence, tmp_path)


def test_flows_toml_edits_lose_no_state_history(tmp_path: Path) -> None:
    """Edits that move a schedule withdraw and plan runs in one writer batch: nothing may be lost."""
    seed = default_seed()
    result = run_round(tmp_path, 1, seed, faults=["reload-only"] * 3, settle_for=20)
    assert result.total_violations == 0 and not result.error, _failure(seed, [result], tmp_path)
