"""Schedules in words, as `orc validate`, `orc deployments` and the dashboard show them."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.schedules import describe
from tests.schedules.conftest import schedule


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"cron": "0 2 * * *"}, "every day at 02:00 (Europe/Berlin)"),
        ({"cron": "0 2 * * *", "timezone": "UTC"}, "every day at 02:00 (UTC)"),
        ({"cron": "*/15 * * * *"}, "every 15 minutes (Europe/Berlin)"),
        ({"cron": "* * * * *"}, "every minute (Europe/Berlin)"),
        ({"cron": "0 */2 * * *"}, "at minute 0 past every 2nd hour (Europe/Berlin)"),
        ({"cron": "@hourly"}, "at minute 0 past every hour (Europe/Berlin)"),
        ({"cron": "30 9 * * 1-5"}, "at 09:30 on Monday through Friday (Europe/Berlin)"),
        ({"cron": "0 9,17 * * *"}, "every day at 09:00 and 17:00 (Europe/Berlin)"),
        ({"cron": "0 0 1 * *"}, "at 00:00 on day 1 of the month (Europe/Berlin)"),
        ({"cron": "0 6 * 1,7 *"}, "at 06:00 in Jan and Jul (Europe/Berlin)"),
        ({"cron": "5 4-6 * * sun"}, "at minute 5 past hour 4 through 6 on Sunday (Europe/Berlin)"),
        ({"interval": "15m"}, "every 15 minutes"),
        ({"interval": "1h"}, "every hour"),
        ({"interval": "90s"}, "every 1 minute 30 seconds"),
        ({"interval": "1h30m"}, "every 1 hour 30 minutes"),
        (
            {"interval": "15m", "anchor": "2026-01-01T00:00:00"},
            "every 15 minutes from 2026-01-01 00:00 (Europe/Berlin)",
        ),
        ({"interval": "1d", "anchor": "2026-01-01T02:00:00"}, "every day at 02:00 (Europe/Berlin)"),
        ({"interval": "2d"}, "every 2 days at 00:00 (Europe/Berlin)"),
        (
            {"rrule": "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0"},
            "every week on Mon and Fri at 09:00 (Europe/Berlin)",
        ),
        ({"rrule": "FREQ=HOURLY;INTERVAL=2"}, "every 2 hours (Europe/Berlin)"),
        (
            {"rrule": "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=18;BYMINUTE=0;COUNT=6"},
            "every month on the last Fri at 18:00, 6 times (Europe/Berlin)",
        ),
        (
            {"rrule": "DTSTART;TZID=America/New_York:20260101T083000\nRRULE:FREQ=DAILY"},
            "every day at 08:30 (America/New_York)",
        ),
    ],
)
def test_in_words(table: dict[str, Any], words: str) -> None:
    assert describe(schedule(**table), "Europe/Berlin") == words
