"""Who asked to be pushed what, and the fan-out of one change to them.

`publish` is called for every change the daemon makes, so it never waits and
encodes a change once, only when someone listens. Subscriptions are indexed by
topic so a change reaches its subscribers without a scan of every connection.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, get_args

from orchestrate.client import protocol
from orchestrate.daemon.rpc_connection import Connection
from orchestrate.daemon.rpc_wire import NOTIFY_LINE, RpcError, encode

log = logging.getLogger("orc.daemon.server")

TOPICS = frozenset(get_args(protocol.Topic))


@dataclass(eq=False)
class Subscription:
    """What one connection asked to be pushed: topics, and optionally one run or an event glob."""

    id: int
    connection: Connection
    topics: frozenset[str]
    flow_run_id: str | None = None
    event: str | None = None

    def wants(self, flow_run_id: str | None, event: str | None) -> bool:
        if self.flow_run_id is not None and flow_run_id != self.flow_run_id:
            return False
        return self.event is None or (event is not None and fnmatchcase(event, self.event))


class Subscriptions:
    """Every connection's subscriptions, by topic; `subscribe` and `unsubscribe` are methods."""

    def __init__(self) -> None:
        self._by_topic: dict[str, dict[int, Subscription]] = {topic: {} for topic in TOPICS}
        self._ids = itertools.count(1)

    def publish(
        self, topic: str, data: Any, *, flow_run_id: str | None = None, event: str | None = None
    ) -> int:
        """Push `data` as a `notify` to every subscription that wants it; returns how many."""
        encoded: tuple[bytes, bytes] | None = None
        sent = 0
        for subscription in self._by_topic.get(topic, {}).values():
            if not subscription.wants(flow_run_id, event):
                continue
            if encoded is None:
                try:
                    encoded = (json.dumps(topic).encode(), encode(data).encode())
                except (TypeError, ValueError):
                    log.exception("cannot publish %s: its data is not JSON", topic)
                    return 0
            line = NOTIFY_LINE % (subscription.id, *encoded)
            sent += subscription.connection.push(line)
        return sent

    def listening(self, topic: str) -> bool:
        """Whether any subscription wants `topic` (so a costly push is built only for someone)."""
        return bool(self._by_topic.get(topic))

    async def subscribe(self, params: dict[str, Any], connection: Connection) -> dict[str, int]:
        """Params checked by `protocol.SubscribeParams` before this is called."""
        number = next(self._ids)
        subscription = Subscription(
            number,
            connection,
            frozenset(params["topics"]),
            params.get("flow_run_id"),
            params.get("event"),
        )
        connection.subscriptions[number] = subscription
        for topic in subscription.topics:
            self._by_topic[topic][number] = subscription
        return {"subscription": number}

    async def unsubscribe(self, params: dict[str, Any], connection: Connection) -> dict[str, Any]:
        subscription = connection.subscriptions.pop(params["subscription"], None)
        if subscription is None:
            raise RpcError(
                protocol.NOT_FOUND, f"no subscription {params.get('subscription')!r} here"
            )
        self._unindex(subscription)
        return {}

    def forget(self, connection: Connection) -> None:
        """Drop every subscription of a connection that ended."""
        for subscription in connection.subscriptions.values():
            self._unindex(subscription)
        connection.subscriptions.clear()

    def _unindex(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            self._by_topic[topic].pop(subscription.id, None)
