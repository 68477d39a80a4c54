"""Finding a flow run by its id or a prefix of it, against a sorted list of ids as the reference.

What `orc runs show ID`, `orc logs ID` and the daemon's `runs.get` resolve an id
with: a full id is that run even when it is also a prefix of another; a prefix
names the one run it starts, or the error lists the candidates (the newest
ten) or says nothing matched.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.core.errors import RunNotFound
from orchestrate.store.migrations import migrate
from orchestrate.store.queries import Store

EXAMPLES = 1_000 if os.environ.get("ORC_PROPERTY_LONG") == "1" else 100
BASE = 1_700_000_000.0


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """One in-memory store for every example (each example replaces its runs)."""
    conn = duckdb.connect()
    migrate(conn, ":memory:")
    yield conn
    conn.close()


def _store_with(conn: duckdb.DuckDBPyConnection, ids: list[str]) -> Store:
    """A store whose flow runs are `ids`, the later in the list the newer."""
    conn.execute("DELETE FROM flow_runs")
    if not ids:
        return Store.over(conn)
    conn.executemany(
        "INSERT INTO flow_runs (id, name, flow_name, state_type, state_name, created, run_count) "
        "VALUES (?, ?, 'etl', 'COMPLETED', 'Completed', to_timestamp(?), 1)",
        [[run_id, f"run-{n}", BASE + n] for n, run_id in enumerate(ids)],
    )
    return Store.over(conn)


def _reference(ids: list[str], prefix: str) -> str | list[str]:
    """The run `prefix` names, or every id it could mean (none, or several), newest first."""
    ordered = sorted(ids)
    at = bisect.bisect_left(ordered, prefix)
    if at < len(ordered) and ordered[at] == prefix:
        return prefix
    matches = [i for i in ordered[at:] if i.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    return sorted(matches, key=ids.index, reverse=True)


#: Short ids over a small alphabet, so prefixes collide often.
ids_lists = st.lists(st.text("ab01-", min_size=1, max_size=6), max_size=30, unique=True)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ids=ids_lists, data=st.data())
def test_prefix_lookup_matches_a_sorted_list(
    connection: duckdb.DuckDBPyConnection, ids: list[str], data: st.DataObject
) -> None:
    prefix = data.draw(
        st.one_of(
            st.sampled_from(ids).flatmap(lambda i: st.integers(1, len(i)).map(lambda n: i[:n]))
            if ids
            else st.nothing(),
            st.text("ab01-x", min_size=1, max_size=4),
        )
    )
    store = _store_with(connection, ids)
    expected = _reference(ids, prefix)
    if isinstance(expected, str):
        assert store.get_flow_run(prefix).id == expected
        assert store.flow_run_id(prefix) == expected
        return
    for read in (store.get_flow_run, store.flow_run_id):
        with pytest.raises(RunNotFound) as caught:
            read(prefix)
        message = str(caught.value)
        if not expected:
            assert "No flow run matches" in message
            continue
        assert "matches more than one flow run" in message
        named = [run_id for run_id in expected[:10] if f"{run_id} (etl/" in message]
        assert named == expected[:10], message  # the newest ten, each with its flow and name
        assert message.endswith("and more. Give more characters of the id.") == (len(expected) > 10)


def test_an_empty_id_says_to_list_the_runs(connection: duckdb.DuckDBPyConnection) -> None:
    store = _store_with(connection, ["abc"])
    with pytest.raises(RunNotFound, match=r"No run id given.*orc runs ls"):
        store.get_flow_run("")


def test_a_full_id_that_prefixes_another_is_that_run(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    store = _store_with(connection, ["abc", "abcd", "abce"])
    assert store.get_flow_run("abc").id == "abc"
    assert store.get_flow_run("abcd").name == "run-1"
    with pytest.raises(
        RunNotFound, match=r"'ab' matches more than one flow run: abce \(etl/run-2\), abcd"
    ):
        store.flow_run_id("ab")


def test_a_prefix_in_capitals_or_with_blanks_around_it_names_its_run(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    """Ids are lowercase hex; one read off a screen or pasted with a blank still finds its run."""
    store = _store_with(connection, ["3b96d34b-e985", "77aa01"])
    assert store.flow_run_id("3B96D3") == "3b96d34b-e985"
    assert store.get_flow_run(" 77aa ").id == "77aa01"
    with pytest.raises(RunNotFound, match="No run id given"):
        store.flow_run_id("  ")
