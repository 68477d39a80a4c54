"""JSON-RPC 2.0 lines as the client writes and reads them, and daemon errors as exceptions."""

from __future__ import annotations

import json
from typing import Any

from orchestrate.client import codes
from orchestrate.core.errors import (
    BadInput,
    Conflict,
    DaemonTimeout,
    NotFound,
    ProtocolMismatch,
    RemoteError,
)

#: Lines can be large: the detail of a run with thousands of task runs is one line.
LINE_LIMIT = 64 * 2**20

_ERRORS: dict[int, type[RemoteError]] = {
    codes.NOT_FOUND: NotFound,
    codes.BAD_INPUT: BadInput,
    codes.INVALID_PARAMS: BadInput,
    codes.CONFLICT: Conflict,
}


def request(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    """One request line."""
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return _line(message)


def notification(method: str, params: dict[str, Any]) -> bytes:
    """One notification line: no id, so the daemon sends no reply."""
    return _line({"jsonrpc": "2.0", "method": method, "params": params})


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """A line from the daemon as a dict (a non-object line reads as an empty one)."""
    message = json.loads(line)
    return message if isinstance(message, dict) else {}


def result(reply: dict[str, Any]) -> Any:
    """The result of a reply, or its error raised as the matching `RemoteError`."""
    error = reply.get("error")
    if error is None:
        return reply.get("result")
    raise remote_error(error)


def remote_error(error: Any) -> Exception:
    """A JSON-RPC error object as an exception: `NotFound`, `BadInput`, `Conflict`, …"""
    if not isinstance(error, dict):
        return RemoteError(codes.INTERNAL_ERROR, f"the daemon sent a malformed error: {error!r}")
    code = error.get("code", codes.INTERNAL_ERROR)
    message = str(error.get("message", "the daemon gave no message"))
    if code == codes.VERSION_MISMATCH:
        return ProtocolMismatch(message)
    return _ERRORS.get(code, RemoteError)(code, message, error.get("data"))


def timed_out(address: object, method: str, timeout: float | None) -> DaemonTimeout:
    """What a request that got no answer in time raises, in either client."""
    return DaemonTimeout(
        f"the orc daemon at {address} did not answer `{method}` within {timeout:g} s; "
        "it may be busy or stuck (see its log), or wait longer (a larger timeout)"
    )


def given(**params: Any) -> dict[str, Any]:
    """The params that were given: None means "not asked", so it is not sent."""
    return {name: value for name, value in params.items() if value is not None}
