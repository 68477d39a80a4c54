"""The protocol version and the JSON-RPC error codes, as plain constants.

Kept apart from the pydantic models of `orchestrate.client.protocol` (which
re-exports them) so that reading the wire, as `orchestrate.client.plain`
does for quick commands, needs no pydantic.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1

# JSON-RPC error codes: the standard ones, then orc's (-32000 and below).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
VERSION_MISMATCH = -32000
NOT_FOUND = -32001  # unknown deployment, run, automation
BAD_INPUT = -32002  # parameters that do not validate, a bad value
CONFLICT = -32003  # e.g. cancelling a run that already finished
NOT_HANDSHAKEN = -32004  # a request before `hello`


def check_protocol(version: object, address: object) -> None:
    """Refuse a daemon that speaks another protocol (it refuses first when it knows)."""
    if version != PROTOCOL_VERSION:
        from orchestrate.core.errors import ProtocolMismatch

        raise ProtocolMismatch(
            f"the orc daemon at {address} speaks protocol {version} and this client "
            f"{PROTOCOL_VERSION}; use the same orc version on both sides"
        )
