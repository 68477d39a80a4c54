"""Trigger evaluation: the state each trigger keeps, and when it fires.

Each trigger spec becomes an evaluator. Event triggers count matching events
per `for_each` group in a sliding window (reactive) or keep a deadline per
group that matching events push back (proactive); compound and sequence
triggers collect what their inner triggers report. Windows are measured in
event time (`occurred`); proactive deadlines are compared with the time the
caller gives, so tests and the daemon share one clock.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

from orchestrate.automations.matching import Grouping, LabelFilter, Pattern
from orchestrate.automations.models import CompoundTrigger, EventTrigger, SequenceTrigger, Trigger
from orchestrate.core.records import EventRecord

Group = tuple[str, ...]
_V = TypeVar("_V")

_NAME_CACHE_LIMIT = 4096
#: The most `for_each` groups one trigger follows at once. A trigger grouped by run, with no
#: `within` to let groups go, would otherwise keep one for every run the daemon ever saw (and
#: save them all in the state file); past this, the group heard from longest ago goes.
MAX_GROUPS = 10_000


@dataclass(frozen=True, slots=True)
class Hit:
    """A trigger fired: for which group, on which events (oldest first), at what time."""

    group: Group
    events: tuple[EventRecord, ...]
    at: float


class Evaluator:
    """What every trigger's evaluator answers; the defaults suit triggers without deadlines."""

    def on_event(self, event: EventRecord) -> list[Hit]:
        raise NotImplementedError

    def due(self, now: float) -> list[Hit]:
        """Fires the deadlines that have passed at `now`."""
        return []

    def next_deadline(self) -> float | None:
        return None

    def start(self, now: float) -> None:
        """Forget everything and start watching at `now` (on load, change, or resume)."""

    def sweep(self, now: float) -> None:
        """Drops counts whose window has passed, so that idle groups do not pile up."""

    def patterns(self) -> Iterator[Pattern]:
        """The event-name patterns this trigger (and any inside it) looks at, for routing."""
        raise NotImplementedError


class _EventEvaluator(Evaluator):
    """What reactive and proactive triggers share: which events count, and for which group."""

    def __init__(self, spec: EventTrigger) -> None:
        self.expect = Pattern.of(spec.event)
        self.after = Pattern.of(spec.after) if spec.after else None
        self.labels = LabelFilter.of(spec.match, spec.match_related)
        self.grouping = Grouping(spec.for_each)
        self.threshold = spec.threshold
        self.within = spec.within.total_seconds() if spec.within is not None else None
        # event name -> (opens a window, is expected): few names, seen over and over
        self._kinds: dict[str, tuple[bool, bool]] = {}

    def patterns(self) -> Iterator[Pattern]:
        yield self.expect
        if self.after is not None:
            yield self.after

    def _classify(self, event: EventRecord) -> tuple[bool, bool]:
        """(opens a window, is expected) for an event that passes the label filter."""
        kind = self._kinds.get(event.event)
        if kind is None:
            kind = self._kind_of(event.event)
        opens, expected = kind
        if (opens or expected) and self.labels and not self.labels.accepts(event):
            return False, False
        return kind

    def _kind_of(self, name: str) -> tuple[bool, bool]:
        if len(self._kinds) >= _NAME_CACHE_LIMIT:
            self._kinds.clear()
        opens = self.after is not None and self.after.matches(name)
        kind = self._kinds[name] = (opens, not opens and self.expect.matches(name))
        return kind


class ReactiveEvaluator(_EventEvaluator):
    """Fires when `threshold` matching events arrive within `within`, per group, then counts afresh."""

    def __init__(self, spec: EventTrigger) -> None:
        super().__init__(spec)
        self.windows: dict[Group, deque[EventRecord]] = {}
        self.opened: dict[Group, float] = {}

    def start(self, now: float) -> None:
        self.windows.clear()
        self.opened.clear()

    def on_event(self, event: EventRecord) -> list[Hit]:
        opens, expected = self._classify(event)
        if not (opens or expected):
            return []
        group = self.grouping.key(event)
        if opens:
            self.opened.pop(group, None)  # re-inserted last: the oldest go first when too many
            self.opened[group] = event.occurred
            _bound(self.opened)
            return []
        if self.after is not None and not self._is_open(group, event.occurred):
            return []
        if self.threshold == 1:
            self.opened.pop(group, None)
            return [Hit(group, (event,), event.occurred)]
        return self._count(group, event)

    def _is_open(self, group: Group, at: float) -> bool:
        opened = self.opened.get(group)
        return opened is not None and (self.within is None or at - opened <= self.within)

    def _count(self, group: Group, event: EventRecord) -> list[Hit]:
        window = self.windows.get(group)
        if window is None:
            window = self.windows[group] = deque()
            _bound(self.windows)
        window.append(event)
        if self.within is not None:
            horizon = event.occurred - self.within
            while window[0].occurred < horizon:
                window.popleft()
        if len(window) < self.threshold:
            return []
        del self.windows[group]
        self.opened.pop(group, None)
        return [Hit(group, tuple(window), event.occurred)]

    def sweep(self, now: float) -> None:
        if self.within is None:
            return
        horizon = now - self.within
        stale = [g for g, w in self.windows.items() if w[-1].occurred < horizon]
        for group in stale:
            del self.windows[group]
        for group in [g for g, at in self.opened.items() if at < horizon]:
            del self.opened[group]


def _bound(groups: dict[Group, _V]) -> None:
    """Drop the groups first put in `groups` beyond `MAX_GROUPS` (dicts keep insertion order)."""
    while len(groups) > MAX_GROUPS:
        del groups[next(iter(groups))]


