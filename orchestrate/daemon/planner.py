"""Which schedule slots should exist as flow runs: a pure function of the time it is given.

The daemon keeps a horizon of upcoming runs materialised as `Scheduled` (like
Prefect's scheduler: at least `MIN_RUNS` runs and `MIN_SPAN` ahead, at most
`MAX_RUNS` runs and `MAX_SPAN`), so `orc deployments ls` and the dashboard can
show them and the dispatcher only ever sleeps until the next one. A slot is
identified by (deployment, schedule, time): the daemon stores each key once,
so planning twice, or again after a restart, never makes a second run. A
schedule is identified by when it fires (`schedule_id`), not by its place in
the list, so removing or reordering schedules leaves the others' slots as
they are.

Catch-up decides what happens to slots that fell due while the daemon was down
(or the deployment paused): `none` drops them, `latest` runs only the last one
due per schedule, `all` runs every one of them that was planned, and of those
never planned the latest `MAX_RUNS` per schedule; what is dropped is counted.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from orchestrate.schedules import AnySchedule, next_times, schedule_timezone

MIN_RUNS = 3
MIN_SPAN = timedelta(hours=1)
MAX_RUNS = 100
MAX_SPAN = timedelta(days=100)
#: The most missed slots counted one by one (`Missed.more` says when there were more): the
#: count runs on the daemon's loop, for a log line, so it stops early (~0.2 s of croniter).
COUNT_LIMIT = 10_000
#: The most slots one look-back window of `_latest` walks through.
WINDOW_LIMIT = 100_000


class DeploymentLike(Protocol):
    name: str
    catchup: str
    timezone: str | None

    @property
    def schedules(self) -> Sequence[AnySchedule]: ...


@dataclass(frozen=True, slots=True)
class Slot:
    """One due time of one schedule of one deployment."""

    deployment: str
    schedule_id: str
    time: datetime
    parameters: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return slot_key(self.deployment, self.schedule_id, self.time.timestamp())


def slot_key(deployment: str, schedule_id: str, epoch: float) -> str:
    """The idempotency key of a slot: the same slot always gets the same key."""
    return f"{deployment}/{schedule_id}/{epoch:.3f}"


def schedule_id(schedule: AnySchedule, default_tz: str | None) -> str:
    """What names a schedule in its slots' keys: when it fires, in which timezone.

    Not its place in the list (a schedule that moved keeps its slots), nor
    `active` (turned off and on again, it finds the slots it ran taken), nor
    `parameters` (planned runs are checked for those one by one, `slots.reconcile`).
    Settings left at their default are left out, so one added to orc later
    names no schedule anew. Ids of stores from before are a list index
    (`legacy_ids`).
    """
    fields = schedule.model_dump(
        mode="json", exclude={"active", "parameters"}, exclude_defaults=True
    )
    tz = schedule_timezone(schedule, default_tz or "UTC")
    text = json.dumps([schedule.kind, fields, tz], sort_keys=True, separators=(",", ":"))
    return "s" + hashlib.sha256(text.encode()).hexdigest()[:12]


def schedule_ids(deployment: DeploymentLike) -> list[str]:
    """Each schedule's id, in list order. A timing listed again (with other parameters, say)
    is a schedule of its own, `id.2`, `id.3`, … by its place among its twins: one id for
    both made one of them plan nothing, and two schedules on one instant make a run each."""
    seen: dict[str, int] = {}
    ids = []
    for schedule in deployment.schedules:
        base = schedule_id(schedule, deployment.timezone)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}.{seen[base]}")
    return ids


def legacy_ids(deployment: DeploymentLike) -> dict[str, str]:
    """Schedule ids a store written before `schedule_id` holds (the index in the list) ->
    the id of the schedule at that place now: the best reading of those rows there is."""
    return {str(index): sid for index, sid in enumerate(schedule_ids(deployment))}


def active_schedules(deployment: DeploymentLike) -> dict[str, AnySchedule]:
    """The deployment's active schedules by id."""
    return {
        sid: schedule
        for sid, schedule in zip(schedule_ids(deployment), deployment.schedules, strict=True)
        if schedule.active
    }


