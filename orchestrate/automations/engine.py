"""The automations engine: events in, firings out, with no I/O of its own.

The daemon feeds it every event (`on_event`), sleeps until `next_deadline()`
to call `due()` for proactive triggers, and hands each `Firing` to
`actions.execute`. The clock is injected, so tests move time by hand.
`revision` counts changes to what it remembers, so the daemon knows when a
`snapshot()` is due; `restore` takes one back after a restart.

Most events concern few automations: each event name is routed once to the
automations whose trigger names could match it, and the answer is cached,
so an event that no trigger cares about costs one dict lookup.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrate.automations.matching import RESOURCE_ID, Pattern
from orchestrate.automations.models import AutomationSpec
from orchestrate.automations.snapshots import (
    FORMAT,
    dump_trigger,
    load_trigger,
    spec_fingerprint,
)
from orchestrate.automations.triggers import Evaluator, Group, Hit, build_evaluator
from orchestrate.automations.words import action_text, trigger_text
from orchestrate.client.protocol import AutomationInfo
from orchestrate.core.errors import AutomationError, AutomationNotFound
from orchestrate.core.records import EventRecord

_ROUTE_CACHE_LIMIT = 4096
_SWEEP_EVERY = 10_000


@dataclass(frozen=True, slots=True)
class Firing:
    """An automation's trigger fired: its actions should run now.

    `events` are the events that made it fire, oldest first: one for a simple
    reactive trigger, `threshold` of them for a counting one, the `after`
    event (or none) for a proactive one. `group` holds the `for_each` values.
    """

    id: str
    automation: str
    events: tuple[EventRecord, ...]
    group: Group
    fired_at: float

    @property
    def event(self) -> EventRecord | None:
        """The event that completed the trigger (the latest), if there was one."""
        return self.events[-1] if self.events else None


@dataclass(slots=True)
class _Automation:
    """One automation's spec and everything the engine remembers about it."""

    spec: AutomationSpec
    evaluator: Evaluator
    patterns: tuple[Pattern, ...]
    active: bool
    fingerprint: str
    last_fired: float | None = None
    fired_count: int = 0
    cooling: dict[Group, float] = field(default_factory=dict)  # group -> end of its cooldown


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What `reload` did, by automation name."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]

    def words(self) -> str:
        """`added a, b; changed c; 3 kept` for the daemon's log (no Python repr there)."""
        parts = [
            f"{verb} {', '.join(names)}"
            for verb, names in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            if names
        ]
        parts.append(f"{len(self.kept)} kept")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What `restore` did, by automation name: taken back, or started afresh (and why)."""

    restored: tuple[str, ...]
    changed: tuple[str, ...]
    unreadable: tuple[str, ...]


class AutomationEngine:
    """Evaluates every automation's trigger against the event stream and the clock.

    Args:
        specs: the automations, e.g. from `validate_automations`.
        clock: seconds since the epoch; `time.time` unless a test moves time itself.
    """

    def __init__(
        self, specs: Iterable[AutomationSpec] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._automations: dict[str, _Automation] = {}
        self._routes: dict[str, list[_Automation]] = {}
        self._seen = 0
        #: grows whenever what the engine remembers may have changed (never shrinks)
        self.revision = 0
        self.reload(specs)

    # -- feeding it -------------------------------------------------------------------------------

    def on_event(self, event: EventRecord) -> list[Firing]:
        """The firings this event completes (usually none)."""
        routes = self._routes.get(event.event)
        if routes is None:
            routes = self._route(event.event)
        self._seen += 1
        if self._seen % _SWEEP_EVERY == 0:
            self._sweep()
        if not routes:
            return []
        self.revision += 1
        firings: list[Firing] = []
        event = self._as_heard(event)
        mentioned = _automations_named_by(event)
        for automation in routes:
            # An automation never reacts to events about itself or from itself (its outcomes, what it emits).
            if automation.active and not (mentioned and automation.spec.resource_id in mentioned):
                hits = automation.evaluator.on_event(event)
                if hits:
                    firings += self._fire(automation, hits, self._clock())
        return firings

    def _as_heard(self, event: EventRecord) -> EventRecord:
        """`event`, timed when it arrived if its own time is far off (`SKEW`): windows and
        deadlines count from the events' times, and an `occurred` a year ahead (or an hour
        behind, from a producer's skewed clock) muted a proactive alarm (or set one off)."""
        now = self._clock()
        if now - SKEW <= event.occurred <= now + SKEW:
            return event
        return replace(event, occurred=now)

    def due(self, now: float | None = None) -> list[Firing]:
        """The proactive firings whose deadline has passed by `now` (default: the clock)."""
        now = self._clock() if now is None else now
        firings: list[Firing] = []
        for automation in self._automations.values():
            if automation.active:
                hits = automation.evaluator.due(now)
                if hits:
                    firings += self._fire(automation, hits, now)
                    self.revision += 1
        return firings

    def next_deadline(self) -> float | None:
        """When `due()` will next have something to fire; None while no proactive window is open."""
        deadlines = [a.evaluator.next_deadline() for a in self._automations.values() if a.active]
        return min((d for d in deadlines if d is not None), default=None)

    def _route(self, name: str) -> list[_Automation]:
        if len(self._routes) >= _ROUTE_CACHE_LIMIT:
            self._routes.clear()
        routes = [a for a in self._automations.values() if any(p.matches(name) for p in a.patterns)]
        self._routes[name] = routes
        return routes

    def _fire(self, automation: _Automation, hits: list[Hit], now: float) -> list[Firing]:
        cooldown = automation.spec.cooldown
        firings = []
        for hit in hits:
            if automation.cooling.get(hit.group, float("-inf")) > now:
                continue  # what would have fired during a cooldown is dropped, not postponed
            if cooldown:
                automation.cooling[hit.group] = now + cooldown.total_seconds()
            automation.last_fired = now
            automation.fired_count += 1
            firings.append(
                Firing(str(uuid.uuid4()), automation.spec.name, hit.events, hit.group, now)
            )
        return firings

    def _sweep(self) -> None:
        now = self._clock()
        for automation in self._automations.values():
            automation.evaluator.sweep(now)
            automation.cooling = {g: end for g, end in automation.cooling.items() if end > now}

    # -- changing it ------------------------------------------------------------------------------

    def reload(self, specs: Iterable[AutomationSpec]) -> ReloadResult:
        """Takes a new set of automations; unchanged ones keep their counts, windows and pause."""
        now = self._clock()
        old, new = self._automations, {}
        added: list[str] = []
        changed: list[str] = []
        kept: list[str] = []
        for spec in specs:
            if spec.name in new:
                raise AutomationError(
                    f"two automations are named {spec.name!r}; give each a unique name"
                )
            current = old.get(spec.name)
            if current is not None and _same_but_words(current.spec, spec):
                current.spec, current.fingerprint = spec, spec_fingerprint(spec)
                new[spec.name] = current  # a new description changes nothing it counts
                kept.append(spec.name)
            elif current is None:
                new[spec.name] = _start(spec, now)
                added.append(spec.name)
            else:
                new[spec.name] = _start(spec, now)
                # A pause made with `orc automations pause` is the operator's: an edit of
                # the automation starts its counting afresh, but does not undo the pause.
                new[spec.name].active = spec.enabled and (
                    current.active or not current.spec.enabled
                )
                changed.append(spec.name)
        removed = tuple(name for name in old if name not in new)
        self._automations, self._routes = new, {}
        self.revision += 1
        return ReloadResult(tuple(added), tuple(changed), removed, tuple(kept))

    def pause(self, name: str) -> AutomationInfo:
        """Stops evaluating `name` until `resume`; what it had counted is dropped."""
        automation = self._get(name)
        automation.active = False
        automation.evaluator.start(self._clock())
        self.revision += 1
        return self.describe(name)

    def resume(self, name: str) -> AutomationInfo:
        """Starts evaluating `name` again, watching afresh from now (no-op if it is running)."""
        automation = self._get(name)
        if not automation.active:
            automation.active = True
            automation.evaluator.start(self._clock())
            self.revision += 1
        return self.describe(name)

    # -- remembering it across restarts -----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the engine remembers, as JSON-ready values for `restore`."""
        return {
            "format": FORMAT,
            "automations": {name: _dump(a) for name, a in self._automations.items()},
        }

    def restore(self, snapshot: Any) -> RestoreResult:
        """Takes back a `snapshot()` for each automation whose spec is unchanged since.

        Changed automations, and any whose part cannot be read, keep the fresh
        start they had; automations the snapshot does not know are left alone.

        Raises:
            ValueError: `snapshot` is not a snapshot of this format.
        """
        if not isinstance(snapshot, Mapping) or snapshot.get("format") != FORMAT:
            raise ValueError("not an automations snapshot of this version of orc")
        saved = snapshot.get("automations")
        if not isinstance(saved, Mapping):
            raise ValueError("the snapshot has no automations table")
        now = self._clock()
        restored: list[str] = []
        changed: list[str] = []
        unreadable: list[str] = []
        for name, automation in self._automations.items():
            part = saved.get(name)
            if not isinstance(part, Mapping):
                continue
            if part.get("spec") != automation.fingerprint:
                changed.append(name)
                if part.get("paused") is True:  # paused by hand: that outlives an edit
                    automation.active = False
            elif _load(automation, part, now):
                restored.append(name)
            else:
                unreadable.append(name)
        self.revision += 1
        return RestoreResult(tuple(restored), tuple(changed), tuple(unreadable))

    # -- reading it -------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self._automations)

    def spec(self, name: str) -> AutomationSpec:
        return self._get(name).spec

    def describe(self, name: str) -> AutomationInfo:
        """What `orc automations ls/show` and the dashboard show about `name`."""
        automation = self._get(name)
        spec = automation.spec
        return AutomationInfo(
            name=spec.name,
            enabled=automation.active,
            description=spec.description,
            trigger_text=trigger_text(spec.trigger),
            actions=[action_text(a) for a in spec.actions],
            last_fired=automation.last_fired,
            fired_count=automation.fired_count,
            next_deadline=automation.evaluator.next_deadline() if automation.active else None,
        )

    def describe_all(self) -> list[AutomationInfo]:
        return [self.describe(name) for name in self._automations]

    def _get(self, name: str) -> _Automation:
        automation = self._automations.get(name)
        if automation is None:
            known = ", ".join(sorted(self._automations)) or "none"
            raise AutomationNotFound(
                f"no automation is named {name!r} (known: {known}); see `orc automations ls`"
            )
        return automation


