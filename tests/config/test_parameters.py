"""Parameters in flows.toml are checked against the flow's signature when the file loads.

`orc validate`, `orc up` and every reload load the file the same way, so a
deployment whose runs could never validate is refused in the file, with the
line and the flow's own annotation, instead of failing (and retrying) at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.config import load_config
from tests.config.conftest import Project

FLOWS = """
from orchestrate import flow

@flow
def report(day: str, days: int = 1, ratio: float = 0.5, tags: list[str] | None = None) -> None: ...

@flow
def anything(name, **options) -> None: ...
"""


@pytest.fixture
def report(project: Project) -> Project:
    (project.root / "examples" / "report.py").write_text(FLOWS)
    return project


DEPLOYMENT = """
[[deployments]]
name = "r"
entrypoint = "examples/report.py:report"
"""


def test_a_value_of_the_wrong_type_names_the_flow_annotation(report: Project) -> None:
    errors = report.errors(DEPLOYMENT + 'parameters = { day = "mon", days = "abc" }\n')
    assert errors == [
        'flows.toml:4:36 deployments[0].parameters.days: expected integer, got "abc" '
        "(flow examples/report.py:report takes days: int = 1)"
    ]


def test_an_unknown_name_is_refused_at_its_key_with_a_suggestion(report: Project) -> None:
    errors = report.errors(DEPLOYMENT + 'parameters = { day = "mon", dayz = 2 }\n')
    assert errors == [
        'flows.toml:4:29 deployments[0].parameters.dayz: there is no parameter "dayz" '
        '(did you mean "day"?); flow examples/report.py:report takes day: str, days: int = 1, '
        "ratio: float = 0.5, tags: list[str] | None = None. Fix the name or remove it"
    ]


def test_a_schedule_whose_runs_would_lack_a_required_parameter_is_refused(report: Project) -> None:
    errors = report.errors(
        DEPLOYMENT
        + 'schedules = [{ cron = "0 2 * * *" }, { interval = "1h", parameters = { day = "x" } }]\n'
    )
    assert errors == [
        'flows.toml:4:14 deployments[0].schedules[0]: runs from this schedule would have no value for "day" '
        "(flow examples/report.py:report takes day: str, with no default); add day to the schedule's "
        "parameters or the deployment's"
    ]


def test_schedule_values_are_checked_too(report: Project) -> None:
    errors = report.errors(
        DEPLOYMENT
        + 'schedules = [{ interval = "1h", parameters = { day = "x", ratio = "half" } }]\n'
    )
    assert errors == [
        'flows.toml:4:67 deployments[0].schedules[0].parameters.ratio: expected number, got "half" '
        "(flow examples/report.py:report takes ratio: float = 0.5)"
    ]


def test_values_pydantic_would_coerce_are_accepted(report: Project) -> None:
    config = report.load(
        DEPLOYMENT + 'parameters = { day = "mon", days = "7", ratio = 1, tags = ["a"] }\n'
    )
    assert config.deployments[0].parameters["days"] == "7"


def test_defaults_parameters_are_checked_for_each_deployment_that_takes_them(
    report: Project,
) -> None:
    errors = report.errors(
        '[defaults]\nparameters = { days = "many" }\n' + DEPLOYMENT + 'parameters = { day = "x" }\n'
    )
    assert errors == [
        'flows.toml:2:23 defaults.parameters.days: expected integer, got "many" (deployment "r" '
        "runs flow examples/report.py:report, which takes days: int = 1)"
    ]


def test_a_flow_with_kwargs_takes_any_name_and_unannotated_parameters_any_value(
    report: Project,
) -> None:
    text = DEPLOYMENT.replace("report.py:report", "report.py:anything")
    config = report.load(
        text + 'parameters = { name = [1, 2], colour = "red" }\nschedules = [{ interval = "1h" }]\n'
    )
    assert dict(config.deployments[0].parameters) == {"name": [1, 2], "colour": "red"}


def test_run_deployment_actions_are_checked_but_templated_values_wait_for_the_event(
    report: Project,
) -> None:
    errors = report.errors(
        DEPLOYMENT
        + """
