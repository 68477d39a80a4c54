"""Automations in a real `orc up`: events from real runs, real actions, a real HTTP server."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import FLOWS, ORC, Project, wait_for

pytestmark = pytest.mark.timeout(120)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def events(project: Project, name: str) -> list[Any]:
    with project.client() as client:
        return client.events(name=name, limit=500)


def test_a_failing_deployment_starts_cleanup_with_the_failed_run_id(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "fails"
        entrypoint = "flows.py:fails"

        [[deployments]]
        name = "cleanup"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "cleanup-after-failure"
        trigger = { event = "orc.flow-run.Failed", match = { deployment = "fails" } }
        actions = [{ type = "run-deployment", deployment = "cleanup", parameters = { x = "{{ event.payload.run_count }}" } }]
    """,
    )
    project.up()
    with project.client() as client:
        failed = client.create_run("fails")
    cleanup = wait_for(lambda: project.completed("cleanup"), 30, "the cleanup run to complete")
    assert cleanup[0].parameters == {"x": 1}
    triggered = events(project, "orc.automation.triggered")
    assert failed.id in json.dumps([e.model_dump() for e in triggered]) or triggered


def test_failed_is_told_once_the_retries_are_spent_and_each_retry_says_why(
    project: Project,
) -> None:
    """As in Prefect, a retried attempt is `AwaitingRetry`, not `Failed`: an automation
    on `Failed` fires once, for the last attempt, not while a retry is still coming."""
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "fails"
        entrypoint = "flows.py:fails"
        retries = 2

        [[deployments]]
        name = "cleanup"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "cleanup-after-failure"
        trigger = { event = "orc.flow-run.Failed", match = { deployment = "fails" } }
        actions = [{ type = "run-deployment", deployment = "cleanup", parameters = { x = "{{ event.payload.run_count }}" } }]
    """,
    )
    project.up()
    with project.client() as client:
        failed = client.create_run("fails")
    cleanup = wait_for(lambda: project.completed("cleanup"), 60, "the cleanup run to complete")
    assert [run.parameters for run in cleanup] == [{"x": 3}]  # after the third attempt only
    (run,) = [r for r in project.runs() if r.id == failed.id]
    assert run.state.type == "FAILED" and run.run_count == 3
    mine = f"orc.flow-run.{failed.id}"
    told = [e for e in events(project, "orc.flow-run.*") if e.resource["orc.resource.id"] == mine]
    assert [e.event for e in told].count("orc.flow-run.Failed") == 1
    retried = [e for e in told if e.event == "orc.flow-run.AwaitingRetry"]
    assert len(retried) == 2
    assert all("this flow always fails" in e.payload["state"]["message"] for e in retried)


def test_a_deployment_trigger_chains_b_after_a_with_a_templated_parameter(project: Project) -> None:
    project.write(
        "flows.py",
        FLOWS
        + """

    @flow
    def echo(run: str) -> str:
        get_run_logger().info("after %s", run)
        return run
