"""From a line a client sent to the handler that answers it, and the reply line back.

The server reads lines and hands each here. Requests run as tasks of their
connection, so a slow one does not hold up the next; notifications (a worker's
`records`) are handled in order in the read loop, so a flooding worker is
slowed down rather than buffered. A connection says `hello` before anything
else, and every failure becomes a JSON-RPC error that says what went wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from orchestrate._version import __version__
from orchestrate.client import protocol
from orchestrate.daemon import rpc_wire as wire
from orchestrate.daemon.rpc_connection import Connection
from orchestrate.daemon.rpc_emit_batch import checked_batch
from orchestrate.daemon.rpc_wire import RpcError

log = logging.getLogger("orc.daemon.server")

Handler = Callable[[dict[str, Any], Connection], Awaitable[Any]]

_NOT_AN_OBJECT = "a message must be a JSON object"

#: Methods with a quicker check of their params than their model's, with the same answers.
_QUICK_CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    protocol.Method.EVENTS_EMIT_MANY: checked_batch,
}


class Dispatcher:
    """The method table of the socket: `hello`, the server's own methods, then the daemon's.

    Args:
        handlers: the daemon's methods; the only ones a notification may call.
        builtin: the server's own methods (subscriptions), found before the daemon's.
        hello: builds the `protocol.Hello` a new connection is greeted with.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        builtin: Mapping[str, Handler],
        hello: Callable[[], protocol.Hello],
    ) -> None:
        self._handlers = dict(handlers)
        self._builtin = dict(builtin)
        self._hello = hello

    async def receive(self, connection: Connection, line: bytes) -> None:
        """Handle one line: a request, a notification, or a batch of them."""
        try:
            message = json.loads(line)
        except (ValueError, RecursionError) as error:
            connection.send(wire.error_line(None, protocol.PARSE_ERROR, wire.not_json(error)))
            return
        if isinstance(message, list):
            await connection.run(self._batch(connection, message))
        elif isinstance(message, dict) and "id" not in message:
            await self._notified(connection, message)
        elif isinstance(message, dict):
            await connection.run(self._reply(connection, message))
        else:
            connection.send(wire.error_line(None, protocol.INVALID_REQUEST, _NOT_AN_OBJECT))

    async def _reply(self, connection: Connection, message: dict[str, Any]) -> None:
        connection.send(await self._answer(connection, message))

    async def _batch(self, connection: Connection, messages: list[Any]) -> None:
        """A JSON-RPC batch: the members run together, the replies go back as one array."""
        if not messages:
            connection.send(wire.error_line(None, protocol.INVALID_REQUEST, "an empty batch"))
            return
        replies = []
        for message in messages:
            if isinstance(message, dict) and "id" not in message:
                await self._notified(connection, message)
            elif isinstance(message, dict):
                replies.append(self._answer(connection, message))
            else:
                invalid = wire.error_line(None, protocol.INVALID_REQUEST, _NOT_AN_OBJECT)
                replies.append(_ready(invalid))
        lines = await asyncio.gather(*replies)
        if lines:
            connection.send(b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]\n")

    async def _answer(self, connection: Connection, message: dict[str, Any]) -> bytes:
        """The reply line to one request: its result, or its error."""
        request_id = message.get("id")
        method = message.get("method")
        problem = wire.envelope_problem(message)
        if problem is not None:
            return wire.error_line(wire.valid_id(request_id), protocol.INVALID_REQUEST, problem)
        try:
            return wire.result_line(request_id, await self._call(connection, method, message))
        except RpcError as error:
            return wire.error_line(request_id, error.code, error.message, error.data)
        except ValidationError as error:
            text = f"bad params for `{method}`: {wire.first_problem(error)}"
            return wire.error_line(request_id, protocol.INVALID_PARAMS, text)
        except Exception as error:
            log.exception("`%s` from %r failed", method, connection)
            text = f"`{method}` failed inside the daemon ({type(error).__name__}: {wire.first_line(error)}); see the daemon's log"
            return wire.error_line(request_id, protocol.INTERNAL_ERROR, text)

    async def _call(self, connection: Connection, method: Any, message: dict[str, Any]) -> Any:
        params = message.get("params")
        if not isinstance(method, str):
            raise RpcError(protocol.INVALID_REQUEST, "a request needs a `method` string")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise RpcError(protocol.INVALID_PARAMS, f"`{method}` takes params by name (an object)")
        if method == protocol.Method.HELLO:
            return self._greet(connection, params)
        if not connection.handshaken:
            raise RpcError(
                protocol.NOT_HANDSHAKEN,
                f"{wire.quoted(method)} before `hello`: a connection starts with `hello` "
                f"(protocol {protocol.PROTOCOL_VERSION})",
            )
        return await self._handler(method)(_checked(method, params), connection)

    def _handler(self, method: str) -> Handler:
        handler = self._builtin.get(method) or self._handlers.get(method)
        if handler is None:
            known = ", ".join(sorted({"hello", *self._builtin, *self._handlers}))
            raise RpcError(
                protocol.METHOD_NOT_FOUND,
                f"this orc daemon has no method {wire.quoted(method)} (it has: {known})",
            )
        return handler

    def _greet(self, connection: Connection, params: dict[str, Any]) -> protocol.Hello:
        params = protocol.checked_params(protocol.Method.HELLO, params)
        theirs = params.get("protocol")
        ours = protocol.PROTOCOL_VERSION
        if theirs != ours:
            raise RpcError(
                protocol.VERSION_MISMATCH,
                f"this orc daemon (orc {__version__}) speaks protocol {ours} and the client "
                f"speaks {theirs}; run the same orc version on both sides: upgrade the older "
                "one, then restart the daemon (`orc up`) if it was the daemon",
                {"daemon": ours, "client": theirs},
            )
        connection.handshaken = True
        connection.client = str(params.get("client") or "") or None
        return self._hello()

    async def _notified(self, connection: Connection, message: dict[str, Any]) -> None:
        """A notification: handled in order, answered never, its failures only logged."""
        method = message.get("method")
        handler = self._handlers.get(method) if isinstance(method, str) else None
        params = message.get("params")
        if message.get("jsonrpc") != "2.0":
            log.warning("ignored a notification from %r: it does not say jsonrpc 2.0", connection)
            return
        if handler is None or not connection.handshaken or not isinstance(params, dict):
            log.warning(
                "ignored notification %s from %r (unknown, bad params, or before hello)",
                wire.short(method),
                connection,
            )
            return
        assert isinstance(method, str)  # a handler was found by it
        try:
            params = _checked(method, params)
        except ValidationError as error:
            log.warning(
                "ignored notification `%s` from %r: %s",
                method,
                connection,
                wire.first_problem(error),
            )
            return
        await _notify(handler, params, connection, method)


async def _notify(
    handler: Handler, params: dict[str, Any], connection: Connection, method: str
) -> None:
    """Run a notification's handler; what it raises is logged, as nobody waits for an answer."""
    try:
        await handler(params, connection)
    except RpcError as error:  # a refusal, as a request would have been told
        log.warning("notification `%s` from %r refused: %s", method, connection, error.message)
    except Exception:
        log.exception("notification `%s` from %r failed", method, connection)


async def _ready(line: bytes) -> bytes:
    return line


def _checked(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked as `protocol.checked_params` checks them (raises its `ValidationError`)."""
    quick = _QUICK_CHECKS.get(method)
    return protocol.checked_params(method, params) if quick is None else quick(params)
