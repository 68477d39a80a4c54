"""Templates only ever look values up: types kept, text rendered, bad syntax refused at load."""

from __future__ import annotations

import logging

import pytest

from orchestrate.automations.templating import (
    TemplateError,
    compile_template,
    compile_value,
    render_value,
    scope_of,
)
from tests.automations.helpers import Clock, run_event


def test_a_lone_placeholder_keeps_the_values_type(clock: Clock) -> None:
    event = run_event(
        clock, payload={"rows": 42, "ratio": 0.5, "ok": False, "items": [{"name": "a"}]}
    )
    scope = scope_of(event, "auto")
    compiled = compile_value(
        {
            "rows": "{{ event.payload.rows }}",
            "ratio": " {{event.payload.ratio}} ",
            "ok": "{{ event.payload.ok }}",
            "first": "{{ event.payload.items[0].name }}",
            "all": ["{{ event.payload.items }}"],
            "when": "{{ event.occurred }}",
            "fixed": 7,
        }
    )
    assert render_value(compiled, scope) == {
        "rows": 42, "ratio": 0.5, "ok": False, "first": "a", "all": [[{"name": "a"}]], "when": event.occurred, "fixed": 7,
    }  # fmt: skip


def test_mixed_text_renders_as_a_string(clock: Clock) -> None:
    event = run_event(clock, run_id="r1", payload={"rows": 42, "ok": True, "tags": ["a", "b"]})
    template = compile_template(
        "run {{ flow_run.id }} of {{ deployment.name }} ({{ event.resource['orc.state-name'] }}): "
        '{{ event.payload.rows }} rows, ok={{ event.payload.ok }}, tags={{ event.payload.tags }}, {{ event.resource["orc.resource.name"] }}'
    )
    assert template.render(scope_of(event, "auto")) == (
        'run r1 of nightly-etl (Failed): 42 rows, ok=true, tags=["a", "b"], brave-r1'
    )


def test_resource_shortcuts_and_named_shortcuts(clock: Clock) -> None:
    event = run_event(clock, run_id="r9", flow="etl")
    scope = scope_of(event, "my-auto")
    assert render_value(
        compile_value(["{{ event.resource.id }}", "{{ event.resource.name }}", "{{ event.id }}", "{{ event.event }}",
                       "{{ flow.name }}", "{{ flow_run.name }}", "{{ automation.name }}", "{{ event.related[0].role }}"]),
        scope,
    ) == ["orc.flow-run.r9", "brave-r9", event.id, "orc.flow-run.Failed", "etl", "brave-r9", "my-auto", "deployment"]  # fmt: skip


def test_a_missing_value_renders_empty_and_warns(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    scope = scope_of(run_event(clock), "auto")
    with caplog.at_level(logging.WARNING, "orc.automations"):
        assert compile_template("{{ event.payload.nope }}").render(scope) is None
        assert compile_template("x={{ event.payload.nope.deeper }}!").render(scope) == "x=!"
        assert compile_template("{{ event.related[7].name }}").render(scope) is None
    assert "automation 'auto': {{ event.payload.nope }} found no value" in caplog.text


def test_without_an_event_placeholders_render_empty(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "orc.automations"):
        assert (
            compile_template("late: {{ event.id }} for {{ deployment.name }}").render(
                scope_of(None, "a", "etl")
            )
            == "late:  for etl"
        )


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{{ event.payload.x", "never closes"),
        ("{{ }}", "is empty"),
        ("{{ event.payload.x | upper }}", "not a path"),
        ("{{ event.payload.__class__() }}", "not a path"),
        ("{{ event.payload[x] }}", "not a path"),
        ("{{ __import__('os').system('id') }}", "not a path"),
        ("{{ os.environ }}", "unknown name 'os'"),
        ("{{ event.secret }}", "event has no 'secret'"),
        ("{{ flow_run.parameters }}", "flow_run has no 'parameters'"),
    ],
)
def test_anything_but_a_known_path_is_refused_when_loading(text: str, complaint: str) -> None:
    with pytest.raises(TemplateError, match=complaint):
        compile_template(text)


def test_event_text_is_never_evaluated(clock: Clock) -> None:
    hostile = "{{ automation.name }} ; $(rm -rf /) `id` {% for x in y %}"
    event = run_event(clock, payload={"note": hostile})
    rendered = compile_template("got: {{ event.payload.note }}").render(scope_of(event, "auto"))
    assert rendered == f"got: {hostile}"  # placeholders inside values stay text
