"""The quick path's plain rows carry the store views' fields, in the views' order: a field
added to a view and not to its row would be missing from what a quick read command prints."""

from __future__ import annotations

import dataclasses

import pytest

from orchestrate.cli import rows
from orchestrate.store import views


@pytest.mark.parametrize(
    ("row", "view"),
    [
        (rows.StateRow, views.RunState),
        (rows.FlowRunRow, views.FlowRunView),
        (rows.TaskRunRow, views.TaskRunView),
        (rows.StateEntryRow, views.StateEntry),
        (rows.LogLineRow, views.LogLine),
    ],
)
def test_each_row_has_its_views_fields_in_order(row: type, view: type) -> None:
    assert row._fields == tuple(field.name for field in dataclasses.fields(view))
