"""JSON-RPC 2.0 lines as the client writes and reads them, and daemon errors as exceptions."""

from __future__ import annotations

import json
from typing import Any

from orchestrate.client import protocol
from orchestrate.core.errors import BadInput, Conflict, NotFound, ProtocolMismatch, RemoteError

#: Lines can be large: the detail of a run with thousands of task runs is one line.
LINE_LIMIT = 64 * 2**20

_ERRORS: dict[int, type[RemoteError]] = {
    protocol.NOT_FOUND: NotFound,
    protocol.BAD_INPUT: BadInput,
    protocol.INVALID_PARAMS: BadInput,
    protocol.CONFLICT: Conflict,
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
        return RemoteError(protocol.INTERNAL_ERROR, f"the daemon sent a malformed error: {error!r}")
    code = error.get("code", protocol.INTERNAL_ERROR)
    message = str(error.get("message", "the daemon gave no message"))
    if code == protocol.VERSION_MISMATCH:
        return ProtocolMismatch(message)
    return _ERRORS.get(code, RemoteError)(code, message, error.get("data"))
