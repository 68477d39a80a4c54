"""Invalid schedules are refused with a message that names the problem and what is allowed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tests.schedules.conftest import schedule


def refusal(**table: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        schedule(**table)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return str(errors[0]["ctx"]["error"]) if "ctx" in errors[0] else errors[0]["msg"]


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("61 * * * *", "minute must be 0-59"),
        ("0 24 * * *", "hour must be 0-23"),
        ("0 0 0 * *", "day of month must be 1-31"),
        ("0 0 * 13 *", "month must be 1-12 or jan-dec"),
        ("0 0 * * 8", "day of week must be 0-7 or sun-sat"),
        ("0 0 * * funday", "day of week must be 0-7 or sun-sat"),
        ("*/0 * * * *", "minute step must be a whole number from 1"),
        ("0 0 * * 1,", "day of week has an empty part"),
        ("* * * *", "it has 4 fields; cron takes 5"),
        ("0 0 * * * *", "it has 6 fields; cron takes 5"),
        ("", "it has 0 fields"),
    ],
)
def test_a_bad_cron_names_the_field_and_its_range(cron: str, reason: str) -> None:
    message = refusal(cron=cron)
    assert message.startswith(f'"{cron}" is not a valid cron expression (')
    assert reason in message


def test_the_documented_example_message() -> None:
    assert refusal(cron="61 * * * *") == (
        '"61 * * * *" is not a valid cron expression (minute must be 0-59)'
    )


def test_a_cron_that_never_fires_is_refused() -> None:
    assert "never matches a date" in refusal(cron="0 0 30 2 *")
    assert "never matches" in refusal(cron="0 0 31 2 mon", day_or=False)


def test_an_unknown_timezone_suggests_a_close_one() -> None:
    message = refusal(cron="0 2 * * *", timezone="Europe/Berlinn")
    assert message == (
        'unknown timezone "Europe/Berlinn" (did you mean "Europe/Berlin"?); '
        'use an IANA name like "Europe/Berlin" or "UTC"'
    )


@pytest.mark.parametrize(
    ("interval", "reason"),
    [
        ("15 minutes", '"15 minutes" is not a duration'),
        ("0s", "at least 1 second"),
        (0, "at least 1 second"),
        ("P1M", "months or years"),
        (True, "is not a duration"),
    ],
)
def test_a_bad_interval_is_refused(interval: object, reason: str) -> None:
    assert reason in refusal(interval=interval)


def test_a_bad_anchor_is_refused() -> None:
    assert "is not a date and time" in refusal(interval="1h", anchor="tomorrow")


@pytest.mark.parametrize(
    "anchor", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-23:59", datetime(9001, 1, 1)]
)
def test_an_anchor_out_of_range_is_refused_before_planning_overflows(anchor: object) -> None:
    """Year 1 in Europe/Berlin, or 9999 with an offset, overflowed a datetime when the grid was planned."""
    assert "is out of range; give an anchor between the years 1900 and 9000" in refusal(
        interval="1h", anchor=anchor, timezone="Europe/Berlin"
    )


def test_intervals_past_100_years_are_refused() -> None:
    assert '"99999999999d" is too long; a duration is at most 36525d' in refusal(
        interval="99999999999d"
    )
    assert schedule(interval="36525d").interval == timedelta(days=36525)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0 must be a whole number, 1 or more"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL=-1 must be a whole number, 1 or more"),
        (
            "FREQ=YEARLY;INTERVAL=100",
            "INTERVAL=100 is too long; the period may be at most about 100 years",
        ),
        ("FREQ=DAILY;INTERVAL=99999999999999", "INTERVAL=99999999999999 is too long"),
    ],
)
def test_an_rrule_interval_that_breaks_planning_is_refused(rule: str, reason: str) -> None:
    """INTERVAL=0 divided by zero, a huge one overflowed, a negative one walked backwards."""
    assert reason in refusal(rrule=rule)


def test_an_rrule_that_never_fires_is_refused() -> None:
    """dateutil walks to the year 9999 looking for February 31: seconds of a blocked daemon."""
    assert "never matches a date (like February 30)" in refusal(
        rrule="FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31"
    )
    assert "never matches" in refusal(rrule="FREQ=SECONDLY;BYMONTH=4,6;BYMONTHDAY=-31")
    assert schedule(rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29").kind == "rrule"


def test_a_timezone_name_too_long_for_a_path_is_an_unknown_timezone() -> None:
    message = refusal(cron="0 2 * * *", timezone="x" * 5000)
    assert message.startswith(f'unknown timezone "{"x" * 60}..."; use an IANA name')


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=SOMETIMES", "invalid 'FREQ': SOMETIMES"),
        ("BYDAY=MO", "it has no FREQ"),
        (
            "DTSTART;TZID=Mars/Base:20260101T000000\nRRULE:FREQ=DAILY",
            'unknown timezone "Mars/Base"',
        ),
        ("FREQ=DAILY;UNTIL=20270101T000000Z", "its UNTIL ends in Z (a UTC time), but with no"),
    ],
)
def test_a_bad_rrule_is_refused(rule: str, reason: str) -> None:
    message = refusal(rrule=rule)
    assert "is not a valid rrule" in message
    assert reason in message


def test_a_table_with_two_kinds_or_none_is_refused() -> None:
    assert "this one has cron and interval" in refusal(cron="0 2 * * *", interval="1h")
    assert "needs one of cron, interval or rrule" in refusal(active=True)


def test_unknown_keys_and_wrong_types_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        schedule(cron="0 2 * * *", tz="UTC")
    with pytest.raises(ValidationError, match="valid boolean"):
        schedule(cron="0 2 * * *", active="yes")
