"""From a subscription's notifications to batched, past-tense messages.

The pump reads the subscription as notifications arrive, parsing each into
a `Batch` that keeps the latest snapshot per run, and posts the batch as one
message per topic at most once per frame (`FRAME_SECONDS`). The first change
after a quiet spell goes out at once; changes that come within a frame of
the last post are held and go out with the first one to arrive after the
frame, or on a timer a frame later if none does. So a daemon pushing a
thousand changes a second costs the dashboard ten handler calls and repaints,
not a thousand, and a steady stream costs no timer wake-ups of its own;
parsing as they come spreads the cost so no frame waits for a thousand at
once. A worker of the main screen runs `pump`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import BaseModel
from textual.message import Message

from orchestrate.client.protocol import (
    BASE_TOPICS,
    AutomationInfo,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    FlowRunsRemoved,
    Hello,
    LogInfo,
    Notification,
    Status,
    TaskRunInfo,
    Topic,
)
from tui.messages import (
    AutomationsChanged,
    DeploymentsChanged,
    EventsArrived,
    LogsArrived,
    RunsChanged,
    RunsRemoved,
    StatusChanged,
    TaskRunsChanged,
)

DASHBOARD_TOPICS: list[Topic] = ["flow_run", "deployment", "automation", "status", "event"]
#: Followed where the daemon announces it (see `dashboard_topics`).
REMOVALS: Topic = "flow_runs_removed"
RUN_TOPICS: list[Topic] = ["task_run", "edge", "log"]
BATCH_LIMIT = 5000  # notifications in one batch at most, however fast they come
FRAME_SECONDS = 0.1
#: The dashboard's lists apply pushed changes at most this often (four a second): each apply
#: costs a frame of Textual's (about ten widgets drawn again from their caches) and the handler's
#: work, three quarters of a busy daemon's cost to the dashboard; the first change after a quiet
#: spell still shows at once, and a held one within two frames (0.5 s).
DASHBOARD_FRAME_SECONDS = 0.25


#: Per topic: the model its data is, and the field that identifies one (None: keep every item).
_TOPICS: dict[str, tuple[type[BaseModel] | None, str | None]] = {
    "status": (Status, None),
    "deployment": (DeploymentInfo, "name"),
    "automation": (AutomationInfo, "name"),
    "flow_run": (FlowRunInfo, "id"),
    "task_run": (TaskRunInfo, "id"),
    "edge": (None, None),
    "log": (LogInfo, None),
    "event": (EventInfo, None),
    REMOVALS: (FlowRunsRemoved, None),
}


def dashboard_topics(hello: Hello | None) -> list[Topic]:
    """What the dashboard follows on this daemon: the removals too where it announces them.

    A daemon refuses a whole subscription that names a topic it does not know, and
    one older than the announcement knows only `BASE_TOPICS`.
    """
    announced = hello.topics if hello is not None and hello.topics else BASE_TOPICS
    return [*DASHBOARD_TOPICS, REMOVALS] if REMOVALS in announced else list(DASHBOARD_TOPICS)


class Batch:
    """Notifications parsed since the last post, the latest snapshot per id winning."""

    def __init__(self) -> None:
        self._found: dict[str, dict[Any, Any]] = {topic: {} for topic in _TOPICS}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, note: Notification) -> None:
        if note.topic not in _TOPICS:
            return  # a topic from a newer daemon
        model, key = _TOPICS[note.topic]
        item = (
            model.model_validate(note.data) if model else {k: str(v) for k, v in note.data.items()}
        )
        self._found[note.topic][getattr(item, key) if key else self._count] = item
        self._count += 1

    def messages(self) -> list[Message]:
        """One message per topic."""
        return _messages({topic: list(items.values()) for topic, items in self._found.items()})


def batch_messages(notes: list[Notification]) -> list[Message]:
    """One message per topic for a batch of notifications, the latest snapshot per id winning."""
    batch = Batch()
    for note in notes:
        batch.add(note)
    return batch.messages()


def _messages(items: dict[str, list[Any]]) -> list[Message]:
    made: list[Message] = []
    if items["status"]:
        made.append(StatusChanged(items["status"][-1]))
    if items["deployment"]:
        made.append(DeploymentsChanged(items["deployment"]))
    if items["automation"]:
        made.append(AutomationsChanged(items["automation"]))
    if items["flow_run"]:
        made.append(RunsChanged(items["flow_run"]))
    if items[REMOVALS]:  # after the changes: a run changed, then removed, stays removed
        made.append(RunsRemoved({i: r.reason for r in items[REMOVALS] for i in r.ids}))
    if items["task_run"] or items["edge"]:
        made.append(TaskRunsChanged(items["task_run"], items["edge"]))
    if items["log"]:
        made.append(LogsArrived(items["log"]))
    if items["event"]:
        made.append(EventsArrived(items["event"]))
    return made


async def pump(
    subscription: AsyncIterator[Notification],
    post: Callable[[Message], Any],
    frame: float = FRAME_SECONDS,
) -> None:
    """Read `subscription` until it ends, posting a batch per frame at most; its failure propagates."""
    loop = asyncio.get_running_loop()
    batch = Batch()
    due: asyncio.TimerHandle | None = None
    last_post = -math.inf

    def send() -> None:
        nonlocal batch, due, last_post
        if due is not None:
            due.cancel()
        due, last_post = None, loop.time()
        ready, batch = batch, Batch()
        for message in ready.messages():
            post(message)

    try:
        async for note in subscription:
            batch.add(note)
            if len(batch) >= BATCH_LIMIT or loop.time() >= last_post + frame:
                send()
            elif due is None:  # held: it goes with a later arrival, or at the latest then
                due = loop.call_at(last_post + 2 * frame, send)
    except asyncio.CancelledError:
        raise
    except BaseException:
        send()  # what came before the failure still counts
        raise
    else:
        send()
    finally:
        if due is not None:
            due.cancel()
        close = getattr(subscription, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
