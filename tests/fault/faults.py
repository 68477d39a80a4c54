"""Faults, rounds and the result file: kill orc at random moments, settle it, check it.

A round is one fresh project: `orc up`, a sequence of faults (each one a
trial: the daemon killed with SIGKILL right after a dispatch, mid-run, in a
burst of writes, during a flows.toml reload, during shutdown or right after a
flow failed, before its worker exited; a worker
killed with SIGKILL; the daemon stopped with SIGSTOP for a few seconds),
a restart after each daemon kill, then a settle (deployments paused, every
run allowed to end), a clean stop and the invariant checks. Everything
random comes from one seed, printed with every failure, so a round replays
with `ORC_FAULT_SEED`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.fault.disk import MountRefused, full_then_freed, small_tmpfs
from tests.fault.invariants import INVARIANTS, Violations, check, gather
from tests.fault.project import DEPLOYMENTS, FaultProject, pid_alive, wait_for

DAEMON_KILLS = ("dispatch", "run", "write", "reload", "shutdown", "failure")
#: state filters of `orc runs ls` that a settled project shows nothing for
UNSETTLED = ("PENDING", "RUNNING", "CANCELLING", "AwaitingRetry")


@dataclass
class Trial:
    """One fault: what was hit, how, when (seconds into the round) and what happened."""

    trial: int
    kind: str
    at: float
    detail: str = ""


@dataclass
class Round:
    """One project's faults and the violations found after them."""

    round: int
    seed: str
    trials: list[Trial] = field(default_factory=list)
    violations: dict[str, Any] = field(default_factory=dict)
    total_violations: int = 0
    seconds: float = 0.0
    error: str | None = None
    skipped: str | None = None


def daemon_kill_kinds(
    rng: random.Random, count: int, kinds: tuple[str, ...] = DAEMON_KILLS
) -> list[str]:
    """`count` daemon kills spread over `kinds`, in a random order."""
    chosen = [kinds[i % len(kinds)] for i in range(count)]
    rng.shuffle(chosen)
    return chosen


