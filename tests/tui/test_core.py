"""The pure parts: formats, the run filter, the log buffer and the parameter form's checks."""

from __future__ import annotations

from orchestrate.client.protocol import FlowRunInfo, LogInfo, StateInfo
from tui.format import counts_text, duration, relative
from tui.schema import check_form, form_fields
from tui.state import LogBuffer, LogFilter, RunFilter, RunIndex

SCHEMA = {
    "type": "object",
    "properties": {
        "days": {"type": "integer", "minimum": 1},
        "mode": {"type": "string", "enum": ["full", "delta"]},
        "tables": {"type": "array"},
        "dry": {"type": "boolean"},
    },
    "required": ["days"],
}


def run(
    id: str,
    created: float,
    state: str = "Completed",
    type_: str = "COMPLETED",
    deployment: str = "etl",
) -> FlowRunInfo:
    return FlowRunInfo(id=id, name=f"name-{id}", flow_name="flow", deployment=deployment,
                       state=StateInfo(type=type_, name=state, timestamp=created), created=created)  # fmt: skip


def test_counts_read_as_glyphs_in_a_fixed_order() -> None:
    assert counts_text({"Pending": 8, "Completed": 180, "Running": 12}).plain == "180✔ 12⟳ 8◌"
    assert duration(0.42) == "0.42s" and duration(245) == "4m05s" and duration(7380) == "2h03m"
    assert relative(100.0, 40.0) == "in 1m" and relative(40.0, 100.0) == "1m ago"


def test_runs_stay_newest_first_and_filter_by_field_or_words() -> None:
    runs = RunIndex()
    runs.replace_all([run("a", 1), run("c", 3)])
    runs.upsert(run("b", 2, "Failed", "FAILED", deployment="cleanup"))
    assert runs.view() == ["c", "b", "a"]
    runs.filter = RunFilter("state:failed")
    assert runs.view() == ["b"]
    runs.filter = RunFilter("deployment:etl name-c")
    assert runs.view() == ["c"]
    runs.upsert(run("c", 3, "Failed", "FAILED"))
    runs.filter = RunFilter("failed")
    assert runs.view() == ["c", "b"]


def test_the_log_buffer_keeps_what_the_filter_shows_as_lines_arrive() -> None:
    logs = LogBuffer("r")
    logs.filter = LogFilter(level=30)
    line = LogInfo(flow_run_id="r", ts=1, level=20, logger="x", message="hello")
    assert (
        logs.extend([line, line.model_copy(update={"ts": 2, "level": 40, "message": "boom"})]) == 1
    )
    assert logs.extend([line]) == 0  # a reload does not repeat lines
    assert [logs.lines[i].message for i in logs.shown] == ["boom"]
    logs.filter = LogFilter(search="HEL")
    assert [logs.lines[i].message for i in logs.shown] == ["hello"]


def test_the_form_checks_types_bounds_and_required_fields_before_sending() -> None:
    fields = form_fields(SCHEMA, {"mode": "full"})
    assert [(f.name, f.kind, f.required, f.default_text) for f in fields] == [
        ("days", "integer", True, ""), ("mode", "string", False, "full"),
        ("tables", "array", False, ""), ("dry", "boolean", False, ""),
    ]  # fmt: skip
    bad = check_form(
        fields, {"days": "0", "mode": "weekly", "tables": "orders", "dry": "maybe"}, SCHEMA
    )
    assert bad.errors == {
        "days": "must be at least 1",
        "mode": "must be one of full, delta",
        "tables": "'orders' is not a JSON array: e.g. [1, 2]",
        "dry": "'maybe' is not true or false",
    }
    assert check_form(fields, {"mode": "full"}, SCHEMA).errors == {"days": "required: type a value"}
    good = check_form(
        fields, {"days": "3", "mode": "delta", "tables": '["a"]', "dry": "yes"}, SCHEMA
    )
    assert good.ok and good.values == {"days": 3, "mode": "delta", "tables": ["a"], "dry": True}


def test_a_blocked_deployment_is_marked_in_its_row_and_named_in_its_detail() -> None:
    from orchestrate.client.protocol import DeploymentInfo
    from tui.widgets.lists import deployment_row

    class Frozen:
        def now(self) -> float:
            return 0.0

    reason = "Deployment 'etl' needs API_TOKEN from the environment, which is not set."
    blocked = DeploymentInfo(name="etl", entrypoint="etl.py:etl", blocked=reason)
    fine = DeploymentInfo(name="etl", entrypoint="etl.py:etl")
    assert deployment_row(blocked, Frozen(), 60, 3).plain.startswith("✖ etl")  # type: ignore[arg-type]
    assert not deployment_row(fine, Frozen(), 60, 3).plain.startswith("✖")  # type: ignore[arg-type]


def test_a_failed_run_shows_its_whole_traceback_in_the_run_detail() -> None:
    from rich.console import Console

    from orchestrate.client.protocol import RunDetail
    from tui.format import Clock
    from tui.widgets.panels import run_details

    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/etl/flows.py", line 12, in load\n'
        "    rows = parse(raw)\n"
        '  File "/srv/etl/flows.py", line 30, in parse\n'
        "    return int(row)\n"
        "ValueError: invalid literal for int() with base 10: 'x'\n"
    )
    state = StateInfo(type="FAILED", name="Failed", timestamp=0.0, traceback=trace,
                      error="ValueError: invalid literal for int() with base 10: 'x'")  # fmt: skip
    run = FlowRunInfo(
        id="r1", name="brave-otter", flow_name="etl", state=state, parameters={}, created=0.0
    )
    console = Console(width=120, record=True)
    console.print(run_details(RunDetail(run=run), Clock()))
    shown = console.export_text()
    assert 'File "/srv/etl/flows.py", line 30, in parse' in shown and "return int(row)" in shown


def test_a_number_field_refuses_what_json_cannot_carry() -> None:
    """`nan` was sent, and the run failed at its start twice, spending its retry."""
    schema = {"type": "object", "properties": {"seconds": {"type": "number"}}}
    fields = form_fields(schema, {})
    for raw in ("nan", "inf", "-inf", "1e999"):
        assert check_form(fields, {"seconds": raw}, schema).errors == {
            "seconds": f"{raw!r} is not a finite number"
        }
    assert check_form(fields, {"seconds": "2.5"}, schema).values == {"seconds": 2.5}
