"""Helpers for schedule tests: build a schedule from its TOML table, write UTC times briefly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from orchestrate.schedules import AnySchedule, Schedule

_ADAPTER: TypeAdapter[AnySchedule] = TypeAdapter(Schedule)


def schedule(**table: Any) -> AnySchedule:
    """The schedule a `schedules = [{ ... }]` table in flows.toml makes."""
    return _ADAPTER.validate_python(table)


def utc(text: str) -> datetime:
    """`utc("2026-03-29 01:00")`: an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stamps(times: list[datetime]) -> list[str]:
    """UTC times as "YYYY-MM-DD HH:MM" (or with seconds), for readable assertions."""
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in times)
    return [t.strftime("%Y-%m-%d %H:%M:%S" if t.second else "%Y-%m-%d %H:%M") for t in times]
