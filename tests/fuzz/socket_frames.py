"""Frames for fuzzing the daemon's socket: valid requests for every method, then broken ones.

`Frames(seed).next()` gives one input: the bytes to send and its kind (what
was done to it), so a run can be replayed from its seed and counted by kind.
Every frame ends with a newline; a frame cut short is sent on a connection of
its own that is then closed (`cut`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import tempfile
from dataclasses import dataclass
from typing import Any

from orchestrate.client import protocol
from orchestrate.client.protocol import Method

#: A valid params object per method; none of them starts a flow run or changes a deployment.
#: Where the methods that write files may write them.
_SCRATCH = os.path.join(tempfile.gettempdir(), "orc-fuzz-files")

VALID: dict[str, dict[str, Any]] = {
    Method.HELLO: {"protocol": protocol.PROTOCOL_VERSION, "client": "fuzz"},
    Method.STATUS: {},
    Method.DEPLOYMENTS_LIST: {},
    Method.DEPLOYMENTS_GET: {"name": "tiny"},
    Method.DEPLOYMENTS_PAUSE: {"name": "no-such-deployment"},
    Method.DEPLOYMENTS_RESUME: {"name": "tiny"},
    Method.RUNS_LIST: {"limit": 5, "state": "Failed"},
    Method.RUNS_GET: {"id": "no-such-run"},
    Method.RUNS_LOGS: {"id": "no-such-run", "after": 0.0, "limit": 5, "level": 20},
    Method.RUNS_LOG_PAGE: {"id": "no-such-run", "size": 5},
    Method.RUNS_CREATE: {"deployment": "no-such-deployment", "parameters": {"x": 1}},
    Method.RUNS_CANCEL: {"id": "no-such-run"},
    Method.RUNS_RETRY: {"id": "no-such-run"},
    Method.RUNS_RESUME: {"id": "no-such-run", "run_input": {"approved": True}},
    Method.RUNS_PAUSE: {"id": "no-such-run"},
    Method.EVENTS_LIST: {"name": "fuzz.*", "resource": "*", "since": 0.0, "limit": 5},
    Method.EVENTS_EMIT: {
        "event": "fuzz.event",
        "resource": {"orc.resource.id": "fuzz"},
        "payload": {"n": 1},
        "related": [{"orc.resource.id": "other"}],
    },
    Method.EVENTS_EMIT_MANY: {
        "events": [{"event": "fuzz.batch", "resource": {"orc.resource.id": "fuzz"}}]
    },
    Method.AUTOMATIONS_LIST: {},
    Method.AUTOMATIONS_GET: {"name": "watch"},
    Method.AUTOMATIONS_PAUSE: {"name": "no-such-automation"},
    Method.AUTOMATIONS_RESUME: {"name": "watch"},
    Method.SUBSCRIBE: {"topics": ["status"]},
    Method.UNSUBSCRIBE: {"subscription": 999_999},
    Method.RECORDS: {"records": []},
    Method.SQL_QUERY: {"sql": "SELECT count(*) FROM flow_runs", "limit": 5, "timeout": 5.0},
    Method.SQL_COPY: {"sql": "SELECT 1", "path": _SCRATCH + "/one.csv", "format": "csv"},
    Method.SQL_SCHEMA: {},
    Method.SQL_SPOOL: {"sql": "SELECT 1", "timeout": 5.0},
    Method.STORE_BACKUP: {"path": _SCRATCH + "/orc.backup"},
    Method.RUNS_PRUNE: {"older_than": 1e9, "dry_run": True},
    Method.RUNS_BACKFILL: {
        "deployment": "tiny",
        "start": 1.7e9,
        "end": 1.7e9 + 0.001,
        "dry_run": True,
    },
}
#: `shutdown` is left out: it would end the daemon under fuzz (tests/daemon/test_down_detach.py).
NOT_FUZZED = {Method.NOTIFY, Method.SHUTDOWN}
assert set(VALID) == {m.value for m in Method} - NOT_FUZZED, "a method has no fuzz input"


_STATE = {"type": "COMPLETED", "name": "Completed", "timestamp": 1.7e9}
#: One record of each kind, as a worker ships them (for runs no one else knows).
RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("flow_run", {"id": "fuzz-run", "name": "fuzz", "flow_name": "fuzz", "parameters": {},
                  "state": _STATE, "created": 1.7e9, "tags": [], "run_count": 1}),
    ("task_run", {"id": "fuzz-task", "flow_run_id": "fuzz-run", "name": "t", "task_key": "t",
                  "dynamic_key": 0, "state": _STATE, "created": 1.7e9, "kind": "task"}),
    ("state", {"run_id": "fuzz-run", "flow_run_id": "fuzz-run", "is_task": False,
               "state": _STATE}),
    ("edge", {"flow_run_id": "fuzz-run", "task_run_id": "fuzz-task", "upstream_id": "u",
              "kind": "data"}),
    ("log", {"flow_run_id": "fuzz-run", "ts": 1.7e9, "level": 20, "logger": "fuzz",
             "message": "hello"}),
    ("event", {"id": "fuzz-shipped", "occurred": 1.7e9, "event": "fuzz.shipped",
               "resource": {"orc.resource.id": "fuzz"}}),
]  # fmt: skip


def _deep(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308,
    float("nan"), float("inf"), "", " ", "x" * 5000, "\u0000", "\ud83d\ude00", "../../etc/passwd",
    "'; DROP TABLE events; --", "*", "[", [], {}, [1, 2], [None], {"a": None}, {"": ""},
    {"orc.resource.id": 5}, [{"orc.resource.id": 1}], _deep(40), _deep(400),
]  # fmt: skip


@dataclass(frozen=True)
class Frame:
    kind: str
    data: bytes
    expects_reply: bool  # a request with a usable id (or a frame the server must answer)
    request_id: int | None = None  # the id it was sent with, when it has one


class Frames:
    """A seeded source of frames, from well-formed to garbage."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self._ids = iter(range(1, 10**12))
        self.last_id: int | None = None
        self._makers = [
            (12, self.bad_params), (4, self.valid), (3, self.odd_params), (2, self.odd_envelope),
            (2, self.notification), (2, self.mangled), (1, self.garbage), (1, self.not_an_object),
            (1, self.batch), (1, self.unknown_method), (1, self.huge), (3, self.records),
        ]  # fmt: skip
        self._weights = [weight for weight, _ in self._makers]

    def next(self) -> Frame:
        (maker,) = self.random.choices([m for _, m in self._makers], self._weights)
        self.last_id = None
        frame: Frame = maker()
        return dataclasses.replace(frame, request_id=self.last_id)

    # -- building blocks -------------------------------------------------------------

    def method(self) -> str:
        return self.random.choice(sorted(VALID))

    def request(
        self, method: str, params: Any, envelope: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.last_id = next(self._ids)
        message = {"jsonrpc": "2.0", "id": self.last_id, "method": method, "params": params}
        return {**message, **(envelope or {})}

    def line(self, message: Any) -> bytes:
        return json.dumps(message).encode() + b"\n"

    def odd(self) -> Any:
        return self.random.choice(ODD_VALUES)

    # -- frame makers ----------------------------------------------------------------

    def valid(self) -> Frame:
        method = self.method()
        return Frame(f"valid:{method}", self.line(self.request(method, VALID[method])), True)

    def bad_params(self) -> Frame:
        """One field of a valid params object replaced, dropped, or joined by another."""
        method = self.method()
        params = dict(VALID[method])
        action = self.random.choice(["replace", "drop", "add"] if params else ["add"])
        if action == "replace":
            params[self.random.choice(sorted(params))] = self.odd()
        elif action == "drop":
            params.pop(self.random.choice(sorted(params)))
        else:
            params[self.random.choice(["limit", "id", "name", "x", "payload", "since"])] = (
                self.odd()
            )
        return Frame(f"params-{action}:{method}", self.line(self.request(method, params)), True)

    def odd_params(self) -> Frame:
        """Params that are not an object at all."""
        method = self.method()
        params = self.random.choice([[1, 2], "params", 5, True, [VALID[method]]])
        return Frame(f"params-not-object:{method}", self.line(self.request(method, params)), True)

    def odd_envelope(self) -> Frame:
        method = self.method()
        field, value = self.random.choice([
            ("jsonrpc", "1.0"), ("jsonrpc", 2), ("jsonrpc", None), ("id", {"a": 1}), ("id", [1]),
            ("id", 1.5), ("id", True), ("id", None), ("id", "text-id"), ("method", 7),
            ("method", None), ("method", ""), ("method", method.upper()),
        ])  # fmt: skip
        message = self.request(method, VALID[method], {field: value})
        return Frame(f"envelope-{field}", self.line(message), True)

    def notification(self) -> Frame:
        method = self.method()
        params = self.random.choice([VALID[method], {"records": self.odd()}, {"name": self.odd()}])
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        return Frame(f"notification:{method}", self.line(message), False)

    def mangled(self) -> Frame:
        """A valid request with bytes cut, flipped or inserted."""
        data = bytearray(self.line(self.request(self.method(), VALID[self.method()]))[:-1])
        action = self.random.choice(["cut", "flip", "insert"])
        position = self.random.randrange(len(data))
        if action == "cut":
            del data[position:]
        elif action == "flip":
            data[position] = self.random.randrange(256)
        else:
            data[position:position] = self.random.randbytes(self.random.randint(1, 8))
        data = data.replace(b"\n", b" ")
        if action == "cut" and self.random.random() < 0.3:
            return Frame("cut-connection", bytes(data), False)
        return Frame(f"mangled-{action}", bytes(data) + b"\n", False)

    def garbage(self) -> Frame:
        data = self.random.randbytes(self.random.randint(1, 300)).replace(b"\n", b"")
        return Frame("garbage", data + b"\n", False)

    def not_an_object(self) -> Frame:
        value = self.random.choice([42, "text", None, True, [1, 2], [], [[]], 1e400])
        return Frame("not-an-object", json.dumps(value).encode() + b"\n", True)

    def batch(self) -> Frame:
        members = [self.request(self.method(), VALID[self.method()]) for _ in range(3)]
        members.append(self.random.choice([42, "x", {"method": "status"}, []]))
        return Frame("batch", self.line(members), True)

    def unknown_method(self) -> Frame:
        method = self.random.choice(["runs.frobnicate", "", "x" * 300, "__init__", "STATUS"])
        return Frame("unknown-method", self.line(self.request(method, {})), True)

    def records(self) -> Frame:
        """A worker's `records` notification with one field of one record made odd."""
        records = [[kind, dict(fields)] for kind, fields in RECORDS]
        kind, fields = self.random.choice(records)
        fields[self.random.choice(sorted(fields))] = self.odd()
        message = {"jsonrpc": "2.0", "method": "records", "params": {"records": records}}
        return Frame(f"records:{kind}", self.line(message), False)

    def huge(self) -> Frame:
        method = self.random.choice([Method.EVENTS_EMIT, Method.RUNS_LIST, Method.RUNS_GET])
        params = {**VALID[method], "padding": "y" * self.random.randint(100_000, 2_000_000)}
        return Frame(f"huge:{method}", self.line(self.request(method, params)), True)
