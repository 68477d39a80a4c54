"""`orc run --watch` prints every state of every attempt and every log line once, in order.

The watch merges what the daemon pushes (log lines, as they happen) with what
it reads back from the store (the run's states at each change; every line once
the run has settled). A client here answers as the daemon would, in a given
order of pushes and replies, so each ordering is exact.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrate.cli.run_now import follow
from orchestrate.client.protocol import LogInfo, Notification, RunDetail
from orchestrate.core.errors import DaemonTimeout

RUN = "3af53c34-4e00-4bb7-ab59-0685fa2205d2"
START = 1767225600.0


def stored(ts: float) -> float:
    """`ts` as a time read back from the store: whole microseconds, as a datetime."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(ts * 1e6))).timestamp()


def state(name: str, at: float) -> dict[str, Any]:
    kind = {"AwaitingRetry": "SCHEDULED", "Retrying": "RUNNING"}.get(name, name.upper())
    return {"type": kind, "name": name, "timestamp": stored(START + at)}


def detail(states: list[dict[str, Any]], settled: bool) -> RunDetail:
    run = {"id": RUN, "name": "olive-zebra", "flow_name": "fails", "created": START}
    run |= {"state": states[-1], "settled": settled}
    return RunDetail.model_validate({"run": run, "state_history": states})


def line(ts: float, message: str) -> LogInfo:
    return LogInfo(flow_run_id=RUN, ts=ts, level=20, logger="orc.flow", message=message)


def pushed(topic: str, data: dict[str, Any]) -> Notification:
    return Notification(subscription=1, topic=topic, data=data)


class Pushes:
    """The pushes, in bursts: the pushes of one burst come together, the next after a pause."""

    def __init__(self, bursts: list[list[Notification]]) -> None:
        self.bursts = [list(burst) for burst in bursts]

    def __iter__(self) -> Pushes:
        return self

    def __next__(self) -> Notification:
        while self.bursts and not self.bursts[0]:
            self.bursts.pop(0)
        if not self.bursts:
            raise StopIteration
        return self.bursts[0].pop(0)

    def get(self, timeout: float | None = None) -> Notification:
        if not self.bursts or not self.bursts[0]:
            raise DaemonTimeout("no push within the pause")
        return self.bursts[0].pop(0)


class AnsweringClient:
    """Pushes and replies in the order given: each read takes the next reply. Each push
    comes alone, unless `bursts` groups them."""

    def __init__(
        self,
        pushes: list[Notification],
        runs: list[RunDetail],
        logs: list[list[LogInfo]],
        bursts: list[list[Notification]] | None = None,
    ) -> None:
        self.pushes = Pushes(bursts if bursts is not None else [[push] for push in pushes])
        self.runs, self.logs_read = runs, logs

    def subscribe(self, topics: list[str], flow_run_id: str) -> Any:
        return contextlib.nullcontext(self.pushes)

    def run(self, run_id: str) -> RunDetail:
        return self.runs.pop(0)

    def logs(self, run_id: str) -> list[LogInfo]:
        return self.logs_read.pop(0)


def watched(client: AnsweringClient, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = follow(client, SimpleNamespace(id=RUN))  # type: ignore[arg-type]
    return code, capsys.readouterr().out.splitlines()


FIRST = [state("Scheduled", 0), state("Pending", 1), state("Running", 2), state("Failed", 3)]
RETRY = [state("AwaitingRetry", 4), state("Pending", 5), state("Retrying", 6), state("Failed", 7)]


def test_a_line_pushed_then_read_back_from_the_store_is_printed_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    at = START + 2.0000148  # kept as ...000015 by the store: the two round apart at 5 places
    assert round(at, 5) != round(stored(at), 5)
    client = AnsweringClient(
        pushes=[
            pushed("log", line(at, "hello").model_dump()),
            pushed("flow_run", {"settled": True}),
        ],
        runs=[detail(FIRST[:3], settled=False), detail(FIRST, settled=True)],
        logs=[[], [line(stored(at), "hello")]],
    )
    code, out = watched(client, capsys)
    assert code == 1
    assert out.count("INFO     hello") == 1, out


def test_every_state_of_both_attempts_once_in_order_across_overlapping_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The second read shows the first attempt's Failed not settled (its retry to come); the
    last, after the push that says the run settled, shows both attempts."""
    everything = FIRST + RETRY
    client = AnsweringClient(
        pushes=[
            pushed("flow_run", {}),
            pushed("flow_run", {}),
            pushed("flow_run", {"settled": True}),
        ],
        runs=[
            detail(FIRST[:2], settled=False),
            detail(FIRST, settled=False),
            detail(everything[:6], settled=False),
            detail(everything, settled=True),
        ],
        logs=[[], []],
    )
    code, out = watched(client, capsys)
    assert code == 1
    assert [text.split("]")[0] + "]" for text in out] == [f"[{s['name']}]" for s in everything]


def test_a_line_pushed_before_its_run_s_new_state_prints_after_that_state(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A worker's batch is pushed in its order, the run's snapshot last: a retry's line comes
    before the push of the Retrying state it was logged under, in the same burst."""
    everything = FIRST + RETRY
    client = AnsweringClient(
        pushes=[],
        bursts=[
            [
                pushed("log", line(START + 6.5, "attempt 2 begins").model_dump()),
                pushed("flow_run", {}),
            ],
            [pushed("flow_run", {"settled": True})],
        ],
        runs=[
            detail(FIRST, settled=False),
            detail(everything[:7], settled=False),
            detail(everything, settled=True),
        ],
        logs=[[], [line(START + 6.5, "attempt 2 begins")]],
    )
    code, out = watched(client, capsys)
    assert code == 1
    assert (
        out.index("[Retrying]") < out.index("INFO     attempt 2 begins") < out.index("[Failed]", 4)
    )


def test_lines_logged_after_the_first_read_of_the_run_print_after_the_states_they_follow(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The watch reads the run, then its lines: a line newer than every state read was
    logged under a state that first read missed, so the run is read again."""
    client = AnsweringClient(
        pushes=[pushed("flow_run", {"settled": True})],
        runs=[
            detail(FIRST[:2], settled=False),
            detail(FIRST[:3], settled=False),
            detail(FIRST, settled=True),
        ],
        logs=[[line(START + 2.5, "working")], [line(START + 2.5, "working")]],
    )
    code, out = watched(client, capsys)
    assert code == 1
    assert out == ["[Scheduled]", "[Pending]", "[Running]", "INFO     working", "[Failed]"]
