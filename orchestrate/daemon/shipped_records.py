"""Records a flow run in another process ships over the socket, checked before they are stored.

Plain Python flows run while the daemon is up send their records as `records`
notifications. Each record is checked against its wire model on its own: one
that does not fit is left out and logged, since left in it would fail the
writer's whole batch, other clients' records included. The project's secrets
are masked in them, as a worker masks its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from orchestrate.client import protocol
from orchestrate.core import secrets
from orchestrate.daemon.rpc_wire import RpcError

if TYPE_CHECKING:
    from orchestrate.core.records import Record

log = logging.getLogger("orc.daemon")


def take_records(
    params: dict[str, Any], connection: Any, put_many: Callable[[list[Record]], object]
) -> list[Record]:
    """Decode the records that fit and hand them to `put_many` (the daemon's); returns them."""
    from orchestrate.core.record_codec import decode_records

    fitting = [
        item for n, item in enumerate(params.get("records") or []) if _fits(n, item, connection)
    ]
    masker = secrets.current()
    if masker and fitting:  # a flow in another process does not know the project's secrets
        fitting = json.loads(masker.line(json.dumps(fitting).encode()))
    try:
        records = decode_records(fitting)
    except ValueError as exc:  # a record that fits its model but not its decoder
        raise RpcError(protocol.INVALID_PARAMS, str(exc)) from None
    put_many(records)
    return records


def _fits(position: int, item: Any, connection: Any) -> bool:
    """Whether a shipped record can be stored; one that cannot is left out, and logged.

    Left in, it would fail the writer's whole batch, other clients' records included.
    """
    kind, fields = item
    model = protocol.RECORD_FIELDS.get(kind)
    if model is None:
        return True  # a kind from a newer orc: decode_records skips it
    try:
        model.model_validate(fields)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        log.warning(
            "left out record %d (%s) from %r: %s: %s",
            position,
            kind,
            connection,
            where,
            problem["msg"],
        )
        return False
    return True
