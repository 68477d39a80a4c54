"""`orc emit -`: events read from stdin as JSON Lines, sent to the daemon in batches.

One event per line, as `emit_event` takes it: `{"event": "acme.file.arrived",
"resource": {"orc.resource.id": "acme.bucket.raw"}, "payload": {...}}`; a
`resource` may also be given as just its id. Lines are checked as they are
read, so a bad line is named by its number; the batches before it are
already stored (the error says how many events that was).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.client import Client

#: Events per request: large enough that a round trip costs little per event.
BATCH = 1000

_EXAMPLE = '{"event": "acme.file.arrived", "resource": {"orc.resource.id": "acme.bucket.raw"}}'


def emit_lines(client: Client, lines: Iterable[str]) -> int:
    """Emit every event of `lines` (blank lines skipped), in order; returns how many."""
    from orchestrate.core.errors import ParameterError

    sent = 0
    batch: list[dict[str, Any]] = []
    try:
        for event in _events(lines):
            batch.append(event)
            if len(batch) == BATCH:
                client.emit_events(batch)
                sent, batch = sent + len(batch), []
    except ParameterError as error:
        done = f"; the {sent} events before it were emitted" if sent else "; nothing was emitted"
        raise ParameterError(f"{error}{done}.") from None
    if batch:
        client.emit_events(batch)
        sent += len(batch)
    return sent


def _events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield _event(number, line)


def _event(number: int, line: str) -> dict[str, Any]:
    """One line as `events.emit` params, or a `ParameterError` naming the line and the fix."""
    from pydantic import ValidationError

    from orchestrate.client.protocol import EventsEmitParams
    from orchestrate.core.errors import ParameterError

    where = f"stdin line {number}"
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        raise ParameterError(
            f"{where} is not a JSON object; write one per line like {_EXAMPLE}"
        ) from None
    if not isinstance(data, dict):
        raise ParameterError(f"{where} is not a JSON object; write one per line like {_EXAMPLE}")
    if isinstance(data.get("resource"), str):
        data["resource"] = {"orc.resource.id": data["resource"]}
    try:
        EventsEmitParams.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(p) for p in problem["loc"]) or "the event"
        raise ParameterError(f"{where}: {field}: {problem['msg']}; e.g. {_EXAMPLE}") from None
    return data
