"""The three kinds of schedule as pydantic models, and `Schedule`, the union flows.toml uses."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from orchestrate.core.durations import parse_duration
from orchestrate.schedules.cron import validate_cron
from orchestrate.schedules.rrule import parse_rrule, validate_rrule
from orchestrate.schedules.wallclock import checked_timezone

SCHEDULE_KINDS = ("cron", "interval", "rrule")


def _json_ready(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters travel as JSON to the worker, the store and the wire: no nan or inf in them."""
    stack: list[tuple[str, Any]] = list(parameters.items())
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(
                f"{where} is {value}, which JSON cannot carry; parameters reach the flow as JSON, "
                "so give a finite number (or text, and convert it in the flow)"
            )
        if isinstance(value, dict):
            stack += [(f"{where}.{key}", item) for key, item in value.items()]
        elif isinstance(value, list):
            stack += [(f"{where}[{index}]", item) for index, item in enumerate(value)]
    return parameters


#: A `parameters` table: names to values, every number finite.
Parameters = Annotated[dict[str, Any], AfterValidator(_json_ready)]


class _ScheduleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    kind: ClassVar[Literal["cron", "interval", "rrule"]]

    timezone: str | None = Field(
        None, description="IANA timezone of this schedule; default: the deployment's timezone."
    )
    parameters: Parameters = Field(
        default_factory=dict,
        description="Parameter overrides for runs from this schedule (merged over the deployment's).",
    )
    active: bool = Field(True, description="false keeps the schedule but creates no runs from it.")

    _known_timezone = field_validator("timezone")(checked_timezone)


class CronSchedule(_ScheduleBase):
    """Runs at the wall-clock times a cron expression names, in the schedule's timezone."""

    kind: ClassVar[Literal["cron"]] = "cron"

    # day_or comes first so that the check of `cron` can see it.
    day_or: bool = Field(
        True,
        description="With both day fields set: true runs on either (cron's rule), false only on both.",
    )
    cron: str = Field(
        description='Five fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *", or @daily.'
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str, info: ValidationInfo) -> str:
        return validate_cron(value, info.data.get("day_or", True))


def _interval_value(value: Any) -> timedelta:
    delta = value if isinstance(value, timedelta) else parse_duration(value)
    if delta < timedelta(seconds=1):
        raise ValueError(f"an interval must be at least 1 second, not {value!r}")
    return delta


def _anchor_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{json.dumps(value)} is not a date and time; write it like "
            '"2026-01-01T00:00:00" (in the schedule\'s timezone) or with an offset'
        ) from None


#: Anchors must fall in these years: a grid through one, in any timezone and with any
#: interval, then stays inside what a datetime can hold.
ANCHOR_YEARS = (1900, 9000)


def _anchor_in_range(value: datetime | None) -> datetime | None:
    if value is not None and not ANCHOR_YEARS[0] <= value.year <= ANCHOR_YEARS[1]:
        raise ValueError(
            f'"{value.isoformat()}" is out of range; give an anchor between the years '
            f'{ANCHOR_YEARS[0]} and {ANCHOR_YEARS[1]}, like "2026-01-01T00:00:00"'
        )
    return value


Interval = Annotated[
    timedelta,
    BeforeValidator(_interval_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "examples": ["90s", "15m", "1h30m", "2d", "PT15M"]},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": 'How often: "90s", "15m", "1h", "2d", ISO 8601 "PT15M", or seconds.',
        }
    ),
]


class IntervalSchedule(_ScheduleBase):
    """Runs every `interval`, on a grid through `anchor`."""

    kind: ClassVar[Literal["interval"]] = "interval"

    interval: Interval
    anchor: Annotated[
        datetime | None,
        BeforeValidator(_anchor_value),
        AfterValidator(_anchor_in_range),
        WithJsonSchema({"type": "string", "examples": ["2026-01-01T00:00:00"]}),
    ] = Field(
        None,
        description="A time the grid passes through (naive: in the schedule's timezone). "
        "Default 2020-01-01T00:00:00.",
    )

    @property
    def whole_days(self) -> int:
        """The interval in days if it is a whole number of them (kept on the wall clock), else 0."""
        days, rest = divmod(self.interval, timedelta(days=1))
        return int(days) if not rest else 0


class RRuleSchedule(_ScheduleBase):
    """Runs at the times an RFC 5545 recurrence rule names."""

    kind: ClassVar[Literal["rrule"]] = "rrule"

    rrule: str = Field(
        description='RFC 5545 rule, e.g. "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0"; '
        "DTSTART (optional) may carry a TZID."
    )

    _valid_rrule = field_validator("rrule")(validate_rrule)

    @model_validator(mode="after")
    def _one_timezone(self) -> RRuleSchedule:
        named = parse_rrule(self.rrule).timezone
        if named and self.timezone and named != self.timezone:
            raise ValueError(
                f'the rrule\'s DTSTART is in "{named}" but timezone is "{self.timezone}"; '
                "keep one of them"
            )
        return self


AnySchedule = CronSchedule | IntervalSchedule | RRuleSchedule


def _schedule_shape(value: Any) -> Any:
    """Refuse a table that is not exactly one kind of schedule, naming what it has."""
    if not isinstance(value, dict):
        return value
    kinds = [kind for kind in SCHEDULE_KINDS if kind in value]
    if len(kinds) == 1:
        return value
    example = 'like { cron = "0 2 * * *" } or { interval = "15m" }'
    if kinds:
        raise ValueError(
            f"a schedule has exactly one of cron, interval or rrule; this one has {' and '.join(kinds)}; "
            "split it into one schedule per kind"
        )
    raise ValueError(f"a schedule needs one of cron, interval or rrule, {example}")


def _schedule_tag(value: Any) -> str | None:
    if isinstance(value, _ScheduleBase):
        return f"<{value.kind}>"
    if isinstance(value, dict):
        return next((f"<{kind}>" for kind in SCHEDULE_KINDS if kind in value), None)
    return None


#: One schedule table of a deployment; pydantic picks the model by its key.
#: The `<kind>` tags show up in validation error locations; `orchestrate.config` drops them.
Schedule = Annotated[
    Annotated[CronSchedule, Tag("<cron>")]
    | Annotated[IntervalSchedule, Tag("<interval>")]
    | Annotated[RRuleSchedule, Tag("<rrule>")],
    Discriminator(
        _schedule_tag,
        custom_error_type="schedule_kind",
        custom_error_message="a schedule is a table with one of cron, interval or rrule",
    ),
    BeforeValidator(_schedule_shape),
]


def schedule_timezone(schedule: AnySchedule, default_tz: str = "UTC") -> str:
    """The timezone the schedule's times are computed in (an rrule's DTSTART;TZID wins)."""
    if isinstance(schedule, RRuleSchedule):
        named = parse_rrule(schedule.rrule).timezone
        if named:
            return named
    return schedule.timezone or default_tz
