"""The lines the API server writes, and the words it uses for a message it cannot take.

Kept apart from the socket and the dispatch so that replies, pushes and error
texts are built one way, wherever in the server they are sent from.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from pydantic import BaseModel, ValidationError

log = logging.getLogger("orc.daemon.server")

NOTIFY_LINE = (
    b'{"jsonrpc":"2.0","method":"notify","params":{"subscription":%d,"topic":%b,"data":%b}}\n'
)


class RpcError(Exception):
    """Raised by a handler to answer with a JSON-RPC error (codes in `orchestrate.client.protocol`)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _jsonable(value: Any) -> Any:
    """What `json.dumps` cannot write by itself: pydantic models, dataclasses, sets."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(value: Any) -> str:
    """`value` as JSON; models are written by pydantic's own (compiled) serializer."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        return "[" + ",".join(v.model_dump_json() for v in value) + "]"
    return json.dumps(value, separators=(",", ":"), default=_jsonable)


def result_line(request_id: Any, result: Any) -> bytes:
    return f'{{"jsonrpc":"2.0","id":{json.dumps(request_id)},"result":{encode(result)}}}\n'.encode()


def error_line(request_id: Any, code: int, message: str, data: Any = None) -> bytes:
    """An error reply line; `data` that is not JSON is left out rather than lose the reply."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    try:
        return message_line({"jsonrpc": "2.0", "id": request_id, "error": error})
    except (TypeError, ValueError):
        log.exception("the data of error %s is not JSON; sent without it", code)
        return error_line(request_id, code, message)


def message_line(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=_jsonable).encode() + b"\n"


def first_problem(error: ValidationError) -> str:
    """`days: Input should be a valid integer` (and how many more), not pydantic's whole report."""
    problems = error.errors()
    if not problems:
        return first_line(error)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "params"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = first["msg"].removeprefix("Value error, ")
    got = "" if first["type"] == "missing" else f"; got {short(first.get('input'))}"
    return f"{where}: {message}{got}{more}"


def short(value: Any, limit: int = 80) -> str:
    """`value` as JSON (its repr if it is not JSON), cut to `limit` characters."""
    try:
        text = json.dumps(value, default=repr)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(name: Any) -> str:
    """A method name in backticks, or as short JSON when it is long or not a string."""
    if isinstance(name, str) and len(name) <= 80 and name.isprintable():
        return f"`{name}`"
    return short(name)


def not_json(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "not JSON this daemon can read: nested too deeply"
    if isinstance(error, UnicodeDecodeError):
        return f"not JSON: not UTF-8 text (byte {error.start})"
    return f"not JSON: {first_line(error)}"


def envelope_problem(message: dict[str, Any]) -> str | None:
    """What makes `message` not a JSON-RPC 2.0 request, if anything."""
    if message.get("jsonrpc") != "2.0":
        return f'a request must say "jsonrpc": "2.0"; got {short(message.get("jsonrpc"))}'
    if valid_id(message.get("id")) is None and message.get("id") is not None:
        return f"a request id must be a string or an integer; got {short(message.get('id'))}"
    return None


def valid_id(request_id: Any) -> str | int | None:
    """The id to echo in a reply: JSON-RPC allows strings and numbers (orc: integers)."""
    if isinstance(request_id, str) or (
        isinstance(request_id, int) and not isinstance(request_id, bool)
    ):
        return request_id
    return None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
