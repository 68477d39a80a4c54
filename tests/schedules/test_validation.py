"""Invalid schedules are refused with a message that names the problem and what is allowed."""

from __future__ import annotations

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
    ("rule", "reason"),
    [
        ("FREQ=SOMETIMES", "invalid 'FREQ': SOMETIMES"),
        ("BYDAY=MO", "it has no FREQ"),
        (
            "DTSTART;TZID=Mars/Base:20260101T000000\nRRULE:FREQ=DAILY",
            'unknown timezone "Mars/Base"',
        ),
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
