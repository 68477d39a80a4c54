"""Validation: every problem comes with the path to the value at fault and what to do."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from orchestrate.automations import (
    AutomationSpec,
    automations_from_deployment_triggers,
    validate_automations,
    validate_deployment_triggers,
)
from orchestrate.automations.action_models import RunDeployment
from tests.automations.helpers import DEPLOYMENTS

DESIGN_EXAMPLE = """
[[automations]]
name = "cleanup-after-failure"
trigger = { event = "orc.flow-run.Failed", match = { deployment = "nightly-etl" }, threshold = 1, within = "10m" }
actions = [
  { type = "run-deployment", deployment = "cleanup", parameters = { run = "{{ event.resource.id }}" } },
  { type = "call-webhook", url = "http://127.0.0.1:9000/hook" },
]
"""


def problems(text: str) -> list[tuple[tuple[str | int, ...], str]]:
    specs, found = validate_automations(tomllib.loads(text)["automations"], DEPLOYMENTS)
    assert len(specs) + len({p[0][0] for p in found}) == len(tomllib.loads(text)["automations"])
    return found


def test_the_documented_example_validates() -> None:
    specs, found = validate_automations(
        tomllib.loads(DESIGN_EXAMPLE)["automations"], {"nightly-etl", "cleanup"}
    )
    assert found == []
    [spec] = specs
    assert isinstance(spec.actions[0], RunDeployment) and spec.actions[0].deployment == "cleanup"


def test_an_unknown_deployment_is_named_with_the_known_ones_and_a_guess() -> None:
    [(path, message)] = problems(
        DESIGN_EXAMPLE.replace('deployment = "cleanup"', 'deployment = "cleanpu"')
    )
    assert path == (0, "actions", 0, "deployment")
    assert "unknown deployment 'cleanpu'" in message and "did you mean 'cleanup'?" in message
    assert "nightly-etl" in message and "[[deployments]]" in message


def test_an_unknown_deployment_in_a_match_is_a_problem_but_globs_are_not() -> None:
    [(path, message)] = problems(
        DESIGN_EXAMPLE.replace(
            'match = { deployment = "nightly-etl" }', 'match = { deployment = "nigthly-etl" }'
        )
    )
    assert path == (0, "trigger", "match", "deployment")
    assert "did you mean 'nightly-etl'?" in message
    assert (
        problems(DESIGN_EXAMPLE.replace('deployment = "nightly-etl"', 'deployment = "nightly-*"'))
        == []
    )


def test_a_bad_template_is_refused_with_the_path_inside_the_parameters() -> None:
    [(path, message)] = problems(
        DESIGN_EXAMPLE.replace("{{ event.resource.id }}", "{{ event.resource.id")
    )
    assert path == (0, "actions", 0, "parameters", "run")
    assert "never closes" in message


def test_a_shell_string_instead_of_an_argv_list_is_refused() -> None:
    [(path, message)] = problems(
        """
        [[automations]]
        name = "notify"
        trigger = { event = "orc.flow-run.Failed" }
        actions = [{ type = "run-command", command = "notify.sh {{ event.id }}" }]
        """
    )
    assert path == (0, "actions", 0, "command")
    assert "list of arguments" in message and "never runs a shell" in message


@pytest.mark.parametrize(
    ("change", "where", "complaint"),
    [
        (
            ("threshold = 1", "thresold = 1"),
            (0, "trigger", "thresold"),
            "did you mean 'threshold'?",
        ),
        (
            ('within = "10m"', 'within = "ten minutes"'),
            (0, "trigger", "within"),
            "is not a duration",
        ),
        (
            ('type = "call-webhook"', 'type = "webhook"'),
            (0, "actions", 1),
            "unknown action type 'webhook'",
        ),
        (
            ('url = "http://127.0.0.1:9000/hook"', 'url = "127.0.0.1:9000"'),
            (0, "actions", 1, "url"),
            "http:// or https://",
        ),
        (
            ('name = "cleanup-after-failure"', 'name = "clean up"'),
            (0, "name"),
            "not a usable automation name",
        ),
        (
            ("match = { deployment", "match = { deploymnet"),
            (0, "trigger", "match"),
            "unknown match key 'deploymnet'",
        ),
        (
            ('{ event = "orc', '{ posture = "proactive", after = 3, event = "orc'),
            (0, "trigger", "after"),
            "valid tuple",
        ),
    ],
)
def test_shape_problems_name_the_field(
    change: tuple[str, str], where: tuple[str | int, ...], complaint: str
) -> None:
    found = problems(DESIGN_EXAMPLE.replace(*change))
    assert any(path == where and complaint in message for path, message in found), found


def test_problems_inside_nested_triggers_have_the_nested_path() -> None:
    found = problems(
        """
        [[automations]]
        name = "nested"
        trigger = { all = [{ event = "a" }, { sequence = [{ event = "b", threshold = 0 }] }] }
        actions = [{ type = "emit-event", event = "c" }]

        [[automations]]
        name = "proactive-without-window"
        trigger = { posture = "proactive", event = "a" }
        actions = [{ type = "emit-event", event = "c" }]
        """
    )
    assert [p for p, _ in found] == [
        (0, "trigger", "all", 1, "sequence", 0, "threshold"),
        (1, "trigger"),
    ]
    assert "needs `within`" in found[1][1]


def test_references_duplicates_and_impossible_inference_are_problems() -> None:
    found = problems(
        """
        [[automations]]
        name = "a"
        trigger = { posture = "proactive", event = "orc.flow-run.Completed", within = "1h" }
        actions = [{ type = "run-deployment" }, { type = "pause-automation", automation = "zz" }]

        [[automations]]
        name = "a"
        trigger = { event = "x" }
        actions = [{ type = "change-flow-run-state", state = "Done" }]

        [[automations]]
        name = "a"
        trigger = { event = "x" }
        actions = [{ type = "resume-automation", automation = "a" }]
        """
    )
    paths = dict(found)
    assert "fires with no event" in paths[(0, "actions", 0, "deployment")]
    assert "unknown automation 'zz'" in paths[(0, "actions", 1, "automation")]
    assert "unknown state 'Done'" in paths[(1, "actions", 0, "state")]
    assert "already named 'a'" in paths[(2, "name")]


def test_deployment_triggers_become_automations_that_run_the_deployment() -> None:
    [spec] = automations_from_deployment_triggers(
        "report",
        [
            {
                "event": "orc.flow-run.Completed",
                "match": {"deployment": "nightly-etl"},
                "parameters": {"upstream": "{{ flow_run.id }}"},
            }
        ],
    )
    assert isinstance(spec, AutomationSpec) and spec.name == "report-trigger-1"
    action = spec.actions[0]
    assert isinstance(action, RunDeployment)
    assert (action.deployment, action.parameters) == ("report", {"upstream": "{{ flow_run.id }}"})


def test_deployment_trigger_problems_lead_into_the_triggers_list() -> None:
    triggers = [
        {"name": "after-etl", "event": "orc.flow-run.Completed", "match": {"deployment": "nope"}},
        {"event": "x", "parameters": {"run": "{{ event.nope }}"}, "thershold": 2},
        "orc.flow-run.Completed",
    ]
    specs, found = validate_deployment_triggers("report", triggers, DEPLOYMENTS)
    assert specs == []
    assert [p for p, _ in found] == [
        (1, "thershold"),
        (1, "parameters", "run"),
        (2,),
        (0, "match", "deployment"),
    ]
    with pytest.raises(ValidationError, match=r"1\.thershold"):
        automations_from_deployment_triggers("report", triggers)


def test_a_header_name_with_a_blank_is_refused_where_it_is_written() -> None:
    text = DESIGN_EXAMPLE.replace(
        'url = "http://127.0.0.1:9000/hook"',
        'url = "http://127.0.0.1:9000/hook", headers = { "X Note" = "a", X-Ok = "b" }',
    )
    [(path, message)] = problems(text)
    assert path[-1] == "headers"
    assert "'X Note' is not a valid header name" in message