@dataclass(slots=True)
class Watch:
    """One open proactive window: fires at `deadline` unless `threshold` events come first."""

    deadline: float
    count: int
    opener: EventRecord | None


class ProactiveEvaluator(_EventEvaluator):
    """Fires when fewer than `threshold` matching events arrive within `within`.

    Deadlines sit in a heap so that `next_deadline` is cheap; a deadline that
    was pushed back leaves a stale entry behind, skipped when it surfaces.
    """

    def __init__(self, spec: EventTrigger) -> None:
        super().__init__(spec)
        assert self.within is not None  # the model requires it for proactive triggers
        self.window: float = self.within
        self.watches: dict[Group, Watch] = {}
        self.heap: list[tuple[float, Group]] = []

    def start(self, now: float) -> None:
        self.watches.clear()
        self.heap.clear()
        if self.after is None and not self.grouping.keys:
            self._watch((), now, None)

    def _watch(self, group: Group, start: float, opener: EventRecord | None) -> Watch:
        self.watches.pop(group, None)  # re-inserted last: the oldest go first when too many
        watch = self.watches[group] = Watch(start + self.window, 0, opener)
        _bound(self.watches)
        heapq.heappush(self.heap, (watch.deadline, group))
        if len(self.heap) > 2 * len(self.watches) + 64:
            self.heap = [(w.deadline, g) for g, w in self.watches.items()]
            heapq.heapify(self.heap)
        return watch

    def on_event(self, event: EventRecord) -> list[Hit]:
        opens, expected = self._classify(event)
        if not (opens or expected):
            return []
        group = self.grouping.key(event)
        watch = self.watches.get(group)
        if opens:
            if watch is None:
                self._watch(group, event.occurred, event)
            return []
        if watch is None:
            if self.after is not None:
                return []
            watch = self._watch(group, event.occurred, None)
        watch.count += 1
        if watch.count >= self.threshold:
            self._satisfied(group, event.occurred)
        return []

    def _satisfied(self, group: Group, at: float) -> None:
        if self.after is None:
            self._watch(group, at, None)
        else:
            del self.watches[group]

    def due(self, now: float) -> list[Hit]:
        hits = []
        while self.heap and self.heap[0][0] <= now:
            deadline, group = heapq.heappop(self.heap)
            watch = self.watches.get(group)
            if watch is None or watch.deadline != deadline:
                continue
            hits.append(Hit(group, (watch.opener,) if watch.opener else (), deadline))
            # Without `after`, keep reminding one window after the other while the silence lasts.
            self._satisfied(group, max(now, deadline))
        return hits

    def next_deadline(self) -> float | None:
        while self.heap:
            deadline, group = self.heap[0]
            watch = self.watches.get(group)
            if watch is not None and watch.deadline == deadline:
                return deadline
            heapq.heappop(self.heap)
        return None


class CompoundEvaluator(Evaluator):
    """Fires when `required` of its inner triggers have fired within `within` of each other."""

    def __init__(self, children: list[Evaluator], required: int, within: float | None) -> None:
        self.children = children
        self.required = required
        self.within = within
        self.latest: dict[int, Hit] = {}

    def on_event(self, event: EventRecord) -> list[Hit]:
        return self._collect(
            [(i, hit) for i, child in enumerate(self.children) for hit in child.on_event(event)]
        )

    def due(self, now: float) -> list[Hit]:
        return self._collect(
            [(i, hit) for i, child in enumerate(self.children) for hit in child.due(now)]
        )

    def _collect(self, child_hits: list[tuple[int, Hit]]) -> list[Hit]:
        fired = []
        for index, hit in child_hits:
            self.latest[index] = hit
            if self.within is not None:
                self.latest = {i: h for i, h in self.latest.items() if hit.at - h.at <= self.within}
            if self._satisfied():
                ordered = sorted(self.latest.values(), key=lambda h: h.at)
                fired.append(Hit((), tuple(e for h in ordered for e in h.events), hit.at))
                self.latest.clear()
        return fired

    def _satisfied(self) -> bool:
        return len(self.latest) >= self.required

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (c.next_deadline() for c in self.children) if d is not None]
        return min(deadlines, default=None)

    def start(self, now: float) -> None:
        self.latest.clear()
        for child in self.children:
            child.start(now)

    def sweep(self, now: float) -> None:
        for child in self.children:
            child.sweep(now)

    def patterns(self) -> Iterator[Pattern]:
        for child in self.children:
            yield from child.patterns()


class SequenceEvaluator(CompoundEvaluator):
    """Fires when every inner trigger has fired, in the order given, within `within`."""

    def __init__(self, children: list[Evaluator], within: float | None) -> None:
        super().__init__(children, len(children), within)

    def _satisfied(self) -> bool:
        if len(self.latest) < self.required:
            return False
        times = [self.latest[i].at for i in range(self.required)]
        return all(a <= b for a, b in pairwise(times))


def build_evaluator(spec: Trigger) -> Evaluator:
    """The evaluator for a trigger spec of any shape."""
    if isinstance(spec, EventTrigger):
        return ProactiveEvaluator(spec) if spec.posture == "proactive" else ReactiveEvaluator(spec)
    within = spec.within.total_seconds() if spec.within is not None else None
    if isinstance(spec, SequenceTrigger):
        return SequenceEvaluator([build_evaluator(s) for s in spec.sequence], within)
    assert isinstance(spec, CompoundTrigger)
    return CompoundEvaluator([build_evaluator(s) for s in spec.children], spec.required, within)
