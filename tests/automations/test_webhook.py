"""call-webhook against a real HTTP server on 127.0.0.1: body, secret headers, retries, failure."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestrate.automations import AutomationEngine, execute
from orchestrate.core.records import EventRecord
from tests.automations.helpers import Clock, run_event, specs_from_toml
from tests.automations.recording_context import RecordingContext


@dataclass
class Hook:
    """A local endpoint that answers with the statuses queued in `answers` (then 200) and keeps each request."""

    url: str
    answers: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold: threading.Event | None = None  # while set to an unset Event, requests wait for it


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ThreadingHTTPServer, list[Hook]]]:
    """One local server for the module (stopping one takes half a second); each test gets a fresh Hook."""
    current: list[Hook] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state = current[-1]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": json.loads(body or b"null"),
                }
            )
            if state.hold is not None:
                state.hold.wait(timeout=10)
            status = state.answers.pop(0) if state.answers else 200
            with contextlib.suppress(
                BrokenPipeError, ConnectionResetError
            ):  # a held client gave up
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, current
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def hook(server: tuple[ThreadingHTTPServer, list[Hook]]) -> Iterator[Hook]:
    httpd, current = server
    state = Hook(url=f"http://127.0.0.1:{httpd.server_address[1]}/hook")
    current.append(state)
    yield state
    if state.hold is not None:
        state.hold.set()


def automation(url: str, **settings: str) -> str:
    extra = "".join(f", {key} = {value}" for key, value in settings.items())
    return f"""
[[automations]]
name = "hook"
trigger = {{ event = "orc.flow-run.Failed" }}
actions = [{{ type = "call-webhook", url = "{url}", retry_backoff = 0.01{extra} }}]
"""


async def fire(
    text: str, clock: Clock, event: EventRecord, environ: dict[str, str] | None = None
) -> EventRecord:
    engine = AutomationEngine(specs_from_toml(text), clock=clock)
    [firing] = engine.on_event(event)
    [outcome] = await execute(
        firing, engine.spec("hook"), RecordingContext(), environ=environ or {}, clock=clock
    )
    return outcome


async def test_posts_the_event_as_json_with_secret_headers_from_the_environment(
    hook: Hook, clock: Clock
) -> None:
    event = run_event(clock, run_id="r1")
    text = automation(
        hook.url,
        headers='{ Authorization = { from_env = "HOOK_TOKEN" }, X-Run = "{{ flow_run.id }}" }',
    )
    outcome = await fire(text, clock, event, environ={"HOOK_TOKEN": "Bearer s3cret"})
    [request] = hook.requests
    assert request["body"] == {
        "id": event.id, "occurred": event.occurred, "event": "orc.flow-run.Failed",
        "resource": event.resource, "related": event.related, "payload": event.payload,
    }  # fmt: skip
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["X-Run"] == "r1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert outcome.event == "orc.automation.action.executed"
    assert (outcome.payload["status"], outcome.payload["attempts"]) == (200, 1)
    assert "s3cret" not in json.dumps([outcome.payload, outcome.resource, outcome.related])


async def test_a_templated_payload_replaces_the_event_json(hook: Hook, clock: Clock) -> None:
    text = automation(
        hook.url,
        payload='{ text = "{{ deployment.name }} failed", run = "{{ flow_run.id }}", n = 3 }',
    )
    await fire(text, clock, run_event(clock, run_id="r2"))
    assert hook.requests[0]["body"] == {"text": "nightly-etl failed", "run": "r2", "n": 3}


async def test_a_500_is_retried_until_it_succeeds(hook: Hook, clock: Clock) -> None:
    hook.answers = [500, 503]
    outcome = await fire(automation(hook.url), clock, run_event(clock))
    assert len(hook.requests) == 3
    assert outcome.event == "orc.automation.action.executed"
    assert outcome.payload["attempts"] == 3


async def test_a_500_that_persists_is_retried_then_recorded_as_failed(
    hook: Hook, clock: Clock
) -> None:
    hook.answers = [500] * 10
    outcome = await fire(automation(hook.url, retries="2"), clock, run_event(clock))
    assert len(hook.requests) == 3
    assert outcome.event == "orc.automation.action.failed"
    assert outcome.payload["status"] == 500 and outcome.payload["attempts"] == 3
    assert (
        "answered 500" in outcome.payload["error"]
        and "after 3 attempts" in outcome.payload["error"]
    )


async def test_a_4xx_is_not_retried(hook: Hook, clock: Clock) -> None:
    hook.answers = [404]
    outcome = await fire(automation(hook.url), clock, run_event(clock))
    assert len(hook.requests) == 1
    assert outcome.event == "orc.automation.action.failed"
    assert "not retried" in outcome.payload["error"]


async def test_no_answer_within_the_timeout_fails_after_the_retries(
    hook: Hook, clock: Clock
) -> None:
    hook.hold = threading.Event()
    outcome = await fire(automation(hook.url, timeout="0.2", retries="1"), clock, run_event(clock))
    assert outcome.event == "orc.automation.action.failed"
    assert outcome.payload["attempts"] == 2
    assert "within 0.2s" in outcome.payload["error"]


async def test_a_refused_connection_fails_and_a_secret_url_is_never_shown(clock: Clock) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = automation("x", retries="1").replace('url = "x"', 'url = { from_env = "HOOK_URL" }')
    outcome = await fire(
        text, clock, run_event(clock), environ={"HOOK_URL": f"http://127.0.0.1:{port}/token-abc"}
    )
    assert outcome.event == "orc.automation.action.failed"
    assert (
        "could not connect" in outcome.payload["error"] and "$HOOK_URL" in outcome.payload["error"]
    )
    assert "token-abc" not in json.dumps(outcome.payload)


async def test_a_missing_secret_fails_with_what_to_set(hook: Hook, clock: Clock) -> None:
    text = automation(hook.url, headers='{ Authorization = { from_env = "NOT_SET_ANYWHERE" } }')
    outcome = await fire(text, clock, run_event(clock))
    assert hook.requests == []
    assert "NOT_SET_ANYWHERE, which is not set" in outcome.payload["error"]


@pytest.mark.parametrize(
    ("header", "environ", "why"),
    [
        ('{ X-Note = "{{ event.payload.note }}" }', {}, "a line break"),
        ('{ X-Note = "naïve" }', {}, "a character HTTP headers cannot carry"),
        ('{ Authorization = { from_env = "TOKEN" } }', {"TOKEN": "s3cret\n"}, "a line break"),
    ],
)
async def test_a_header_http_cannot_carry_is_named_not_sent_nor_retried(
    hook: Hook, clock: Clock, header: str, environ: dict[str, str], why: str
) -> None:
    event = run_event(clock, payload={"note": "one\ntwo"})
    outcome = await fire(automation(hook.url, headers=header), clock, event, environ=environ)
    assert hook.requests == []
    assert outcome.event == "orc.automation.action.failed"
    error = outcome.payload["error"]
    assert why in error and "header" in error and "could not connect" not in error, error
    assert "s3cret" not in json.dumps(outcome.payload)