def _active(deployment: DeploymentLike) -> Iterable[tuple[str, AnySchedule]]:
    return active_schedules(deployment).items()


def upcoming(deployment: DeploymentLike, now: datetime) -> list[Slot]:
    """The slots after `now` that should exist as Scheduled runs."""
    tz = deployment.timezone or "UTC"
    slots: list[Slot] = []
    for schedule_id, schedule in _active(deployment):
        times = next_times(schedule, now, MAX_RUNS, until=now + MAX_SPAN, default_tz=tz)
        horizon = now + MIN_SPAN
        slots += [
            Slot(deployment.name, schedule_id, t, dict(schedule.parameters))
            for i, t in enumerate(times)
            if i < MIN_RUNS or t <= horizon
        ]
    return slots


@dataclass(frozen=True, slots=True)
class Missed:
    """The latest missed slots of a deployment, and how many earlier ones they leave out."""

    slots: list[Slot]
    left_out: int = 0
    #: more were left out than `COUNT_LIMIT`, the most counted one by one
    more: bool = False


def missed(
    deployment: DeploymentLike, last: Mapping[str, datetime], now: datetime, keep: int = MAX_RUNS
) -> Missed:
    """The latest `keep` slots of each schedule after its last materialised one, up to `now`,
    that were never made; the earlier ones are only counted (a 1-second schedule down for a
    month has 2.6 million)."""
    tz = deployment.timezone or "UTC"
    slots: list[Slot] = []
    left_out, more = 0, False
    for schedule_id, schedule in _active(deployment):
        since = last.get(schedule_id)
        if since is None or since >= now:
            continue
        times = _latest(schedule, since, now, keep, tz)
        slots += [Slot(deployment.name, schedule_id, t, dict(schedule.parameters)) for t in times]
        before = times[0] - timedelta(microseconds=1) if times else now
        count = sum(1 for _ in _times(schedule, since, before, tz, COUNT_LIMIT + 1))
        left_out, more = left_out + min(count, COUNT_LIMIT), more or count > COUNT_LIMIT
    return Missed(sorted(slots, key=lambda s: s.time), left_out, more)


def _latest(
    schedule: AnySchedule, since: datetime, now: datetime, keep: int, tz: str
) -> list[datetime]:
    """The last `keep` times in (since, now]: found in a window back from `now` that doubles
    until it holds them, so a long outage costs about as much as a short one."""
    window = timedelta(minutes=1)
    while True:
        start = max(since, now - window)
        found = deque(_times(schedule, start, now, tz, WINDOW_LIMIT), maxlen=keep)
        if len(found) >= keep or start == since:
            return list(found)
        window *= 2


def _times(
    schedule: AnySchedule, after: datetime, until: datetime, tz: str, limit: int
) -> Iterator[datetime]:
    """The times in (after, until], in order, at most `limit`, a chunk at a time."""
    while limit > 0:
        chunk = next_times(schedule, after, min(limit, 1000), until=until, default_tz=tz)
        yield from chunk
        if len(chunk) < min(limit, 1000):
            return
        limit -= len(chunk)
        after = chunk[-1]


@dataclass(frozen=True, slots=True)
class Overdue:
    """A slot that fell due while nobody could run it: stored already (`run_id`) or not yet."""

    schedule_id: str
    time: datetime
    run_id: str | None = None
    slot: Slot | None = None


def catch_up(policy: str, overdue: Sequence[Overdue]) -> tuple[list[Overdue], list[Overdue]]:
    """Split overdue slots into (run, drop) by the deployment's catch-up policy."""
    if policy == "all":
        return list(overdue), []
    if policy == "none":
        return [], list(overdue)
    latest: dict[str, Overdue] = {}
    for item in overdue:
        kept = latest.get(item.schedule_id)
        if kept is None or item.time > kept.time:
            latest[item.schedule_id] = item
    keep = set(map(id, latest.values()))
    return list(latest.values()), [o for o in overdue if id(o) not in keep]


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