""",
    )
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "a"
        entrypoint = "flows.py:tiny"

        [[deployments]]
        name = "b"
        entrypoint = "flows.py:echo"
        triggers = [{ event = "orc.flow-run.Completed", match = { deployment = "a" }, parameters = { run = "{{ event.resource.id }}" } }]
    """,
    )
    project.up()
    with project.client() as client:
        first = client.create_run("a")
    b = wait_for(lambda: project.completed("b"), 30, "b to run after a")
    assert b[0].parameters == {"run": f"orc.flow-run.{first.id}"}


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {"body": json.loads(body), "auth": self.headers.get("Authorization")}
        )
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_a_webhook_answering_500_is_retried_then_recorded_as_failed(
    project: Project, hook_server: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = hook_server
    project.write(
        "flows.toml",
        f"""
        [[automations]]
        name = "notify"
        trigger = {{ event = "acme.file.arrived" }}
        actions = [{{ type = "call-webhook", url = "{url}", retries = 2, headers = {{ Authorization = {{ from_env = "HOOK_TOKEN" }} }} }}]
    """,
    )
    import os

    os.environ["HOOK_TOKEN"] = "Bearer s3cret"
    try:
        project.up()
    finally:
        del os.environ["HOOK_TOKEN"]
    emitted = project.orc(
        "emit", "acme.file.arrived", "--resource", "acme.bucket.raw", "--payload", '{"rows": 3}'
    )
    assert emitted.returncode == 0, emitted.stderr
    failed = wait_for(lambda: events(project, "orc.automation.action.failed"), 30, "action.failed")
    assert len(received) == 3  # the first try and two retries
    assert (
        received[0]["body"]["event"] == "acme.file.arrived"
        and received[0]["auth"] == "Bearer s3cret"
    )
    assert "s3cret" not in json.dumps([e.model_dump() for e in failed])
    with project.client() as client:
        assert client.status().pid == project.processes[0].pid


def test_threshold_fires_on_the_third_failure_only_once_per_deployment(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "f1"
        entrypoint = "flows.py:fails"

        [[deployments]]
        name = "f2"
        entrypoint = "flows.py:fails"

        [[automations]]
        name = "three-strikes"
        trigger = { event = "orc.flow-run.Failed", threshold = 3, within = "1m", for_each = ["deployment"] }
        actions = [{ type = "emit-event", event = "acme.alarm", resource = { "orc.resource.id" = "acme.pager" } }]
    """,
    )
    project.up()
    with project.client() as client:
        for _ in range(4):
            client.create_run("f1")
        for _ in range(2):
            client.create_run("f2")
    wait_for(
        lambda: len([r for r in project.runs() if r.state.type == "FAILED"]) == 6,
        60,
        "6 failed runs",
    )
    fired = wait_for(
        lambda: events(project, "orc.automation.triggered"), 10, "the automation to fire"
    )
    assert len(fired) == 1
    assert fired[0].payload["group"] == ["f1"]


def test_a_proactive_trigger_fires_when_the_completion_does_not_come(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "quiet"
        trigger = { posture = "proactive", event = "orc.flow-run.Completed", match = { deployment = "tiny" }, within = "4s" }
        actions = [{ type = "emit-event", event = "acme.missing", resource = { "orc.resource.id" = "acme.tiny" } }]
    """,
    )
    project.up()
    with project.client() as client:
        client.create_run("tiny")
    completed = wait_for(lambda: events(project, "orc.flow-run.Completed"), 30, "tiny to complete")
    wait_for(lambda: events(project, "acme.missing"), 20, "the proactive trigger to fire")
    fired = events(project, "orc.automation.triggered")
    assert len(fired) == 1
    # the completion restarted the window: the silence counted from it, not from the start
    assert fired[0].occurred >= completed[0].occurred + 4.0 - 0.05


def test_run_command_gets_event_fields_as_environment_never_as_shell(
    project: Project, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    pwned = tmp_path / "pwned"
    script = project.write(
        "dump_env.py",
        f"""
        import json, os
        json.dump({{k: v for k, v in os.environ.items() if k.startswith("ORC_")}}, open({str(out)!r}, "w"))
    """,
    )
    project.write(
        "flows.toml",
        f"""
        [[automations]]
        name = "run-it"
        trigger = {{ event = "acme.file.arrived" }}
        actions = [{{ type = "run-command", command = ["python3", "{script}"] }}]
    """,
    )
    project.up()
    payload = json.dumps({"name": f"x; touch {pwned}"})
    project.orc("emit", "acme.file.arrived", "--resource", "acme.bucket.raw", "--payload", payload)
    env = json.loads(wait_for(lambda: out.exists() and out.read_text(), 20, "the command to run"))
    assert env["ORC_EVENT"] == "acme.file.arrived"
    assert f"touch {pwned}" in env["ORC_EVENT_JSON"]
    wait_for(lambda: events(project, "orc.automation.action.executed"), 10, "the outcome event")
    assert not pwned.exists()


def test_a_bad_automation_edit_is_refused_and_the_last_good_set_kept(project: Project) -> None:
    project.write("flows.py", FLOWS)
    good = """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "keep-me"
        trigger = { event = "acme.*" }
        actions = [{ type = "run-deployment", deployment = "tiny" }]
    """
    project.write("flows.toml", good)
    project.up()
    project.write("flows.toml", good.replace('deployment = "tiny" }', 'deployment = "nope" }'))
    invalid = wait_for(lambda: events(project, "orc.config.invalid"), 20, "orc.config.invalid")
    assert "unknown deployment 'nope'" in json.dumps(invalid[0].payload)
    assert "flows.toml:" in json.dumps(invalid[0].payload)
    with project.client() as client:
        assert [a.name for a in client.automations()] == ["keep-me"]


def test_an_event_a_flow_emits_is_listed_and_starts_an_automation(project: Project) -> None:
    project.write(
        "flows.py",
        FLOWS
        + """

    from orchestrate import emit_event


    @flow
    def announce() -> None:
        emit_event("acme.thing.done", resource={"orc.resource.id": "acme.thing.1"}, payload={"n": 3})
""",
    )
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "announce"
        entrypoint = "flows.py:announce"

        [[deployments]]
        name = "follow-up"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "after-thing"
        trigger = { event = "acme.thing.done", match = { "orc.resource.id" = "acme.thing.*" } }
        actions = [{ type = "run-deployment", deployment = "follow-up", parameters = { x = "{{ event.payload.n }}" } }]
    """,
    )
    project.up()
    with project.client() as client:
        announced = client.create_run("announce")
    follow_up = wait_for(
        lambda: project.completed("follow-up"), 30, "the follow-up run to complete"
    )
    assert follow_up[0].parameters == {"x": 3}
    listed = project.orc("events", "ls", "--name", "acme.*", "--json")
    assert listed.returncode == 0, listed.stderr
    [event] = json.loads(listed.stdout)
    assert (event["event"], event["resource"], event["payload"]) == (
        "acme.thing.done",
        {"orc.resource.id": "acme.thing.1"},
        {"n": 3},
    )
    assert {
        "orc.resource.id": f"orc.flow-run.{announced.id}",
        "orc.resource.role": "flow-run",
    } in event["related"]


def test_a_templated_shell_script_is_refused_and_the_payload_never_runs(
    project: Project, tmp_path: Path
) -> None:
    out, pwned = tmp_path / "out.txt", tmp_path / "pwned"
    safe = f"""
        [[automations]]
        name = "greet"
        trigger = {{ event = "acme.file.arrived" }}
        actions = [{{ type = "run-command", command = ["sh", "-c", 'printf %s "$1" > {out}', "sh", "{{{{ event.payload.name }}}}"] }}]
    """
    unsafe = safe.replace("""'printf %s "$1" > """, "'printf %s {{ event.payload.name }} > ")
    project.write("flows.toml", unsafe)
    refused = project.orc("validate")
    assert (
        refused.returncode == 2
        and "command[2]" in refused.stderr
        and "ORC_EVENT_JSON" in refused.stderr
    )
    assert "flows.toml:5:" in refused.stderr and "Traceback" not in refused.stderr
    project.write("flows.toml", safe)
    project.up()
    project.write("flows.toml", unsafe)
    invalid = wait_for(lambda: events(project, "orc.config.invalid"), 20, "orc.config.invalid")
    assert "event text would become code" in json.dumps(invalid[0].payload)
    payload = json.dumps({"name": f"x; touch {pwned}"})
    emitted = project.orc(
        "emit", "acme.file.arrived", "--resource", "acme.bucket.raw", "--payload", payload
    )
    assert emitted.returncode == 0, emitted.stderr
    wait_for(
        lambda: events(project, "orc.automation.action.executed"),
        20,
        "the kept, safe action to run",
    )
    assert out.read_text() == f"x; touch {pwned}"  # the payload arrived as one argument: data
    assert not pwned.exists()


def test_run_deployment_parameters_that_do_not_fit_the_flow_are_a_failed_action_not_a_run(
    project: Project,
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "start-tiny"
        trigger = { event = "acme.file.arrived" }
        actions = [{ type = "run-deployment", deployment = "tiny", parameters = { x = "{{ event.payload.x }}" } }]
    """,
    )
    project.up()
    bad = project.orc(
        "emit", "acme.file.arrived", "--resource", "acme.bucket.raw", "--payload", '{"x": "abc"}'
    )
    assert bad.returncode == 0, bad.stderr
    [failed] = wait_for(
        lambda: events(project, "orc.automation.action.failed"), 20, "action.failed"
    )
    error = failed.payload["error"]
    assert "parameter 'x' must be an integer, got 'abc'" in error and "flows.py:tiny" in error
    assert "no run was created" in error
    project.orc(
        "emit", "acme.file.arrived", "--resource", "acme.bucket.raw", "--payload", '{"x": 4}'
    )
    [good] = wait_for(lambda: project.completed("tiny"), 30, "the run with a fitting parameter")
    assert good.parameters == {"x": 4}
    assert len(project.runs(deployment="tiny")) == 1  # the bad firing created none


def test_a_run_deployment_on_its_own_deployments_completion_runs_once_not_for_ever(
    project: Project,
) -> None:
    """`again` ran `quick` each time `quick` completed: 943 runs in 17 s, stopped only by
    orc down. The run an automation makes names it, and it does not react to that run."""
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "quick"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "again"
        trigger = { event = "orc.flow-run.Completed", match = { deployment = "quick" } }
        actions = [{ type = "run-deployment", deployment = "quick", parameters = { x = 2 } }]
    """,
    )
    project.up()
    with project.client() as client:
        client.create_run("quick")
    made = wait_for(lambda: [r for r in project.completed("quick") if r.parameters == {"x": 2}],
                    30, "the automation's run to complete")  # fmt: skip
    (made_run,) = made
    done = [
        e for e in events(project, "orc.flow-run.Completed")
        if e.resource["orc.resource.id"] == f"orc.flow-run.{made_run.id}"
    ]  # fmt: skip
    assert (
        done
        and {"orc.resource.id": "orc.automation.again", "orc.resource.role": "automation"}
        in done[0].related
    )
    # An event's firings are recorded as it is handled, so once it is stored, none came of it.
    assert len(events(project, "orc.automation.triggered")) == 1


AGAIN = {"orc.resource.id": "orc.automation.again", "orc.resource.role": "automation"}


def completed_event(project: Project, run_id: str) -> list[Any]:
    """The run's stored `Completed` event: every event the daemon heard before it is
    stored too, and handled (an event's firings are recorded as it is handled)."""
    mine = f"orc.flow-run.{run_id}"
    done = events(project, "orc.flow-run.Completed")
    return [e for e in done if e.resource["orc.resource.id"] == mine]


def test_a_run_deployment_on_a_subflows_completion_runs_its_parent_once_not_for_ever(
    project: Project,
) -> None:
    """`again` ran `parent` each time its `child` subflow completed, and each new parent run
    had a child: the subflow run of the run `again` made did not name it. A subflow run's
    events name what made the run it is part of."""
    project.write(
        "flows.py",
        FLOWS
        + """

    @flow
    def child(x: int) -> int:
        return double(x)


    @flow
    def parent(x: int = 1) -> int:
        return child(x)
""",
    )
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "parent"
        entrypoint = "flows.py:parent"

        [[automations]]
        name = "again"
        trigger = { event = "orc.flow-run.Completed", match = { flow = "child" } }
        actions = [{ type = "run-deployment", deployment = "parent", parameters = { x = 2 } }]
    """,
    )
    project.up()
    with project.client() as client:
        client.create_run("parent")
    made = wait_for(lambda: [r for r in project.completed("parent") if r.parameters == {"x": 2}],
                    30, "the automation's run to complete")  # fmt: skip
    # Its child's Completed came before its own: handled, and nothing came of it.
    wait_for(lambda: completed_event(project, made[0].id), 30, "its Completed event")
    assert len(events(project, "orc.automation.triggered")) == 1
    assert len(project.runs(deployment="parent")) == 2
    children = [
        e for e in events(project, "orc.flow-run.Completed")
        if any(r["orc.resource.id"] == "orc.flow.child" for r in e.related)
    ]  # fmt: skip
    named = sorted((e.payload["parameters"]["x"], AGAIN in e.related) for e in children)
    assert named == [(1, False), (2, True)]


def test_an_event_a_run_emits_does_not_start_the_automation_that_made_the_run(
    project: Project,
) -> None:
    """`again` ran `announce` on `acme.thing.done`, which `announce` emits: each run made
    the next. An event a run emits names the automations that made the run (or the run
    whose subflow it is), checked by the daemon, not taken from the run."""
    project.write(
        "flows.py",
        FLOWS
        + """

    from orchestrate import emit_event


    @flow
    def announce(x: int = 1) -> None:
        emit_event("acme.thing.done", resource={"orc.resource.id": "acme.thing.1"}, payload={"x": x})
""",
    )
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "announce"
        entrypoint = "flows.py:announce"

        [[automations]]
        name = "again"
        trigger = { event = "acme.thing.done" }
        actions = [{ type = "run-deployment", deployment = "announce", parameters = { x = 2 } }]
    """,
    )
    project.up()
    with project.client() as client:
        client.create_run("announce")
    made = wait_for(lambda: [r for r in project.completed("announce") if r.parameters == {"x": 2}],
                    30, "the automation's run to complete")  # fmt: skip
    # The event it emitted came before its Completed: handled, and nothing came of it.
    wait_for(lambda: completed_event(project, made[0].id), 30, "its Completed event")
    assert len(events(project, "orc.automation.triggered")) == 1
    assert len(project.runs(deployment="announce")) == 2
    named = sorted((e.payload["x"], AGAIN in e.related) for e in events(project, "acme.thing.done"))
    assert named == [(1, False), (2, True)]


def test_a_ring_of_three_automations_goes_round_once(project: Project) -> None:
    """A on x.a emits x.b, B on x.b emits x.c, C on x.c emits x.a: 7,725 of each event in
    5 s. What an automation causes names every automation before it in the chain."""
    ring = [("a", "x.a", "x.b"), ("b", "x.b", "x.c"), ("c", "x.c", "x.a")]
    project.write(
        "flows.toml",
        "\n".join(
            f"""
        [[automations]]
        name = "{name}"
        trigger = {{ event = "{on}" }}
        actions = [{{ type = "emit-event", event = "{emits}", resource = {{ "orc.resource.id" = "x.thing" }} }}]
        """
            for name, on, emits in ring
        ),
    )
    project.up()
    assert project.orc("emit", "x.a", "--resource", "x.thing").returncode == 0
    # C's x.a closes the ring: stored, it has been handled, and A did not react to it.
    wait_for(lambda: len(events(project, "x.a")) == 2, 30, "the x.a that C emits")
    counts = {name: len(events(project, name)) for name in ("x.a", "x.b", "x.c")}
    assert counts == {"x.a": 2, "x.b": 1, "x.c": 1}
    assert len(events(project, "orc.automation.triggered")) == 3


def test_an_event_sent_again_with_its_id_is_stored_and_acted_on_once(project: Project) -> None:
    """A producer that sends again after a timeout, with the same id, means the same event:
    sent four times it was stored four times and ran its automation's command four times."""
    project.write(
        "flows.toml",
        """
        [[automations]]
        name = "note"
        trigger = { event = "acme.done" }
        actions = [{ type = "emit-event", event = "acme.noted", resource = { "orc.resource.id" = "acme" } }]
    """,
    )
    project.up()
    line = json.dumps({"event": "acme.done", "resource": "acme.job", "id": "fixed-id-1"})
    for batch in (line, line, f"{line}\n{line}"):
        sent = subprocess.run([ORC, "emit", "-", "--project", str(project.root)], input=batch,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert sent.returncode == 0, sent.stderr
    wait_for(lambda: events(project, "acme.noted"), 30, "the automation's event")
    assert [e.id for e in events(project, "acme.done")] == ["fixed-id-1"]
    assert len(events(project, "orc.automation.triggered")) == 1


MARKER_AUTOMATION = """
[[automations]]
name = "marker"
trigger = { event = "acme.marker" }
actions = [{ type = "emit-event", event = "acme.marker.seen" }]
"""


def slow_action(project: Project, started: Path, extra: str = "") -> None:
    """An automation whose first action is a command that runs two minutes (each start adds
    its pid to `started`) and whose second emits `acme.after`; `extra` goes in flows.toml too."""
    project.write(
        "slow.py",
        f"""
        import os, time
        with open({str(started)!r}, "a") as f:
            f.write(f"{{os.getpid()}}\\n")
        time.sleep(120)
        """,
    )
    command = json.dumps([sys.executable, "slow.py"])
    project.write(
        "flows.toml",
        textwrap.dedent(f"""
        [[automations]]
        name = "slow"
        trigger = {{ event = "acme.file.arrived" }}
        actions = [
          {{ type = "run-command", command = {command}, cwd = {json.dumps(str(project.root))}, timeout = "5m" }},
          {{ type = "emit-event", event = "acme.after" }},
        ]
        """)
        + extra,
    )


def test_a_stop_gives_a_running_action_the_grace_then_ends_it_on_record(
    project: Project, tmp_path: Path
) -> None:
    """`orc down` must not wait out a minute-long command, and what it cut short says so."""
    started = tmp_path / "started"
    slow_action(project, started)
    daemon = project.up("--grace", "1")
    assert project.orc("emit", "acme.file.arrived", "--resource", "acme.bucket.raw").returncode == 0
    pid = int(wait_for(lambda: started.exists() and started.read_text(), 30, "the command"))
    stopping = time.monotonic()
    down = project.orc("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert daemon.wait(30) == 0
    assert time.monotonic() - stopping < 20  # the grace, not the command's five minutes
    assert not alive(pid)

    listed = project.orc("events", "ls", "--name", "orc.automation.action.*", "--json")
    outcomes = sorted(json.loads(listed.stdout), key=lambda e: e["payload"]["action_index"])
    assert [e["event"] for e in outcomes] == ["orc.automation.action.failed"] * 2
    assert "orc up stopped" in outcomes[0]["payload"]["error"]
    assert "not run" in outcomes[1]["payload"]["error"]


def test_actions_a_kill_cut_off_are_recorded_at_the_next_start_and_not_run_again(
    project: Project, tmp_path: Path
) -> None:
    """A `kill -9` of `orc up` mid-action leaves the firing with no outcome: the next start
    says so for each action, once, and runs none of them again."""
    started = tmp_path / "started"
    slow_action(project, started, MARKER_AUTOMATION)
    project.up()
    emitted = project.orc("emit", "acme.file.arrived", "--resource", "acme.bucket.raw")
    assert emitted.returncode == 0, emitted.stderr
    pid = int(wait_for(lambda: started.exists() and started.read_text(), 30, "the command"))
    os.kill(pid, signal.SIGKILL)  # it outlives orc up in its own session; not needed here
    assert project.stop(sig=signal.SIGKILL) == -signal.SIGKILL
    [triggered] = events_offline(project, "orc.automation.triggered")

    project.up()
    outcomes = wait_for(
        lambda: len(found := events(project, "orc.automation.action.*")) == 2 and found,
        30,
        "the cut-off actions' outcomes",
    )
    assert {e.payload["firing_id"] for e in outcomes} == {triggered["payload"]["firing_id"]}
    assert sorted((e.payload["action_index"], e.payload["action"]) for e in outcomes) == [
        (0, "run-command"),
        (1, "emit-event"),
    ]
    assert all(e.event == "orc.automation.action.failed" for e in outcomes)
    assert all("killed" in e.payload["error"] for e in outcomes), outcomes[0].payload
    assert events(project, "acme.after") == []

    assert project.stop() == 0
    project.up()
    emitted = project.orc("emit", "acme.marker", "--resource", "acme.bucket.raw")
    assert emitted.returncode == 0, emitted.stderr
    wait_for(lambda: events(project, "acme.marker.seen"), 30, "the marker")
    assert len(events(project, "orc.automation.action.*")) == 3  # the marker's, nothing again
    assert started.read_text().count("\n") == 1


def events_offline(project: Project, name: str) -> list[dict[str, Any]]:
    listed = project.orc("events", "ls", "--name", name, "--json")
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def test_orc_run_and_orc_emit_in_an_actions_command_carry_its_chain_and_do_not_loop(
    project: Project,
) -> None:
    """`orc run` (or `orc emit`) in a run-command is run-deployment (or emit-event) by hand:
    what it makes names the automation, which therefore does not react to it."""
    project.write("flows.py", FLOWS)
    root = json.dumps(str(project.root))
    project.write(
        "flows.toml",
        f"""
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"

        [[automations]]
        name = "again"
        trigger = {{ event = "orc.flow-run.Completed", match = {{ deployment = "tiny" }} }}
        actions = [{{ type = "run-command", command = [{json.dumps(ORC)}, "run", "tiny", "--project", {root}] }}]

        [[automations]]
        name = "echo"
        trigger = {{ event = "acme.ping" }}
        actions = [{{ type = "run-command", command = [{json.dumps(ORC)}, "emit", "acme.ping", "--resource", "acme.echo", "--project", {root}] }}]

        [[automations]]
        name = "marker"
        trigger = {{ event = "acme.marker" }}
        actions = [{{ type = "emit-event", event = "acme.marker.seen" }}]
        """,
    )
    project.up()
    assert project.orc("run", "tiny").returncode == 0
    assert project.orc("emit", "acme.ping", "--resource", "acme.test").returncode == 0
    wait_for(lambda: len(project.completed("tiny")) == 2, 60, "the run the command made")
    wait_for(lambda: len(events(project, "acme.ping")) == 2, 60, "the event the command emitted")
    wait_for(
        lambda: len(events(project, "orc.automation.action.executed")) == 2, 60, "both actions"
    )
    assert project.orc("emit", "acme.marker", "--resource", "acme.test").returncode == 0
    wait_for(lambda: events(project, "acme.marker.seen"), 30, "the marker")

    fired = [e.resource["orc.resource.name"] for e in events(project, "orc.automation.triggered")]
    assert sorted(fired) == ["again", "echo", "marker"]
    assert len(project.runs(deployment="tiny")) == 2
    [echoed] = [
        e for e in events(project, "acme.ping") if e.resource["orc.resource.id"] == "acme.echo"
    ]
    assert {
        "orc.resource.id": "orc.automation.echo",
        "orc.resource.role": "automation",
    } in echoed.related