def _same_but_words(old: AutomationSpec, new: AutomationSpec) -> bool:
    """Whether two specs differ at most in their description."""
    return old == new or old.model_copy(update={"description": new.description}) == new


def _start(spec: AutomationSpec, now: float) -> _Automation:
    evaluator = build_evaluator(spec.trigger)
    evaluator.start(now)
    patterns = tuple(evaluator.patterns())
    return _Automation(spec, evaluator, patterns, spec.enabled, spec_fingerprint(spec))


def _dump(automation: _Automation) -> dict[str, Any]:
    return {
        "spec": automation.fingerprint,
        "active": automation.active,
        # Not active though its config enables it: `orc automations pause`, not `enabled = false`.
        "paused": not automation.active and automation.spec.enabled,
        "last_fired": automation.last_fired,
        "fired_count": automation.fired_count,
        "cooling": [[list(group), end] for group, end in automation.cooling.items()],
        "trigger": dump_trigger(automation.evaluator),
    }


def _load(automation: _Automation, part: Mapping[str, Any], now: float) -> bool:
    """Puts a saved part back into `automation`; False (and a fresh start) if it is unreadable."""
    try:
        active = part["active"]
        last_fired = part["last_fired"]
        fired_count = int(part["fired_count"])
        cooling = {tuple(str(v) for v in group): float(end) for group, end in part["cooling"]}
        if not isinstance(active, bool) or not isinstance(last_fired, float | int | None):
            raise ValueError("unreadable active or last_fired")
        load_trigger(automation.evaluator, part["trigger"])
    except (KeyError, TypeError, ValueError):
        automation.evaluator.start(now)
        return False
    automation.active, automation.fired_count, automation.cooling = active, fired_count, cooling
    automation.last_fired = None if last_fired is None else float(last_fired)
    return True


