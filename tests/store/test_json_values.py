"""JSON columns: the text stored for a value is what `json.dumps` gives, odd values included.

`to_json` encodes with one C encoder built once; these pin that its text is
the text of the encoder it replaced, value for value, and that one odd value
in a batch takes the slow path alone.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrate.core import jsonvalues
from orchestrate.core.jsonvalues import json_default, to_json
from orchestrate.core.records import EventRecord
from orchestrate.store.batch import Batch, StoredRuns
from orchestrate.store.migrations import migrate


def _reference(value: Any) -> str:
    """What `to_json` gave before: a new `json.dumps` encoder per value, the slow path on failure."""
    try:
        return json.JSONEncoder(default=json_default, allow_nan=False).encode(value)
    except Exception:
        return json.dumps(jsonvalues._sanitize(value, 0), allow_nan=False)


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: they take the slow path
    | st.text()
    | st.dates()
    | st.sets(st.integers(), max_size=3)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(
            st.text() | st.integers() | st.booleans() | st.floats(), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_the_text_of_any_value_is_what_json_dumps_gave(value: Any) -> None:
    assert to_json(value) == _reference(value)


class Colour(Enum):
    RED = "red"


class NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _circular() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


@pytest.mark.parametrize(
    "value",
    [
        {"when": datetime(2026, 1, 2, 3, 4, 5), "day": date(2026, 1, 2), "path": Path("/tmp/x")},
        {"colour": Colour.RED, "tags": frozenset({"a"}), "pure": PurePosixPath("a/b")},
        {"nan": float("nan"), "fine": 1.5},
        {"a": {"b": _circular()}},
        {(1, 2): "tuple key"},
        {"odd": NoRepr(), "text": "é 🎉 \x00 \x1f"},
        [[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]],
        object(),
    ],
    ids=["datetimes", "enum-set-path", "nan", "circular", "tuple-key", "no-repr", "deep", "object"],
)
def test_odd_values_keep_their_nearest_json_form(value: Any) -> None:
    text = to_json(value)
    assert text == _reference(value)
    json.loads(text)  # always valid JSON


def test_threads_encoding_one_value_at_once_all_get_its_text() -> None:
    """The shared encoder keeps no table of containers being encoded, so threads cannot trip on each other."""

    class Slow:
        def model_dump(self, mode: str) -> dict[str, Any]:
            return {"mode": mode, "n": list(range(50))}

    shared = {"items": [Slow() for _ in range(50)], "more": {"x": [Slow()]}}
    expected = _reference(shared)
    results: list[str] = []
    start = threading.Barrier(4)

    def encode() -> None:
        start.wait(timeout=10)
        results.extend(to_json(shared) for _ in range(50))

    threads = [threading.Thread(target=encode) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [expected] * 200


def test_one_odd_value_in_a_batch_takes_the_slow_path_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow: list[Any] = []
    sanitize = jsonvalues._sanitize

    def counted(value: Any, depth: int) -> Any:
        if depth == 0:
            slow.append(value)
        return sanitize(value, depth)

    monkeypatch.setattr(jsonvalues, "_sanitize", counted)
    odd = {"n": float("nan")}
    events = [
        EventRecord(f"e{i}", 1_700_000_000.0 + i, "orc.test", {"id": f"r{i}"}, {"i": i})
        for i in range(100)
    ]
    events[37] = EventRecord("e37", 1_700_000_037.0, "orc.test", {"id": "r37"}, odd)
    path = tmp_path / "store.duckdb"
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
        Batch.of(list(events)).write(conn, StoredRuns())
        stored = conn.execute(
            "SELECT id, payload, resource FROM events ORDER BY occurred"
        ).fetchall()
    assert slow == [odd]
    assert stored[37] == ("e37", '{"n": "nan"}', '{"id": "r37"}')
    assert stored[0] == ("e0", '{"i": 0}', '{"id": "r0"}')