class Runner:
    """Runs the faults of one round on one project."""

    def __init__(
        self,
        project: FaultProject,
        rng: random.Random,
        number: int,
        seed: str,
        settle_for: float = 60,
    ) -> None:
        self.project = project
        self.settle_for = settle_for
        self.rng = rng
        self.round = Round(number, seed)
        self.started = time.monotonic()
        self._log_offset = 0
        #: (invariant, detail) violations seen live, e.g. runs that never settled
        self.seen: list[tuple[str, str]] = []

    def run(self, faults: list[str]) -> Round:
        """Every fault in order, then settle, stop and check; the daemon never survives it."""
        try:
            self._up()
            for kind in faults:
                self._ensure_up()
                self._fault(kind)
            self._ensure_up()
            self.settle(self.settle_for)
            self.project.stop()
            found = check(gather(self.project.root), self.project.root, self.seen)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-3:]
            frames = " <- ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(where)
            )
            self.round.error = f"{type(exc).__name__}: {exc} (at {frames})"
            found = Violations()
        finally:
            self.project.kill_everything()
        self.round.violations = found.as_json()
        self.round.total_violations = found.total
        self.round.seconds = round(time.monotonic() - self.started, 1)
        return self.round

    # -- the daemon's lifetime ------------------------------------------------------

    def _up(self) -> None:
        self.project.up()
        self._log_offset = 0

    def _ensure_up(self) -> None:
        if self.project.daemon is None:
            self._up()

    def _record(self, kind: str, detail: str = "") -> None:
        at = round(time.monotonic() - self.started, 3)
        self.round.trials.append(Trial(len(self.round.trials) + 1, kind, at, detail))

    def _fault(self, kind: str) -> None:
        faults: dict[str, Callable[[], None]] = {
            "dispatch": self.kill_after_dispatch,
            "run": self.kill_mid_run,
            "write": self.kill_in_writes,
            "reload": self.kill_in_reload,
            "shutdown": self.kill_in_shutdown,
            "failure": self.kill_after_failure,
            "worker": self.kill_worker,
            "sigstop": self.stop_and_continue,
            "disk-full": self.disk_full,
            "reload-only": self.reload_only,
        }
        faults[kind]()

    def _kill_daemon(self, kind: str, detail: str) -> None:
        self.project.kill_daemon(signal.SIGKILL)
        self._record(f"daemon-kill:{kind}", detail)

    # -- the faults -------------------------------------------------------------------

    def kill_after_dispatch(self) -> None:
        """SIGKILL within 0-300 ms after the daemon logged that it started a worker."""
        self._saw(" started ")
        wait_for(lambda: self._saw(" started "), 20, "the daemon to start a worker")
        delay = self.rng.uniform(0, 0.3)
        time.sleep(delay)  # the fault: kill at a random point after the dispatch
        self._kill_daemon("dispatch", f"{delay * 1000:.0f} ms after a 'started' line")

    def kill_mid_run(self) -> None:
        """SIGKILL at a random moment 0.2-3 s into the daemon's life, with runs in flight."""
        delay = self.rng.uniform(0.2, 3.0)
        time.sleep(delay)  # the fault: a random moment
        self._kill_daemon("run", f"{delay:.2f} s after the last check")

    def kill_in_writes(self) -> None:
        """SIGKILL within 0-100 ms of a fan-out task body starting (a burst of records)."""
        seen = self._task_starts()
        wait_for(lambda: self._task_starts() > seen, 20, "a fan-out task to start")
        delay = self.rng.uniform(0, 0.1)
        time.sleep(delay)  # the fault: kill in the middle of a burst of task records
        self._kill_daemon("write", f"{delay * 1000:.0f} ms after a task started")

    def _task_starts(self) -> int:
        return self._markers(b'"kind": "task", "phase": "start"')

    def kill_after_failure(self) -> None:
        """SIGKILL 100-400 ms after a flow body raised: its Failed state is stored by then,
        and its worker still lingers in an exit hook, so the daemon has not handled its exit
        (nor decided on a retry) yet."""
        seen = self._markers(b'"phase": "raise"')
        wait_for(lambda: self._markers(b'"phase": "raise"') > seen, 20, "a flow body to raise")
        delay = self.rng.uniform(0.1, 0.4)
        time.sleep(delay)  # the fault: kill between the stored failure and the worker's exit
        self._kill_daemon("failure", f"{delay * 1000:.0f} ms after a flow raised")

    def _markers(self, text: bytes) -> int:
        """How many marker lines hold `text`."""
        try:
            return self.project.markers.read_bytes().count(text)
        except OSError:
            return 0

    def kill_in_reload(self) -> None:
        """Rewrite flows.toml (a real diff), then SIGKILL within 0-500 ms."""
        self.project.rewrite_config()
        delay = self.rng.uniform(0, 0.5)
        time.sleep(delay)  # the fault: kill somewhere in the reload
        self._kill_daemon("reload", f"{delay * 1000:.0f} ms after rewriting flows.toml")

    def reload_only(self) -> None:
        """Rewrite flows.toml and wait until the daemon applied it: an edit, no kill."""
        self._saw("flows.toml reloaded")
        self.project.rewrite_config()
        wait_for(lambda: self._saw("flows.toml reloaded"), 20, "the daemon to apply the edit")
        self._record("reload", "flows.toml rewritten and applied")

    def _saw(self, text: str) -> bool:
        """Whether the daemon logged `text` since the last look (reading moves the mark on)."""
        lines, self._log_offset = self.project.new_log_lines(self._log_offset)
        return any(text in line for line in lines)

    def kill_in_shutdown(self) -> None:
        """With a worker running, SIGTERM (a clean stop begins), then SIGKILL within 0-400 ms."""
        wait_for(self.project.workers, 20, "a worker to run")
        self.project.kill_daemon(signal.SIGTERM)
        delay = self.rng.uniform(0, 0.4)
        time.sleep(delay)  # the fault: kill somewhere in the shutdown
        if self.project.daemon is None:
            self._record("daemon-stopped-before-kill", f"{delay * 1000:.0f} ms after SIGTERM")
            return
        self._kill_daemon("shutdown", f"{delay * 1000:.0f} ms after SIGTERM")

    def kill_worker(self, patience: float = 20) -> None:
        """SIGKILL one of this project's workers 0-300 ms after it was seen (as the OOM killer does)."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            workers = wait_for(self.project.workers, 20, "a worker to run")
            pid = self.rng.choice(workers)
            delay = self.rng.uniform(0, 0.3)
            time.sleep(delay)  # the fault: a random point of the run
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                self._record("worker-kill", f"pid {pid} {delay * 1000:.0f} ms after it was seen")
                return
        self._record("worker-missed", f"no worker lived long enough in {patience:g} s")

    def stop_and_continue(self) -> None:
        """SIGSTOP the daemon for 1-4 s, then SIGCONT: workers and clients must cope."""
        proc = self.project.daemon
        assert proc is not None
        pause = self.rng.uniform(1.0, 4.0)
        proc.send_signal(signal.SIGSTOP)
        time.sleep(pause)  # the fault: a daemon frozen this long
        proc.send_signal(signal.SIGCONT)
        self._record("daemon-sigstop", f"stopped {pause:.1f} s")

    def disk_full(self) -> None:
        """Fill the store's disk (the project must be on a small tmpfs), then free it."""
        seen = full_then_freed(self.project, self._record)
        self.seen += [("answers", f"orc status while full: {f}") for f in seen.status_failures]
        if seen.resumed_after is None:
            self.seen.append(
                ("resumes", "no run started and completed within 30 s of freeing the disk")
            )

    # -- settling -------------------------------------------------------------------

    def settle(self, timeout: float = 60) -> None:
        """Pause every deployment and wait until no run is active or waiting to retry."""
        with self.project.client() as client:
            for name in DEPLOYMENTS:
                client.pause_deployment(name)
        try:
            wait_for(lambda: not self._unsettled(), timeout, "every run to end", every=0.2)
        except TimeoutError:
            unsettled = self._unsettled()
            self.seen += [("not_stuck", f"{r} did not settle in {timeout:g} s") for r in unsettled]
            self._record("settle-timeout", f"{len(unsettled)} run(s) active after {timeout:g} s")

    def _unsettled(self) -> list[str]:
        """Runs active or waiting to retry (a state filter lists retries not due yet too)."""
        with self.project.client() as client:
            runs = [r for state in UNSETTLED for r in client.runs(limit=10_000, state=state)]
        return [f"run {r.id} ({r.deployment}) {r.state.name}" for r in runs]


