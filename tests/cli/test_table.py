"""The stdlib tables and wrapped text of `orchestrate.cli.table`, against Rich as the reference.

`orc runs ls` and `orc runs show` drew with Rich (`Table(box=None)`,
`Console.print`); they now draw without it, and must lay text out the same:
the same column widths at every terminal width, the same `…`, the same word
wrap. Rich is imported here only, to draw the reference.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrate.cli import render, table
from orchestrate.cli.table import Column, Terminal
from orchestrate.store.views import FlowRunView, RunState, StateEntry

WORDS = st.sampled_from(
    ["a", "bb", "Completed", "x" * 30, "hello-world", "日本", "✔", "12:00:01", " ", "\t", "\n"]
)
#: Words of `orc sql` answers too: NULL (empty), JSON text, wide and combining characters.
SQL_WORDS = WORDS | st.sampled_from(
    ["", '{"a": [1, 2]}', "🚀", "e\u0301", "\uff57\uff49\uff44\uff45", "0.25"]
)
CELL = st.lists(WORDS, max_size=8).map(" ".join)


def rich_table(columns: list[Column], rows: list[list[str]], width: int, title: str) -> str:
    out = io.StringIO()
    draw = Table(box=None, header_style="bold", title=title or None, title_justify="left")
    for column in columns:
        if column.no_wrap:
            draw.add_column(column.header, no_wrap=True, overflow="ellipsis")
        else:
            draw.add_column(column.header)
    for row in rows:
        draw.add_row(*(Text(cell) for cell in row))
    Console(file=out, width=width, highlight=False).print(draw)
    return out.getvalue()


@settings(max_examples=400, deadline=None)
@given(
    columns=st.lists(
        st.builds(Column, st.sampled_from(["ID", "RUN", "MESSAGE", "TASKS"]), st.booleans()),
        min_size=1,
        max_size=7,
    ),
    cells=st.lists(st.lists(CELL, min_size=7, max_size=7), max_size=4),
    width=st.integers(10, 160),
    title=st.sampled_from(["", "State history", "Task runs"]),
)
def test_a_table_is_laid_out_as_rich_lays_it_out(
    columns: list[Column], cells: list[list[str]], width: int, title: str
) -> None:
    rows = [row[: len(columns)] for row in cells]
    drawn = table.table(columns, rows, Terminal(width, colour=False), title)
    assert drawn == rich_table(columns, rows, width, title)


def rich_boxed(headers: list[str], rows: list[list[str]], width: int) -> str:
    """`Table(*headers)` as `orc sql` drew it: Rich's default heavy-headed box."""
    out = io.StringIO()
    draw = Table()
    for header in headers:
        draw.add_column(Text(header))
    for row in rows:
        draw.add_row(*(Text(cell) for cell in row))
    Console(file=out, width=width, highlight=False).print(draw)
    return out.getvalue()


@settings(max_examples=400, deadline=None)
@given(
    headers=st.lists(st.lists(SQL_WORDS, min_size=1, max_size=3).map(" ".join), max_size=6),
    cells=st.lists(st.lists(st.lists(SQL_WORDS, max_size=6).map(" ".join), min_size=6), max_size=4),
    width=st.integers(10, 160),
)
def test_a_boxed_table_is_drawn_as_rich_draws_it(
    headers: list[str], cells: list[list[str]], width: int
) -> None:
    if not headers:
        headers = ["n"]
    rows = [row[: len(headers)] for row in cells]
    columns = [Column(header) for header in headers]
    drawn = table.table(columns, rows, Terminal(width, colour=False), box=True)
    assert drawn == rich_boxed(headers, rows, width)


@settings(max_examples=300, deadline=None)
@given(
    wraps=st.lists(st.booleans(), min_size=1, max_size=5),
    cells=st.lists(st.lists(CELL, min_size=5, max_size=5), max_size=4),
    width=st.integers(10, 160),
)
def test_a_table_without_edge_padding_is_laid_out_as_rich_lays_it_out(
    wraps: list[bool], cells: list[list[str]], width: int
) -> None:
    """`orc deployments ls`: `Table(box=None, pad_edge=False)`, one wrapping column."""
    columns = [Column(f"C{i}", no_wrap=not wrap) for i, wrap in enumerate(wraps)]
    rows = [row[: len(columns)] for row in cells]
    out = io.StringIO()
    draw = Table(box=None, pad_edge=False)
    for column in columns:
        draw.add_column(column.header, no_wrap=column.no_wrap)
    for row in rows:
        draw.add_row(*(Text(cell) for cell in row))
    Console(file=out, width=width, highlight=False).print(draw)
    drawn = table.table(columns, rows, Terminal(width, colour=False), pad_edge=False)
    assert drawn == out.getvalue()


@settings(max_examples=400, deadline=None)
@given(text=st.lists(WORDS, max_size=40).map(" ".join), width=st.integers(10, 160))
def test_a_message_wraps_as_rich_wraps_it(text: str, width: int) -> None:
    for soft_wrap, write in ((False, table.print_wrapped), (True, table.print_line)):
        reference, plain = io.StringIO(), io.StringIO()
        Console(file=reference, width=width, highlight=False).print(Text(text), soft_wrap=soft_wrap)
        write(text, Terminal(width, colour=False), plain)
        assert plain.getvalue() == reference.getvalue(), soft_wrap


def test_width_comes_from_columns_and_colour_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "57")
    assert table.terminal(io.StringIO()) == Terminal(57, colour=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert table.terminal(Tty()).colour
    monkeypatch.setenv("NO_COLOR", "")  # set to anything, as `orc tui` reads it
    assert not table.terminal(Tty()).colour
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not table.terminal(Tty()).colour


def test_colours_wrap_the_styled_text_and_leave_the_layout_alone() -> None:
    cells = [[table.styled("Failed", "red"), "x" * 40]]
    columns = [Column("STATE", no_wrap=True), Column("RUN")]  # RUN wraps, so it shrinks
    plain = table.table(columns, cells, Terminal(30, colour=False))
    coloured = table.table(columns, cells, Terminal(30, colour=True))
    assert "\x1b[31mFailed\x1b[0m" in coloured
    assert _strip_sgr(coloured) == plain
    assert plain.splitlines()[1] == " Failed  " + "x" * 19 + "… "


def _strip_sgr(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_users_words_print_as_written_not_as_markup(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rich read `[bold]` in a message as markup and `:smile:` as an emoji; they are the user's."""
    monkeypatch.setenv("COLUMNS", "100")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    state = RunState(
        "FAILED", "Failed", "[bold]x[/bold] :smile: [red]", moment, "ValueError", "[b]"
    )
    run = FlowRunView(
        "0123456789",
        "calm-[quail]",
        "flow",
        state,
        {},
        [],
        None,
        None,
        None,
        None,
        moment,
        None,
        None,
        1,
    )
    render.run_detail(run, [StateEntry(run.id, state)], [], [])
    out = capsys.readouterr().out
    assert "flow / calm-[quail]" in out
    assert out.count("[bold]x[/bold] :smile: [red]") == 2  # the header and the history
    assert "Error in flow run calm-[quail]: ValueError: [b]" in out