[[automations]]
name = "again"
trigger = { event = "orc.flow-run.Failed" }
actions = [
  { type = "run-deployment", deployment = "r", parameters = { day = "{{ event.id }}", days = "{{ event.id }}" } },
  { type = "run-deployment", deployment = "r", parameters = { day = "x", days = 1.5, nope = "{{ event.id }}" } },
  { type = "run-deployment", deployment = "r" },
]
"""
    )
    assert errors == [
        "flows.toml:10:81 automations[0].actions[1].parameters.days: expected integer, got 1.5 "
        "(flow examples/report.py:report takes days: int = 1)",
        'flows.toml:10:86 automations[0].actions[1].parameters.nope: there is no parameter "nope"; '
        "flow examples/report.py:report takes day: str, days: int = 1, ratio: float = 0.5, "
        "tags: list[str] | None = None. Fix the name or remove it",
        'flows.toml:11:3 automations[0].actions[2]: the run this action starts would have no value for "day" '
        "(flow examples/report.py:report takes day: str, with no default); add day to the action's "
        "parameters or the deployment's",
    ]


def test_deployment_triggers_are_checked_like_actions(report: Project) -> None:
    errors = report.errors(
        DEPLOYMENT + 'triggers = [{ event = "x.y", parameters = { day = 3 } }]\n'
    )
    assert errors == [
        "flows.toml:4:51 deployments[0].triggers[0].parameters.day: expected string, got 3 "
        "(flow examples/report.py:report takes day: str)"
    ]


def test_nan_is_refused_because_parameters_travel_as_json(report: Project) -> None:
    errors = report.errors(DEPLOYMENT + 'parameters = { day = "x", ratio = nan }\n')
    assert errors == [
        "flows.toml:4:14 deployments[0].parameters: ratio is nan, which JSON cannot carry; "
        "parameters reach the flow as JSON, so give a finite number (or text, and convert it in the flow)"
    ]


def test_a_flow_that_cannot_be_read_is_not_checked(report: Project) -> None:
    """Defined by assignment, not `def`: the worker still validates it at run time."""
    (report.root / "examples" / "made.py").write_text(
        "from orchestrate import flow\nmade = flow(lambda x: x)\n"
    )
    config = report.load(
        DEPLOYMENT.replace("report.py:report", "made.py:made") + "parameters = { y = 1 }\n"
    )
    assert config.deployments[0].parameters == {"y": 1}


def test_the_daemon_signature_module_is_the_config_one(tmp_path: Path) -> None:
    from orchestrate.config import signature
    from orchestrate.daemon import signature as daemon_signature

    assert daemon_signature.parameter_schema is signature.parameter_schema
    assert daemon_signature.validate_parameters is signature.validate_parameters


def test_checks_follow_an_edit_of_the_flow_file(report: Project) -> None:
    report.write(DEPLOYMENT + 'parameters = { day = "x", days = "abc" }\n')
    with pytest.raises(Exception, match="expected integer"):
        load_config(report.file, environ={})
    flow_file = report.root / "examples" / "report.py"
    flow_file.write_text(FLOWS.replace("days: int = 1", "days: str = '1'"))
    assert load_config(report.file, environ={}).deployments[0].parameters["days"] == "abc"


def test_run_parameters_given_later_are_checked_in_the_same_words(report: Project) -> None:
    """For rendered automation templates and `orc run -p`: values known only when a run is asked for."""
    from orchestrate.config import run_parameter_problems

    config = report.load(DEPLOYMENT + "parameters = { days = 2 }\n")
    [deployment] = config.deployments
    assert run_parameter_problems(deployment, config.root, {"day": "mon"}) == []
    assert run_parameter_problems(deployment, config.root, {"days": "x", "extra": 1}) == [
        'parameter "days": expected integer, got "x" (flow examples/report.py:report takes days: int = 1)',
        'there is no parameter "extra"; flow examples/report.py:report takes day: str, days: int = 1, '
        "ratio: float = 0.5, tags: list[str] | None = None. Fix the name or remove it",
        'parameter "day" has no value (flow examples/report.py:report takes day: str, with no '
        "default); give it for this run or in the deployment's parameters in flows.toml",
    ]


@pytest.mark.parametrize("value", ["nan", "inf", float("nan"), float("-inf"), "1e999"])
def test_a_number_parameter_refuses_what_json_cannot_carry(value: object) -> None:
    """`orc run slow -p seconds=nan` was taken, and each attempt failed at its start."""
    from orchestrate.config.signature import validate_parameters

    schema = {"type": "object", "properties": {"seconds": {"type": "number"}}}
    assert validate_parameters(schema, {"seconds": value}) == [
        f"parameter 'seconds' must be a number, got {value!r}"
    ]
    assert validate_parameters(schema, {"seconds": "2.5"}) == []
