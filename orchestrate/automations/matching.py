"""Which events a trigger looks at: compiled name globs, label filters and `for_each` group keys.

Everything here is compiled once per trigger, so that matching an event is a
handful of dict lookups and string compares. Patterns are globs (`*`, `?`,
`[...]`, case-sensitive); a leading `!` negates one (Prefect's negative
match); a list of patterns matches when any of them does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import translate

from orchestrate.core.records import EventRecord

RESOURCE_ID = "orc.resource.id"
RESOURCE_NAME = "orc.resource.name"
RESOURCE_ROLE = "orc.resource.role"

#: `match` keys that look at related resources by name rather than at a resource label.
RELATED_SHORTHANDS = {"deployment": "deployment", "flow": "flow", "tag": "tag", "tags": "tag"}


@dataclass(frozen=True, slots=True)
class _Globs:
    """Some globs compiled for speed: exact names in a set, `prefix*` globs as one
    `startswith` (the common shape, and one C call), other globs as regexes."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    regexes: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, globs: Iterable[str]) -> _Globs:
        globs = list(globs)
        exact = frozenset(g for g in globs if not _is_glob(g))
        starred = [g for g in globs if g.endswith("*") and not _is_glob(g[:-1])]
        rest = (g for g in globs if g not in exact and g not in starred)
        return cls(
            exact, tuple(g[:-1] for g in starred), tuple(re.compile(translate(g)) for g in rest)
        )

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes or self.regexes)

    def hit(self, value: str) -> bool:
        if value in self.exact or value.startswith(self.prefixes):
            return True
        return any(r.match(value) is not None for r in self.regexes)


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One or more globs, some negated: matches a value any positive glob matches and no negative does."""

    positive: _Globs
    negative: _Globs

    @classmethod
    def of(cls, globs: Iterable[str]) -> Pattern:
        globs = list(globs)
        positive = _Globs.of(g for g in globs if not g.startswith("!"))
        return cls(positive, _Globs.of(g[1:] for g in globs if g.startswith("!")))

    def matches(self, value: str | None) -> bool:
        if value is None:
            return not self.positive
        if self.positive and not self.positive.hit(value):
            return False
        return not (self.negative and self.negative.hit(value))

    def matches_any(self, values: Sequence[str]) -> bool:
        """For labels that can hold several values (tags): any value may satisfy a positive glob."""
        if self.positive and not any(self.positive.hit(v) for v in values):
            return False
        return not (self.negative and any(self.negative.hit(v) for v in values))


def related_names(event: EventRecord, role: str) -> list[str]:
    """Names of the related resources with `role`, and of the resource itself if it is one.

    A deployment's own events (`orc.deployment.paused`) have the deployment as
    their resource, a flow run's events name it among the related resources;
    `deployment = "etl"` should match both.
    """
    prefix = f"orc.{role}."
    names = [_name(r, prefix) for r in event.related if r.get(RESOURCE_ROLE) == role]
    own_id = event.resource.get(RESOURCE_ID, "")
    if own_id.startswith(prefix):
        names.append(_name(event.resource, prefix))
    return names


def _name(resource: Mapping[str, str], prefix: str) -> str:
    name = resource.get(RESOURCE_NAME)
    if name:
        return name
    resource_id = resource.get(RESOURCE_ID, "")
    return resource_id[len(prefix) :] if resource_id.startswith(prefix) else resource_id


def id_suffix(event: EventRecord, kind: str) -> str | None:
    """The `<id>` of `orc.<kind>.<id>`: the event's resource if it is one, else a related one."""
    prefix = f"orc.{kind}."
    own_id = event.resource.get(RESOURCE_ID, "")
    if own_id.startswith(prefix):
        return own_id[len(prefix) :]
    for related in event.related:
        related_id = related.get(RESOURCE_ID, "")
        if related_id.startswith(prefix):
            return related_id[len(prefix) :]
    return None


@dataclass(frozen=True, slots=True)
class LabelFilter:
    """A trigger's `match` and `match_related`, compiled."""

    resource: tuple[tuple[str, Pattern], ...]
    by_role: tuple[tuple[str, Pattern], ...]
    related: tuple[tuple[tuple[str, Pattern], ...], ...]

    @classmethod
    def of(
        cls,
        match: Mapping[str, Sequence[str]],
        match_related: Sequence[Mapping[str, Sequence[str]]],
    ) -> LabelFilter:
        resource, by_role = [], []
        for key, globs in match.items():
            if key in RELATED_SHORTHANDS:
                by_role.append((RELATED_SHORTHANDS[key], Pattern.of(globs)))
            else:
                resource.append((key, Pattern.of(globs)))
        related = tuple(
            tuple((label, Pattern.of(globs)) for label, globs in spec.items())
            for spec in match_related
        )
        return cls(tuple(resource), tuple(by_role), related)

    def __bool__(self) -> bool:
        """Whether there is anything to check (most triggers filter on nothing but the name)."""
        return bool(self.resource or self.by_role or self.related)

    def accepts(self, event: EventRecord) -> bool:
        for label, pattern in self.resource:
            if not pattern.matches(event.resource.get(label)):
                return False
        for role, pattern in self.by_role:
            if not pattern.matches_any(related_names(event, role)):
                return False
        return all(_some_related_matches(event.related, spec) for spec in self.related)


def _some_related_matches(
    related: Sequence[Mapping[str, str]], spec: tuple[tuple[str, Pattern], ...]
) -> bool:
    return any(all(p.matches(r.get(label)) for label, p in spec) for r in related)


@dataclass(frozen=True, slots=True)
class Grouping:
    """A trigger's `for_each`: the key that gives each group its own count and window."""

    keys: tuple[str, ...]

    def key(self, event: EventRecord) -> tuple[str, ...]:
        if not self.keys:
            return ()
        return tuple(_group_value(event, key) for key in self.keys)


def _group_value(event: EventRecord, key: str) -> str:
    if key in ("deployment", "flow"):
        names = related_names(event, key)
        return names[0] if names else ""
    if key.startswith("related:"):
        _, role, label = key.split(":", 2)
        for related in event.related:
            if related.get(RESOURCE_ROLE) == role:
                return related.get(label, "")
        return ""
    return event.resource.get(key, "")