def causal_chain(firing: Firing, automation_id: str) -> list[str]:
    """The automations a firing's actions come from: those named by the events that made it
    fire (their own chains), and the firing automation itself.

    Everything the actions cause (outcome events, emitted events, the runs made and their
    state events) names each of these as related, and an automation never reacts to an
    event that names it: a chain of automations, however long, cannot come back round to
    one already in it (`A` runs `d`, `d` completes, `A` again; or `A` → `B` → `C` → `A`).
    """
    named = {automation_id}
    for event in firing.events:
        named |= _automations_named_by(event)
    return sorted(named)


def _automations_named_by(event: EventRecord) -> set[str]:
    """The `orc.automation.<name>` ids among the event's resource and related resources (usually none)."""
    named = set()
    own = event.resource.get(RESOURCE_ID, "")
    if own.startswith(_AUTOMATION_PREFIX):
        named.add(own)
    for related in event.related:
        related_id = related.get(RESOURCE_ID, "")
        if related_id.startswith(_AUTOMATION_PREFIX):
            named.add(related_id)
    return named


_AUTOMATION_PREFIX = "orc.automation."
#: Seconds an event's own time may differ from when the engine hears of it before it is
#: timed on arrival instead (a held `Failed` of a run whose hooks took long is within it).
SKEW = 300.0
