"""Templates in action settings: `{{ event.resource.id }}` looks a value up, nothing more.

There is no expression language on purpose: a placeholder is a path into the
triggering event (or a shortcut such as `flow_run.id`), so event text can only
ever become a value, never code. A string that is exactly one placeholder
keeps the value's type (`"{{ event.payload.rows }}"` stays a number); a
string mixing text and placeholders renders as text. Templates are parsed
once, when the automation is loaded; a path that finds nothing at run time
renders as `None` (empty in text) and logs a warning.

    {{ event.id }}  {{ event.occurred }}  {{ event.event }}
    {{ event.resource.id }}               the "orc.resource.id" label
    {{ event.resource["orc.state-name"] }}
    {{ event.payload.rows }}  {{ event.payload.items[0].name }}
    {{ event.related[0].role }}
    {{ flow_run.id }} {{ flow_run.name }} {{ deployment.name }} {{ flow.name }} {{ automation.name }}
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrate.automations.matching import RESOURCE_NAME, id_suffix, related_names
from orchestrate.core.records import EventRecord

log = logging.getLogger("orc.automations")

#: The names a placeholder can start with, and the keys each one has.
ROOTS: Mapping[str, frozenset[str]] = {
    "event": frozenset({"id", "occurred", "event", "name", "resource", "payload", "related"}),
    "flow_run": frozenset({"id", "name"}),
    "deployment": frozenset({"name"}),
    "flow": frozenset({"name"}),
    "automation": frozenset({"name"}),
}

_PLACEHOLDER = re.compile(r"\{\{((?:(?!\{\{|\}\}).)*)\}\}", re.DOTALL)
_STEP = re.compile(
    r"""\s*(?:
        \.(?P<attr>[A-Za-z_][A-Za-z0-9_]*)
      | \[\s*(?:(?P<index>-?\d+)|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*\]
    )""",
    re.VERBOSE,
)
_ROOT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")

Step = str | int


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says what is wrong and how to write it."""


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One `{{ path }}`: a root name and the keys or indexes to follow from it."""

    source: str
    root: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed string: literal text and placeholders, in order."""

    source: str
    parts: tuple[str | Placeholder, ...]

    def render(self, scope: Mapping[str, Any]) -> Any:
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            return _resolve(self.parts[0], scope)
        return "".join(p if isinstance(p, str) else as_text(_resolve(p, scope)) for p in self.parts)


def compile_template(text: str) -> Template:
    """Parses `text`; raises TemplateError for a placeholder that is not a known path."""
    stripped = text.strip()
    whole = _PLACEHOLDER.fullmatch(stripped)
    if whole:
        return Template(text, (_parse_placeholder(whole.group(1)),))
    parts: list[str | Placeholder] = []
    position = 0
    for found in _PLACEHOLDER.finditer(text):
        if found.start() > position:
            parts.append(_literal(text[position : found.start()]))
        parts.append(_parse_placeholder(found.group(1)))
        position = found.end()
    if position < len(text):
        parts.append(_literal(text[position:]))
    return Template(text, tuple(parts))


def _literal(text: str) -> str:
    if "{{" in text:
        raise TemplateError(
            f"{text!r} opens a placeholder with '{{{{' but never closes it with '}}}}'"
        )
    return text


def _parse_placeholder(inner: str) -> Placeholder:
    source = "{{" + inner + "}}"
    root = _ROOT.match(inner)
    if not root or not inner.strip():
        raise TemplateError(
            f"{source} is empty or does not start with a name; write e.g. {{{{ event.resource.id }}}}"
        )
    steps: list[Step] = []
    position = root.end()
    while position < len(inner.rstrip()):
        step = _STEP.match(inner, position)
        if not step:
            raise TemplateError(
                f'{source} is not a path: only names, .keys and ["keys"] or [0] indexes are allowed '
                f"(no expressions, filters or calls)"
            )
        steps.append(_step_value(step))
        position = step.end()
    _check_known(source, root.group(1), steps)
    return Placeholder(source, root.group(1), tuple(steps))


def _step_value(step: re.Match[str]) -> Step:
    if step.group("attr") is not None:
        return step.group("attr")
    if step.group("index") is not None:
        return int(step.group("index"))
    return step.group("dq") if step.group("dq") is not None else step.group("sq")


def _check_known(source: str, root: str, steps: Sequence[Step]) -> None:
    if root not in ROOTS:
        names = ", ".join(sorted(ROOTS))
        raise TemplateError(
            f"{source} starts with unknown name {root!r}; a template can use {names}"
        )
    if steps and steps[0] not in ROOTS[root]:
        keys = ", ".join(f"{root}.{k}" for k in sorted(ROOTS[root]))
        raise TemplateError(f"{source}: {root} has no {steps[0]!r}; use one of {keys}")


def _resolve(placeholder: Placeholder, scope: Mapping[str, Any]) -> Any:
    value: Any = scope.get(placeholder.root)
    for step in placeholder.steps:
        value = _follow(value, step)
        if value is None:
            break
    if value is None:
        automation = scope.get("automation", {}).get("name", "?")
        log.warning(
            "automation %r: %s found no value in the event; it renders as empty",
            automation,
            placeholder.source,
        )
    return value


def _follow(value: Any, step: Step) -> Any:
    if isinstance(value, Mapping):
        if step in value:
            return value[step]
        # `resource.id` reads the "orc.resource.id" label, `related[0].role` the "orc.resource.role" one
        return value.get(f"orc.resource.{step}") if isinstance(step, str) else None
    if (
        isinstance(value, list | tuple)
        and isinstance(step, int)
        and -len(value) <= step < len(value)
    ):
        return value[step]
    return None


def as_text(value: Any) -> str:
    """A rendered value as text: None is empty, strings stay, anything else is JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def compile_value(value: Any) -> Any:
    """The same structure with every string that holds a placeholder parsed into a Template."""
    if isinstance(value, str):
        return compile_template(value) if "{{" in value else value
    if isinstance(value, Mapping):
        return {key: compile_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [compile_value(item) for item in value]
    return value


def render_value(compiled: Any, scope: Mapping[str, Any]) -> Any:
    """Fills in a structure built by `compile_value`."""
    if isinstance(compiled, Template):
        return compiled.render(scope)
    if isinstance(compiled, dict):
        return {key: render_value(item, scope) for key, item in compiled.items()}
    if isinstance(compiled, list):
        return [render_value(item, scope) for item in compiled]
    return compiled


def template_problems(
    value: Any, path: tuple[Step, ...] = ()
) -> list[tuple[tuple[Step, ...], str]]:
    """Every string in `value` that does not parse, with its path inside `value`."""
    if isinstance(value, str):
        try:
            compile_value(value)
        except TemplateError as e:
            return [(path, str(e))]
        return []
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in template_problems(item, (*path, key))]
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in template_problems(item, (*path, i))]
    return []


def scope_of(
    event: EventRecord | None, automation: str, deployment: str | None = None
) -> dict[str, Any]:
    """What placeholders can read for one firing: the event as plain data plus the shortcuts.

    `deployment` is the one the firing is about when the event does not name
    one (a proactive trigger grouped `for_each = ["deployment"]`).
    """
    base = {"automation": {"name": automation}, "deployment": {"name": deployment}}
    if event is None:
        return {**base, "event": None, "flow_run": {}, "flow": {}}
    flows, deployments = related_names(event, "flow"), related_names(event, "deployment")
    return {
        **base,
        "deployment": {"name": deployments[0] if deployments else deployment},
        "event": {
            "id": event.id,
            "occurred": event.occurred,
            "event": event.event,
            "name": event.event,
            "resource": event.resource,
            "payload": event.payload,
            "related": event.related,
        },
        "flow_run": {"id": id_suffix(event, "flow-run"), "name": _flow_run_name(event)},
        "flow": {"name": flows[0] if flows else None},
    }


def _flow_run_name(event: EventRecord) -> str | None:
    if event.resource.get("orc.resource.id", "").startswith("orc.flow-run."):
        return event.resource.get(RESOURCE_NAME)
    for related in event.related:
        if related.get("orc.resource.role") == "flow-run":
            return related.get(RESOURCE_NAME)
    return None
