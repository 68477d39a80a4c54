"""Cron in words for every form croniter accepts: a table people read, and a property over forms.

The property builds expressions from croniter's forms (values, names, ranges,
steps, lists, `L`, `W`, `#`, `L5`), keeps those `orc validate` accepts, and
checks that the words carry no cron syntax and name exactly the hours, days,
months and weekdays that the planner runs.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orchestrate.schedules import describe
from orchestrate.schedules.cron import DAYS, MONTHS, cron_plan, validate_cron
from tests.schedules.conftest import schedule

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 */2 * * *", "at minute 0 past every 2nd hour"),
        ("0 9-17/2 * * *", "at minute 0 past hour 9, 11, 13, 15 and 17"),
        ("*/15 9-17 * * 1-5", "every 15 minutes during hour 9 through 17 on Monday through Friday"),
        ("*/7 * * * *", "every 7th minute"),
        ("10/20 * * * *", "at minute 10, 30 and 50 past every hour"),
        ("0 0 L * *", "at 00:00 on the last day of the month"),
        ("0 0 1,L * *", "at 00:00 on day 1 and the last day of the month"),
        ("0 0 15W * *", "at 00:00 on the weekday nearest day 15 of the month"),
        ("0 0 */10 * *", "at 00:00 on day 1, 11, 21 and 31 of the month"),
        ("0 0 1-15/3 * *", "at 00:00 on day 1, 4, 7, 10 and 13 of the month"),
        ("0 0 * * 5#3", "at 00:00 on the 3rd Friday of the month"),
        ("0 0 * * fri#2", "at 00:00 on the 2nd Friday of the month"),
        ("0 0 * * L5", "at 00:00 on the last Friday of the month"),
        ("0 0 * * 1#1,3#2", "at 00:00 on the 1st Monday and the 2nd Wednesday of the month"),
        ("0 0 * * */2", "at 00:00 on Sunday, Tuesday, Thursday and Saturday"),
        ("0 0 * * 1-7/2", "at 00:00 on Monday, Wednesday, Friday and Sunday"),
        ("0 0 * * 5-7", "at 00:00 on Friday through Sunday"),
        ("0 0 * * MON-FRI", "at 00:00 on Monday through Friday"),
        ("0 0 1 */3 *", "at 00:00 on day 1 of the month in Jan, Apr, Jul and Oct"),
        ("0 0 1 JAN-MAR/2 *", "at 00:00 on day 1 of the month in Jan and Mar"),
        ("0 0 L * 5", "at 00:00 on the last day of the month or on Friday"),
        ("@hourly", "at minute 0 past every hour"),
        ("@daily", "every day at 00:00"),
        ("@midnight", "every day at 00:00"),
        ("@weekly", "at 00:00 on Sunday"),
        ("@monthly", "at 00:00 on day 1 of the month"),
        ("@yearly", "at 00:00 on day 1 of the month in Jan"),
        ("@annually", "at 00:00 on day 1 of the month in Jan"),
    ],
)
def test_cron_forms_in_words(cron: str, words: str) -> None:
    assert describe(schedule(cron=cron, timezone="UTC")) == f"{words} (UTC)"


def _item(field: int) -> st.SearchStrategy[str]:
    low, high = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))[field]
    number = st.integers(low, high)
    value = number.map(str)
    if field == 3:
        value = value | number.map(lambda n: MONTHS[n - 1].upper())
    if field == 4:
        value = value | st.integers(0, 6).map(lambda n: DAYS[n])
    # croniter 7 reads a range of one value (`1-1`) as `*`; the planner follows it, the words do not
    span = st.tuples(number, number).filter(lambda ab: ab[0] != ab[1])
    span = span.map(lambda ab: f"{min(ab)}-{max(ab)}")
    step = st.integers(1, high)
    stepped = st.tuples(st.sampled_from(["*"]) | span | value, step).map(lambda b: f"{b[0]}/{b[1]}")
    return value | span | stepped


def _field(field: int) -> st.SearchStrategy[str]:
    listed = st.lists(_item(field), min_size=1, max_size=3).map(",".join)
    extra: st.SearchStrategy[str] = st.just("*")
    if field == 2:
        extra = extra | st.just("L") | st.integers(1, 31).map(lambda n: f"{n}W")
        listed = listed | st.lists(_item(2), max_size=2).map(lambda items: ",".join([*items, "L"]))
    if field == 4:
        extra = extra | st.tuples(st.integers(0, 6), st.integers(1, 5)).map(
            lambda p: f"{p[0]}#{p[1]}"
        )
        extra = extra | st.integers(0, 6).map(lambda n: f"L{n}")
    return listed | extra


_CRON = st.tuples(*(_field(f) for f in range(5))).map(" ".join)


def _named(words: str, names: tuple[str, ...] | None, base: int) -> set[int]:
    """The values a list such as "1, 4 and 9 through 12" or "Friday through Monday" names."""
    found: set[int] = set()
    for part in re.split(r", | and ", words):
        ends = [names.index(w) + base if names else int(w) for w in part.split(" through ")]
        first, last = ends[0], ends[-1]
        if names is _DAY_NAMES and first > last:  # a range over the end of the week
            found |= {*range(first, 7), *range(last + 1)}
        else:
            found |= set(range(first, last + 1))
    return found


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_CRON)
def test_words_name_what_the_planner_runs(cron: str) -> None:
    try:
        validate_cron(cron)
    except ValueError:
        assume(False)
    words = describe(schedule(cron=cron, timezone="UTC"))
    assert not re.search(r"[*/?#]|\bL\d?\b|\d+W\b|\bevery \d+(st|nd|rd|th) from\b", words), words
    plan = cron_plan(cron)
    if found := re.search(r" in ([A-Z][a-z]{2}(?:(?:, | and | through )[A-Z][a-z]{2})*) \(", words):
        months = tuple(m.capitalize() for m in MONTHS)
        assert _named(found[1], months, 1) == (plan.months or set(range(1, 13))), words
    if found := re.search(r"past hour ([\d ,a-z]+?)(?: on | in | \(|$)", words):
        assert _named(found[1], None, 0) == set(plan.hours), words
    found = re.search(r"on day ([\d ,a-z]+?) of the month", words)
    if found and "the " not in found[1]:  # `L` and `W` days depend on the month
        assert _named(found[1], None, 0) == (plan.days or set(range(1, 32))), words
    if not plan.nth and (
        found := re.search(r" on ((?:[A-Z][a-z]+day(?:, | and | through )?)+)", words)
    ):
        assert _named(found[1], _DAY_NAMES, 0) == (plan.weekdays or set(range(7))), words
