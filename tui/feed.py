"""From a subscription's notifications to batched, past-tense messages.

A reader drains the subscription into a queue; each time the app gets a turn
it takes everything queued at once, keeps the latest snapshot per run, and
posts one message per topic. A worker of the main screen runs `pump`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import BaseModel
from textual.message import Message

from orchestrate.protocol import (
    AutomationInfo,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
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
    StatusChanged,
    TaskRunsChanged,
)

DASHBOARD_TOPICS: list[Topic] = ["flow_run", "deployment", "automation", "status", "event"]
RUN_TOPICS: list[Topic] = ["task_run", "edge", "log"]
BATCH_LIMIT = 5000
_END = object()


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
}


def batch_messages(notes: list[Notification]) -> list[Message]:
    """One message per topic for a batch of notifications, the latest snapshot per id winning."""
    found: dict[str, dict[Any, Any]] = {topic: {} for topic in _TOPICS}
    for position, note in enumerate(notes):
        if note.topic not in _TOPICS:
            continue  # a topic from a newer daemon
        model, key = _TOPICS[note.topic]
        item = (
            model.model_validate(note.data) if model else {k: str(v) for k, v in note.data.items()}
        )
        found[note.topic][getattr(item, key) if key else position] = item
    return _messages({topic: list(items.values()) for topic, items in found.items()})


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
    if items["task_run"] or items["edge"]:
        made.append(TaskRunsChanged(items["task_run"], items["edge"]))
    if items["log"]:
        made.append(LogsArrived(items["log"]))
    if items["event"]:
        made.append(EventsArrived(items["event"]))
    return made


async def pump(subscription: AsyncIterator[Notification], post: Callable[[Message], Any]) -> None:
    """Read `subscription` until it ends, posting batches; a failure of the subscription propagates."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def read() -> None:
        try:
            async for note in subscription:
                queue.put_nowait(note)
        except BaseException as error:
            queue.put_nowait(error)
            raise
        queue.put_nowait(_END)

    reader = asyncio.create_task(read())
    try:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < BATCH_LIMIT:
                batch.append(queue.get_nowait())
            notes = [item for item in batch if isinstance(item, Notification)]
            for message in batch_messages(notes):
                post(message)
            ended = [item for item in batch if not isinstance(item, Notification)]
            if ended:
                if isinstance(ended[0], BaseException):
                    raise ended[0]
                return
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        close = getattr(subscription, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
