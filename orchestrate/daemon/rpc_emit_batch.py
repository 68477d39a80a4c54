"""The params of `events.emit_many` checked in one pass of pydantic-core over the whole batch.

Checked as `protocol.EventsEmitManyParams`, a batch builds one model per
event and calls a Python validator for each event's resource; the quick check
below validates the same fields as plain dicts inside pydantic-core and looks
for the resource id in one loop (~1.2 µs an event down to ~0.5). A batch it
refuses is checked again by the models, so a bad event is refused with the
very words it always was (tests/daemon/test_emit_batch_check.py holds the two
to the same answers).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

from orchestrate.client import protocol
from orchestrate.client.protocol import MAX_EMIT_BATCH, Epoch, Name

#: The strictness and tolerance of `protocol.Params`: JSON types as they are, unknown names ignored.
_CONFIG = ConfigDict(strict=True, extra="ignore")


@with_config(_CONFIG)
class _Event(TypedDict):
    """`protocol.EventsEmitParams` as a dict; its resource's id is looked for after."""

    event: Name
    resource: dict[str, str]
    payload: NotRequired[dict[str, Any]]
    related: NotRequired[list[dict[str, str]]]
    id: NotRequired[Name | None]
    occurred: NotRequired[Epoch | None]


@with_config(_CONFIG)
class _Batch(TypedDict):
    events: Annotated[list[_Event], Field(min_length=1, max_length=MAX_EMIT_BATCH)]


@cache
def _batch() -> TypeAdapter[_Batch]:
    """Built on first use, as the protocol's models are (`defer_build`): `orc up` starts sooner."""
    return TypeAdapter(_Batch)


def checked_batch(params: dict[str, Any]) -> dict[str, Any]:
    """`params` with `events` as a list of checked dicts (an absent optional field stays absent).

    Raises:
        pydantic.ValidationError: the one `protocol.EventsEmitManyParams` raises for `params`.
    """
    try:
        checked = _batch().validate_python(params)
    except ValueError:  # pydantic's ValidationError: let the models word it
        return _by_models(params)
    events = checked["events"]
    for event in events:
        if not event["resource"].get("orc.resource.id"):
            return _by_models(params)
    return {**params, "events": events}


def _by_models(params: dict[str, Any]) -> dict[str, Any]:
    """What the per-event models make of `params`: their refusal, or (never seen) their events."""
    checked = protocol.checked_params(protocol.Method.EVENTS_EMIT_MANY, params)
    return {**checked, "events": [vars(event) for event in checked["events"]]}
