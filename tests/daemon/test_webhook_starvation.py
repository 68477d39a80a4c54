"""Slow webhooks in a real `orc up`: reads still answer at once, and at most 8 requests are in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

HOOKS = 10


@dataclass
class SlowEndpoint:
    """A local endpoint that holds every request for up to 20 s, until `release` is set."""

    url: str
    release: threading.Event = field(default_factory=threading.Event)
    arrived: list[float] = field(default_factory=list)


@pytest.fixture
def slow() -> Iterator[SlowEndpoint]:
    endpoint = SlowEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            endpoint.arrived.append(time.monotonic())
            endpoint.release.wait(timeout=20)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    yield endpoint
    endpoint.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def _automations(url: str) -> str:
    return "".join(
        f"""
        [[automations]]
        name = "hook-{n}"
        trigger = {{ event = "acme.file.arrived" }}
        actions = [{{ type = "call-webhook", url = "{url}", timeout = "30s", retries = 0 }}]
        """
        for n in range(HOOKS)
    )


def test_slow_webhooks_never_delay_reads_and_wait_for_a_slot(
    project: Project, slow: SlowEndpoint
) -> None:
    project.write("flows.toml", _automations(slow.url))
    project.up()
    emitted = project.orc("emit", "acme.file.arrived", "--resource", "acme.bucket.raw")
    assert emitted.returncode == 0, emitted.stderr
    # six held requests were enough to fill the thread pool the daemon reads the store with
    wait_for(lambda: len(slow.arrived) >= 6, 15, "6 webhook requests to be in flight")
    started = time.monotonic()
    listed = project.orc("runs", "ls", "--json")
    took = time.monotonic() - started
    assert listed.returncode == 0, listed.stderr
    print(f"orc runs ls answered in {took:.2f}s with {len(slow.arrived)} webhooks hanging")
    assert took < 3.0, f"orc runs ls took {took:.2f}s while webhooks hung"
    assert project.orc("status").returncode == 0
    wait_for(lambda: len(slow.arrived) >= 8, 15, "8 webhook requests to be in flight")
    assert project.orc("events", "ls", "--json").returncode == 0  # a moment for a 9th to show up
    assert len(slow.arrived) == 8  # the cap: the other two wait their turn
    slow.release.set()
    with project.client() as client:
        wait_for(
            lambda: len(client.events(name="orc.automation.action.executed", limit=50)) == HOOKS,
            30,
            "every webhook to be sent once a slot was free",
        )
    assert len(slow.arrived) == HOOKS
