"""The daemon's one-pass check of an `events.emit_many` batch says what the per-event models say.

The quick check (`orchestrate.daemon.rpc_emit_batch`) must accept exactly the
batches `protocol.EventsEmitManyParams` accepts, hand the handler the same
fields, and refuse a bad batch with the very words the models give, whatever
the client sent: Hypothesis draws batches from JSON values near the shape.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from orchestrate.client import protocol
from orchestrate.daemon.rpc_emit_batch import checked_batch
from orchestrate.daemon.rpc_wire import first_problem

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1.7e9, 1e300, -1.0, 253402300800.0]),
    st.text(max_size=4),
    st.sampled_from(["", "acme.tick", "orc.resource.id", "x" * 1025]),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
_resource = st.one_of(
    st.just({"orc.resource.id": "acme.clock"}),
    st.just({"orc.resource.id": ""}),
    st.just({"orc.resource.id": "acme.clock", "acme.extra": "x"}),
    st.dictionaries(st.sampled_from(["orc.resource.id", "a"]), _scalars, max_size=2),
    _json,
)
_event = st.fixed_dictionaries(
    {"event": st.one_of(st.just("acme.tick"), _scalars)},
    optional={
        "resource": _resource,
        "payload": st.one_of(st.just({"n": 1}), _json),
        "related": st.one_of(st.just([{"orc.resource.id": "other"}]), _json),
        "id": st.one_of(st.just("own-id"), _scalars),
        "occurred": st.one_of(st.just(1.7e9), st.just(17), _scalars),
        "unknown": _json,
    },
)
_good_event = st.fixed_dictionaries(
    {"event": st.just("acme.tick"), "resource": st.just({"orc.resource.id": "acme.clock"})},
    optional={"payload": st.just({"n": 1}), "id": st.just("own-id"), "occurred": st.just(17)},
)
_batches = st.one_of(
    st.fixed_dictionaries({"events": st.lists(_good_event, min_size=1, max_size=4)}),
    st.fixed_dictionaries({"events": st.lists(_event, max_size=4)}),
    st.fixed_dictionaries({"events": st.lists(st.one_of(_good_event, _event), max_size=4)}),
    st.fixed_dictionaries({"events": _json}),
    st.just({}),
)


def _by_models(params: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """What the per-event models make of `params`: the events' fields, or the words of refusal."""
    try:
        checked = protocol.checked_params(protocol.Method.EVENTS_EMIT_MANY, params)
    except ValidationError as error:
        return None, first_problem(error)
    return [_fields(vars(event)) for event in checked["events"]], None


def _by_quick_check(params: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
    try:
        checked = checked_batch(params)
    except ValidationError as error:
        return None, first_problem(error)
    return [_fields(event) for event in checked["events"]], None


def _fields(event: dict[str, Any]) -> dict[str, Any]:
    """An event's fields as the handler reads them (absent and None alike for the optional ones)."""
    return {
        "event": event["event"],
        "resource": event["resource"],
        "payload": event.get("payload") or {},
        "related": event.get("related") or [],
        "id": event.get("id"),
        "occurred": event.get("occurred"),
    }


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_batches)
def test_the_quick_check_accepts_refuses_and_words_exactly_as_the_models(
    params: dict[str, Any],
) -> None:
    assert _by_quick_check(params) == _by_models(params)


def test_a_good_batch_keeps_its_events_in_order_with_their_own_ids_and_times() -> None:
    events = [
        {"event": "acme.tick", "resource": {"orc.resource.id": "acme.clock"}, "payload": {"n": n}}
        for n in range(3)
    ]
    events[1] |= {"id": "acme-own-id", "occurred": 1.7e9, "related": [{"orc.resource.id": "x"}]}
    checked = checked_batch({"events": events, "newer_client_field": 1})["events"]
    assert [e["payload"]["n"] for e in checked] == [0, 1, 2]
    assert checked[1]["id"] == "acme-own-id"
    assert checked[1]["occurred"] == 1.7e9
    assert checked[1]["related"] == [{"orc.resource.id": "x"}]


_GOOD = {"event": "acme.tick", "resource": {"orc.resource.id": "r"}}


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({**_GOOD, "resource": {}}, "events.1.resource: must name its resource"),
        ({"resource": _GOOD["resource"]}, "events.1.event: Field required"),
        ({**_GOOD, "occurred": math.inf}, "events.1.occurred"),
        ({**_GOOD, "payload": [1]}, "events.1.payload"),
    ],
)
def test_a_bad_event_is_named_by_its_place_in_the_batch(event: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        checked_batch({"events": [_GOOD, event]})
    assert first_problem(refused.value).startswith(words)


def test_more_events_than_a_batch_may_hold_are_refused_with_the_limit() -> None:
    with pytest.raises(ValidationError) as refused:
        checked_batch({"events": [_GOOD] * (protocol.MAX_EMIT_BATCH + 1)})
    assert f"at most {protocol.MAX_EMIT_BATCH} items" in first_problem(refused.value)
