"""Which due runs start now, which wait for a slot, which a collision strategy refuses.

A pure decision over the runs the daemon holds in memory, so every limit and
strategy is tested without processes or clocks. Slots: `max_concurrent_runs`
for the project, `concurrency_limit` per deployment (with its collision
strategy), and per-tag limits. A run that has waited past `LATE_AFTER` is
marked `Late`, as Prefect's late-runs service does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from orchestrate.core.records import FlowRunRecord
from orchestrate.core.states import StateType

#: A Scheduled run still waiting this long after its time becomes Late.
LATE_AFTER = 15.0


@dataclass(frozen=True, slots=True)
class DeploymentLimit:
    limit: int | None
    strategy: str = "enqueue"  # or "cancel-new", "skip"


@dataclass(frozen=True, slots=True)
class Limits:
    max_concurrent_runs: int | None
    deployments: Mapping[str, DeploymentLimit] = field(default_factory=dict)
    tags: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    start: list[FlowRunRecord] = field(default_factory=list)
    #: waiting for a slot: (run, "AwaitingConcurrencySlot" or "Late" or its own name)
    wait: list[tuple[FlowRunRecord, str]] = field(default_factory=list)
    #: refused by a collision strategy: (run, strategy, message)
    refuse: list[tuple[FlowRunRecord, str, str]] = field(default_factory=list)


def is_due(run: FlowRunRecord, now: float) -> bool:
    return run.state.type is StateType.SCHEDULED and (run.due_time() or 0.0) <= now


def decide(
    due: Iterable[FlowRunRecord],
    running: Iterable[FlowRunRecord],
    limits: Limits,
    now: float,
) -> Decision:
    """Start due runs oldest first while every limit has room."""
    by_deployment = Counter(r.deployment for r in running)
    by_tag = Counter(t for r in running for t in r.tags)
    total = sum(by_deployment.values())
    decision = Decision()
    for run in sorted(due, key=lambda r: (r.due_time() or 0.0, r.created)):
        limit = limits.deployments.get(run.deployment or "", DeploymentLimit(None))
        if limit.limit is not None and by_deployment[run.deployment] >= limit.limit:
            if limit.strategy != "enqueue" and run.state.name != "AwaitingRetry":
                decision.refuse.append((run, limit.strategy, _collision(run, limit)))
            else:
                decision.wait.append((run, _waiting_name(run, now)))
            continue
        full = limits.max_concurrent_runs is not None and total >= limits.max_concurrent_runs
        if full or any(by_tag[t] >= n for t in run.tags if (n := limits.tags.get(t)) is not None):
            decision.wait.append((run, _waiting_name(run, now)))
            continue
        decision.start.append(run)
        by_deployment[run.deployment] += 1
        by_tag.update(run.tags)
        total += 1
    return decision


def _waiting_name(run: FlowRunRecord, now: float) -> str:
    if run.state.name == "AwaitingRetry":
        return "AwaitingRetry"
    due = run.due_time()
    if now - (now if due is None else due) >= LATE_AFTER:
        return "Late"
    return "AwaitingConcurrencySlot"


def _collision(run: FlowRunRecord, limit: DeploymentLimit) -> str:
    verb = "Skipped" if limit.strategy == "skip" else "Cancelled"
    return (
        f"{verb}: deployment {run.deployment!r} already has {limit.limit} run(s) running "
        f"(concurrency_limit = {limit.limit}, collision_strategy = {limit.strategy!r})."
    )
