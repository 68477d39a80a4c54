"""`orc deployments ls` and `orc sql` tables, drawn without Rich, against what Rich drew.

The drawing functions are given what a daemon answers (any width, wide and
combining characters, NULLs, long text, no rows) and must print the bytes the
Rich code printed (`rich_reference`). Colours are off here (not a terminal),
as in a pipe or under NO_COLOR.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrate.cli import sql_output
from orchestrate.cli.deployments_view import deployments_table
from orchestrate.cli.table import Terminal
from tests.cli import rich_reference

NOW = 1_800_000_000.0
WORDS = st.sampled_from(
    ["a", "nightly-etl", "every day at 02:00 (Europe/Berlin)", "x" * 40, "日本語", "🚀", "e\u0301"]
)
TEXT = st.lists(WORDS, min_size=1, max_size=5).map(" ".join)
STATES = st.sampled_from(["COMPLETED", "FAILED", "RUNNING", "SCHEDULED", "CRASHED", "OTHER"])

deployment = st.builds(
    SimpleNamespace,
    name=TEXT,
    paused=st.booleans(),
    blocked=st.none() | TEXT,
    schedules=st.lists(st.builds(SimpleNamespace, text=TEXT, active=st.booleans()), max_size=3),
    next_run_time=st.none() | st.floats(NOW - 90_000, NOW + 900_000),
    recent=st.lists(st.builds(SimpleNamespace, state_type=STATES), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(found=st.lists(deployment, max_size=5), width=st.integers(10, 200))
def test_deployments_are_drawn_as_rich_drew_them(found: list[SimpleNamespace], width: int) -> None:
    drawn = deployments_table(found, NOW, Terminal(width, colour=False))
    assert drawn == rich_reference.deployments(found, NOW, width)


VALUES = (
    st.none()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | TEXT
    | st.lists(st.integers(0, 9), max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 9), max_size=2)
)


@settings(max_examples=300, deadline=None)
@given(
    columns=st.lists(
        st.sampled_from(["id", "name", "count_star()", "日本", "message"]), max_size=5
    ),
    rows=st.lists(st.lists(VALUES, min_size=5, max_size=5), max_size=4),
    truncated=st.booleans(),
    width=st.integers(10, 200),
)
def test_sql_answers_are_drawn_as_rich_drew_them(
    columns: list[str], rows: list[list[object]], truncated: bool, width: int
) -> None:
    columns = columns or ["n"]
    rows = [row[: len(columns)] for row in rows]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(width))
        printed = _printed(
            lambda: sql_output.as_table(
                SimpleNamespace(columns=columns, rows=rows, truncated=truncated)
            )
        )  # type: ignore[arg-type]
    assert printed == rich_reference.sql(columns, rows, truncated, width)


def _printed(action: Callable[[], None]) -> str:
    """What `action` wrote to stdout (capsys does not reset between Hypothesis examples)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        action()
    return out.getvalue()


def test_markup_and_emoji_codes_in_values_print_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rich read `[red]` as a style and `:rocket:` as an emoji, and stopped at `[/x]`."""
    answer = SimpleNamespace(columns=["message"], rows=[["[red]x[/x] :rocket:"]], truncated=False)
    sql_output.as_table(answer)  # type: ignore[arg-type]
    assert "[red]x[/x] :rocket:" in capsys.readouterr().out


SCHEMA = [
    ("flow_runs", "id", "VARCHAR"),
    ("flow_runs", "expected_start_time", "TIMESTAMP WITH TIME ZONE"),
    ("flow_runs", "a_column_name_longer_than_its_twenty_eight_cells", "MAP(VARCHAR, VARCHAR)"),
    ("logs", "tags", "VARCHAR[]"),
]


@pytest.mark.parametrize("width", [12, 40, 80, 200])
def test_the_schema_is_printed_as_rich_printed_it(width: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(width))
        printed = _printed(lambda: sql_output.schema(SCHEMA, json_output=False))
    assert printed == rich_reference.schema(SCHEMA, width)
