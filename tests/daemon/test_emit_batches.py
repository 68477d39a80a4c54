"""Events sent in batches to a real `orc up`: by the client's `emit_events` and by `orc emit -`."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.daemon.conftest import FLOWS, ORC, Project

pytestmark = pytest.mark.timeout(120)

TOML = """
    [[deployments]]
    name = "tiny"
    entrypoint = "flows.py:tiny"
"""


def _up(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()


def _stored(project: Project, name: str) -> list[int]:
    """The `n` of each stored event named `name`, oldest first (as `orc events ls` orders them)."""
    with project.client() as client:
        newest_first = client.events(name=name, limit=10_000)
    return [event.payload["n"] for event in reversed(newest_first)]


def test_a_batch_of_emitted_events_is_all_stored_in_order(project: Project) -> None:
    _up(project)
    batch = [
        {"event": "acme.tick", "resource": {"orc.resource.id": "acme.clock"}, "payload": {"n": n}}
        for n in range(2500)
    ]
    batch[7]["id"] = "acme-own-id"
    with project.client() as client:
        ids = client.emit_events(batch)
    assert len(set(ids)) == 2500
    assert ids[7] == "acme-own-id"
    assert _stored(project, "acme.tick") == list(range(2500))


def test_a_batch_with_a_bad_event_is_refused_whole_naming_the_event(project: Project) -> None:
    _up(project)
    batch = [
        {"event": "acme.tick", "resource": {"orc.resource.id": "acme.clock"}},
        {"event": "acme.tick", "resource": {}},
    ]
    with project.client() as client, pytest.raises(Exception, match=r"events\.1\.resource"):
        client.emit_events(batch)
    assert _stored(project, "acme.tick") == []


def test_orc_emit_dash_reads_json_lines_from_stdin(project: Project) -> None:
    _up(project)
    lines = "".join(
        json.dumps({"event": "acme.line", "resource": "acme.feed", "payload": {"n": n}}) + "\n"
        for n in range(2345)
    )
    done = subprocess.run(
        [ORC, "emit", "-", "--project", str(project.root)],
        input=lines, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2345 events emitted"
    assert _stored(project, "acme.line") == list(range(2345))


def test_a_bad_stdin_line_is_named_and_exits_non_zero(project: Project) -> None:
    _up(project)
    good = json.dumps({"event": "acme.line", "resource": "acme.feed", "payload": {"n": 0}})
    done = subprocess.run(
        [ORC, "emit", "-", "--project", str(project.root)],
        input=f"{good}\n\n{{\"event\": \"acme.line\"}}\n", capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "stdin line 3: resource: Field required" in done.stderr
    assert "nothing was emitted" in done.stderr


def test_events_of_a_batch_get_distinct_version_4_ids_unless_they_bring_one() -> None:
    import uuid

    from orchestrate.daemon.handlers import random_ids

    ids = random_ids(5000)
    assert len(set(ids)) == 5000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
