"""Subscriptions: what `publish` pushes, to whom, and what happens to a subscriber that stops reading."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from orchestrate.client import AsyncClient, BadInput, ConnectionLost, connect
from orchestrate.daemon.rpc_connection import Connection

from .conftest import WAIT, FakeDaemon, RawClient


def test_a_subscriber_gets_what_it_asked_for_and_nothing_else(daemon: FakeDaemon) -> None:
    with connect(daemon.root) as client:
        runs = client.subscribe(["flow_run"], flow_run_id="r1")
        failures = client.subscribe(["event"], event="orc.flow-run.Fail*")

        daemon.publish("flow_run", {"id": "r2"}, flow_run_id="r2")  # another run
        daemon.publish("task_run", {"id": "t1"}, flow_run_id="r1")  # another topic
        daemon.publish("flow_run", {"id": "r1", "state": "Running"}, flow_run_id="r1")
        daemon.publish("event", {"event": "orc.flow-run.Completed"}, event="orc.flow-run.Completed")
        daemon.publish("event", {"event": "orc.flow-run.Failed"}, event="orc.flow-run.Failed")

        # Each connection gets its pushes in order, so the first one that arrives
        # is the first that matched: nothing unwanted came before it.
        first_run = runs.get(timeout=WAIT)
        first_failure = failures.get(timeout=WAIT)
        runs.close()
        failures.close()

    assert (first_run.topic, first_run.data) == ("flow_run", {"id": "r1", "state": "Running"})
    assert first_run.subscription == runs.id
    assert first_failure.data == {"event": "orc.flow-run.Failed"}


def test_publish_counts_the_subscribers_it_reached(daemon: FakeDaemon) -> None:
    assert daemon.publish("log", {"message": "nobody listens"}) == 0

    with connect(daemon.root) as client, client.subscribe(["log", "flow_run"]) as logs:
        assert daemon.publish("log", {"message": "hi"}, flow_run_id="r9") == 1
        assert logs.get(timeout=WAIT).data == {"message": "hi"}


def test_an_unknown_topic_is_refused(daemon: FakeDaemon) -> None:
    with (
        connect(daemon.root) as client,
        pytest.raises(
            BadInput, match=r"`subscribe`: topics\.0: Input should be 'flow_run'.*got \"flow_runs\""
        ),
    ):
        client.subscribe(["flow_runs"])  # type: ignore[list-item]


def test_a_subscription_ends_with_connection_lost_when_the_daemon_stops(
    daemon: FakeDaemon,
) -> None:
    with connect(daemon.root) as client:
        subscription = client.subscribe(["status"])
    daemon.stop()

    with pytest.raises(ConnectionLost, match="closed the connection"):
        subscription.get(timeout=WAIT)
    subscription.close()


async def test_the_async_client_multiplexes_requests_and_subscriptions(daemon: FakeDaemon) -> None:
    async with await AsyncClient.connect(daemon.root) as client:
        subscription = await client.subscribe(["task_run"], flow_run_id="abc")
        daemon.publish("task_run", {"id": "other"}, flow_run_id="zzz")
        daemon.publish("task_run", {"id": "t1"}, flow_run_id="abc")
        first = await subscription.get(timeout=WAIT)

        answers = await asyncio.gather(*(client.call("echo", n=n) for n in range(50)))
        await subscription.aclose()

    assert first.data == {"id": "t1"}
    assert [a["params"]["n"] for a in answers] == list(range(50))


async def test_async_iteration_subscribes_and_ends_on_aclose(daemon: FakeDaemon) -> None:
    async with await AsyncClient.connect(daemon.root) as client:
        subscription = client.subscribe(["log"])
        await subscription  # active from here on
        for n in range(3):
            daemon.publish("log", {"n": n})
        seen = []
        async for note in subscription:
            seen.append(note.data["n"])
            if len(seen) == 3:
                await subscription.aclose()

        assert seen == [0, 1, 2]
        assert daemon.publish("log", {"n": 4}) == 0  # unsubscribed


async def test_async_subscribers_and_waiting_requests_learn_the_daemon_went_away(
    daemon: FakeDaemon,
) -> None:
    client = await AsyncClient.connect(daemon.root)
    subscription = await client.subscribe(["status"])
    waiting = asyncio.ensure_future(client.call("slow"))

    daemon.stop()

    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(subscription.get(), WAIT)
    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(waiting, WAIT)
    await client.close()


def stalled_subscriber(daemon: FakeDaemon) -> tuple[RawClient, threading.Event]:
    """A client that subscribes to logs and then never reads again; the event is set when it is dropped."""
    stalled = RawClient(daemon.socket)
    stalled.hello("stalled")
    assert "result" in stalled.ask("subscribe", {"topics": ["log"]}, id=2)
    assert daemon.server is not None
    server = daemon.server
    dropped = threading.Event()

    def watch() -> None:
        (connection,) = [c for c in server.connections if c.client == "stalled"]
        connection.on_close(lambda _c: dropped.set())

    daemon.run(watch)
    return stalled, dropped


def test_a_stalled_subscriber_is_dropped_without_holding_up_publish_or_others(
    serve: Callable[..., FakeDaemon], caplog: pytest.LogCaptureFixture
) -> None:
    daemon = serve(backlog_limit=256 * 1024)
    stalled, dropped = stalled_subscriber(daemon)
    line = "x" * 8000
    reached: list[int] = []
    publishing = 0.0

    with connect(daemon.root) as client, client.subscribe(["log"]) as healthy:
        for batch in range(40):  # 3.2 MB in all, far past what the stalled one may owe
            started = time.perf_counter()
            reached.append(daemon.run(lambda b=batch: sum(
                daemon.server.publish("log", {"batch": b, "n": n, "line": line})  # type: ignore[union-attr]
                for n in range(10)
            )))  # fmt: skip
            publishing += time.perf_counter() - started
            got = [healthy.get(timeout=WAIT).data for _ in range(10)]
            assert [(g["batch"], g["n"]) for g in got] == [(batch, n) for n in range(10)]

        assert dropped.wait(WAIT)

    assert reached[0] == 20 and reached[-1] == 10  # both at first, then only the healthy one
    assert publishing < 5.0  # 400 publishes, never waiting on anyone
    assert any("dropped" in r.getMessage() and "stalled" in r.getMessage() for r in caplog.records)
    stalled.sock.settimeout(WAIT)
    while stalled.sock.recv(1 << 20):  # what it was sent before being dropped, then the end
        pass
    stalled.close()


def test_a_handler_can_push_to_its_own_connection(daemon: FakeDaemon) -> None:
    pushed: list[Connection] = []
    with connect(daemon.root, name="worker") as client:
        assert daemon.server is not None
        server = daemon.server

        def push() -> None:
            (connection,) = [c for c in server.connections if c.client == "worker"]
            pushed.append(connection)
            connection.notify("notify", {"subscription": 0, "topic": "status", "data": {"x": 1}})

        daemon.run(push)
        assert client.call("echo", after="push")["params"] == {"after": "push"}  # skips the push

    assert len(pushed) == 1
