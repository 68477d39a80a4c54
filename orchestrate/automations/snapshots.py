"""What the engine remembers, as JSON and back, so that a restart of `orc up` forgets nothing.

A snapshot holds, per automation, a fingerprint of its spec, whether it is
paused, its counts and cooldowns, and its trigger's state: reactive windows,
proactive deadlines, what a compound or sequence has collected. Restoring
takes an automation's part only if its spec is unchanged, the rule a hot
reload follows; anything unreadable raises `ValueError`, and the caller
starts that automation afresh.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections import deque
from typing import Any

from orchestrate.automations.models import AutomationSpec
from orchestrate.automations.triggers import (
    CompoundEvaluator,
    Evaluator,
    Group,
    Hit,
    ProactiveEvaluator,
    ReactiveEvaluator,
    Watch,
)
from orchestrate.core.records import EventRecord

#: Bumped when the layout changes; a snapshot of another format is not restored.
FORMAT = 1


def spec_fingerprint(spec: AutomationSpec) -> str:
    """Equal across processes exactly when the specs are equal (key order in tables aside)."""
    text = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dump_trigger(evaluator: Evaluator) -> dict[str, Any]:
    """A trigger's state as JSON-ready values."""
    if isinstance(evaluator, ReactiveEvaluator):
        return {
            "windows": [[list(g), [_event(e) for e in w]] for g, w in evaluator.windows.items()],
            "opened": [[list(g), at] for g, at in evaluator.opened.items()],
        }
    if isinstance(evaluator, ProactiveEvaluator):
        return {
            "watches": [
                [list(g), w.deadline, w.count, _event(w.opener) if w.opener else None]
                for g, w in evaluator.watches.items()
            ]
        }
    if isinstance(evaluator, CompoundEvaluator):
        return {
            "latest": [[i, _hit(h)] for i, h in evaluator.latest.items()],
            "children": [dump_trigger(child) for child in evaluator.children],
        }
    return {}


def load_trigger(evaluator: Evaluator, data: Any) -> None:
    """Puts `data` (from `dump_trigger` of the same spec) back into `evaluator`.

    Raises:
        ValueError: `data` does not have the shape this evaluator dumps.
    """
    try:
        _load(evaluator, data)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"unreadable trigger state: {exc!r}") from exc


def _load(evaluator: Evaluator, data: dict[str, Any]) -> None:
    if isinstance(evaluator, ReactiveEvaluator):
        evaluator.windows = {
            _group(g): deque(_event_from(e) for e in events) for g, events in data["windows"]
        }
        evaluator.opened = {_group(g): float(at) for g, at in data["opened"]}
    elif isinstance(evaluator, ProactiveEvaluator):
        evaluator.watches = {
            _group(g): Watch(float(deadline), int(count), _event_from(opener) if opener else None)
            for g, deadline, count, opener in data["watches"]
        }
        evaluator.heap = [(w.deadline, g) for g, w in evaluator.watches.items()]
        heapq.heapify(evaluator.heap)
    elif isinstance(evaluator, CompoundEvaluator):
        children = data["children"]
        if len(children) != len(evaluator.children):
            raise ValueError("a compound trigger's state names another number of triggers")
        evaluator.latest = {int(i): _hit_from(h) for i, h in data["latest"]}
        for child, state in zip(evaluator.children, children, strict=True):
            _load(child, state)


def _group(value: list[Any]) -> Group:
    return tuple(str(v) for v in value)


def _event(event: EventRecord) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred": event.occurred,
        "event": event.event,
        "resource": event.resource,
        "payload": event.payload,
        "related": event.related,
    }


def _event_from(data: dict[str, Any]) -> EventRecord:
    return EventRecord(
        str(data["id"]),
        float(data["occurred"]),
        str(data["event"]),
        dict(data["resource"]),
        dict(data.get("payload") or {}),
        list(data.get("related") or []),
    )


def _hit(hit: Hit) -> dict[str, Any]:
    return {"group": list(hit.group), "events": [_event(e) for e in hit.events], "at": hit.at}


def _hit_from(data: dict[str, Any]) -> Hit:
    return Hit(
        _group(data["group"]), tuple(_event_from(e) for e in data["events"]), float(data["at"])
    )
