"""The filters of `orc runs ls`: state names checked against orc's, times as `2h` or a date."""

from __future__ import annotations

import time
from datetime import datetime

import typer


def checked_states(states: list[str]) -> tuple[str, ...]:
    """Each state name or type as given, or a usage error naming the ones orc knows."""
    from orchestrate.core.states import STATE_NAMES, StateType

    known = {n.lower() for n in STATE_NAMES} | {t.value.lower() for t in StateType}
    for state in states:
        if state.lower() not in known:
            names = ", ".join([*STATE_NAMES, *(t.value for t in StateType)])
            raise typer.BadParameter(
                f"{state!r} is not a state; use a name or a type: {names}", param_hint="--state"
            )
    return tuple(states)


def moment(value: str | None, option: str) -> float | None:
    """`2h`/`7d` (that long ago) or an ISO date or time (local unless it names a zone), as epoch s."""
    if value is None:
        return None
    from orchestrate.core.durations import parse_duration

    try:
        return time.time() - parse_duration(value).total_seconds()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).astimezone().timestamp()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a duration (2h, 7d) nor a date or time "
            "(2026-12-01, 2026-12-01T08:00)",
            param_hint=option,
        ) from None