def plan_faults(
    rng: random.Random,
    daemon_kills: int,
    worker_kills: int,
    sigstops: int,
    kinds: tuple[str, ...] = DAEMON_KILLS,
) -> list[str]:
    """A random order of the given numbers of each fault."""
    faults = [
        *daemon_kill_kinds(rng, daemon_kills, kinds),
        *["worker"] * worker_kills,
        *["sigstop"] * sigstops,
    ]
    rng.shuffle(faults)
    return faults


def run_round(
    base: Path,
    number: int,
    seed: str,
    faults: list[str] | None = None,
    counts: tuple[int, int, int] = (5, 1, 0),
    settle_for: float = 60,
    kinds: tuple[str, ...] = DAEMON_KILLS,
) -> Round:
    """One round in a fresh project under `base`; `counts` = daemon kills, worker kills, SIGSTOPs.

    With a `disk-full` fault the project's `.orc` is a small tmpfs; where it
    cannot be mounted the round is skipped, with the reason.
    """
    rng = random.Random(f"{seed}-{number}")
    plan = faults if faults is not None else plan_faults(rng, *counts, kinds=kinds)
    project = FaultProject.create(base / f"round-{number}")
    runner = Runner(project, rng, number, seed, settle_for)
    if "disk-full" not in plan:
        return runner.run(plan)
    try:
        with small_tmpfs(project.root / ".orc", "32m"):
            return runner.run(plan)
    except MountRefused as exc:
        runner.round.skipped = str(exc)
        return runner.round


def tested_commit() -> str:
    """The last commit that changed orc itself: what the figures are about."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%h %s", "--", "orchestrate"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()[:100]


def write_results(
    path: Path, seed: str, rounds: list[Round], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The result file: every trial with its timing and every violation with its details."""
    totals = dict.fromkeys(INVARIANTS, 0)
    for r in rounds:
        for key, n in r.violations.get("counts", {}).items():
            totals[key] += n
    kinds: dict[str, int] = {}
    for r in rounds:
        for t in r.trials:
            kinds[t.kind] = kinds.get(t.kind, 0) + 1
    document = {
        "seed": seed,
        "commit": tested_commit(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": len(rounds),
        "trials": kinds,
        "violations": totals,
        "errors": [f"round {r.round}: {r.error}" for r in rounds if r.error],
        **(extra or {}),
        "per_round": [asdict(r) for r in rounds],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    return document


def default_seed() -> str:
    return os.environ.get("ORC_FAULT_SEED") or str(random.SystemRandom().randrange(10**9))


__all__ = [
    "DAEMON_KILLS",
    "Round",
    "Runner",
    "Trial",
    "default_seed",
    "plan_faults",
    "run_round",
    "write_results",
]
