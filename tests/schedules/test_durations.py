"""`parse_duration`: the forms people write in flows.toml, and clear refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrate.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("2d", 172800),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("250ms", 0.25),
        ("PT15M", 900),
        ("pt1.5s", 1.5),
        ("P1D", 86400),
        ("P1DT2H", 93600),
        ("P2W", 1209600),
        ("90", 90),
        ("2.5", 2.5),
        (30, 30),
        (1.5, 1.5),
        (0, 0),
    ],
)
def test_accepted_forms(written: str | int | float, seconds: float) -> None:
    assert parse_duration(written) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("15 minutes", '"15 minutes" is not a duration; write it like "90s"'),
        ("", '"" is not a duration'),
        ("1h1h", '"1h1h" names a unit twice'),
        ("P1M", "months or years, which have no fixed length"),
        ("P1Y2D", "months or years"),
        ("PT", '"PT" is not a duration'),
        ("-5", '"-5" is negative'),
        (-5, "-5 is negative"),
        (True, "True is not a duration"),
        (float("inf"), "inf is not a duration"),
    ],
)
def test_refusals_quote_the_value_and_show_the_forms(written: object, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(written)  # type: ignore[arg-type]
    assert says in str(caught.value)


@pytest.mark.parametrize("written", ["90s", "15m", "1h30m", "2d", "250ms", "1d2h3m4s"])
def test_format_duration_reads_back(written: str) -> None:
    delta = parse_duration(written)
    assert parse_duration(format_duration(delta)) == delta
    assert format_duration(parse_duration("90s")) == "1m30s"


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (
            "99999999999d",
            '"99999999999d" is too long; a duration is at most 36525d (about 100 years)',
        ),
        ("P99999999999W", "is too long"),
        (1e300, "1e+300 is too long"),
        pytest.param(10**400, "a number of about 401 digits is too long", id="401 digits"),
        pytest.param(-(10**400), "a number of about 401 digits is negative", id="-401 digits"),
        pytest.param(
            "9" * 400 + "s", '"99999999999999999999999999999999999..." is too long', id="400 nines"
        ),
    ],
)
def test_durations_past_100_years_are_refused_not_overflowed(written: object, says: str) -> None:
    """timedelta overflowed (OverflowError) past 999999999 days, and any date plus 100 years stays valid."""
    with pytest.raises(ValueError) as caught:
        parse_duration(written)  # type: ignore[arg-type]
    assert says in str(caught.value)


def test_100_years_is_the_longest_duration() -> None:
    assert parse_duration("36525d") == timedelta(days=36525)
