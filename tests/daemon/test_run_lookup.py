"""A run named by its id or a prefix of it, as the daemon answers `runs.get`, `runs.logs` and
`runs.log_page`: one run, or an error that lists the candidates or says nothing matched.

A real `orc up`; the runs are shipped to it as a plain Python flow ships its records, so
their ids (and so their prefixes) are known.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from orchestrate.client import NotFound
from orchestrate.client.plain import PlainClient
from orchestrate.core.record_codec import encode_records
from orchestrate.core.records import LogRecord, Record
from orchestrate.states import Completed, Failed
from tests.conftest import _flow_run, _task_run
from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def shipped(project: Project) -> Iterator[Project]:
    """A daemon holding runs abc1 (two task runs, one a subflow stand-in for run `child`), abc2
    and xyz9."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", '[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n')
    project.up()
    base = time.time() - 60
    records: list[Record] = [
        _flow_run("abc1", Failed(message="boom"), created=base),
        _flow_run("abc2", Completed(), created=base + 10),
        _flow_run("xyz9", Completed(), created=base + 20),
        _task_run("t-extract", "abc1", Completed(), start_time=base + 1),
        _task_run("t-load", "abc1", Failed(), start_time=base + 2),
        _task_run("t-sub", "abc1", Completed(), start_time=base + 3, kind="subflow"),
        _flow_run("child", Completed(), created=base + 4, parent_task_run_id="t-sub"),
        LogRecord("xyz9", None, base + 21, 20, "orc.flow", "hello"),
    ]
    with PlainClient(project.root) as client:
        client.request("records", records=encode_records(records))
    wait_for(lambda: len(project.runs()) == 4, 30, "the shipped runs to be stored")
    yield project


def test_a_unique_prefix_reads_the_run_its_task_runs_and_subflows(shipped: Project) -> None:
    with shipped.client() as client:
        full, by_prefix = client.run("abc1"), client.run("xy")
    assert full.run.id == "abc1"
    assert full.run.task_counts == {"Completed": 2, "Failed": 1}
    assert {t.id for t in full.task_runs} == {"t-extract", "t-load", "t-sub"}
    assert [r.id for r in full.subflow_runs] == ["child"]
    assert by_prefix.run.id == "xyz9"


def test_a_runs_task_counts_match_the_listing(shipped: Project) -> None:
    """The detail counts the task runs it read; the listing counts them in SQL: the same."""
    with shipped.client() as client:
        listed = {r.id: r.task_counts for r in client.runs(limit=10)}
        assert client.run("abc1").run.task_counts == listed["abc1"]
        assert client.run("child").run.task_counts == listed["child"] == {}


def test_an_ambiguous_prefix_names_the_candidates_newest_first(shipped: Project) -> None:
    with shipped.client() as client:
        for read in (client.run, client.logs, lambda i: client.log_page(i)):
            with pytest.raises(
                NotFound, match=r"'abc' matches more than one flow run: abc2 .*abc1"
            ):
                read("abc")


def test_an_unknown_id_says_how_to_find_one(shipped: Project) -> None:
    with shipped.client() as client:
        for read in (client.run, client.logs, lambda i: client.log_page(i)):
            with pytest.raises(NotFound, match=r"No flow run matches 'nope'.*orc runs ls"):
                read("nope")


def test_logs_and_log_pages_resolve_a_prefix(shipped: Project) -> None:
    with shipped.client() as client:
        assert [line.message for line in client.logs("xy")] == ["hello"]
        assert [line[4] for line in client.log_page("xyz").lines] == ["hello"]
