"""Date expressions normalised to timezone-aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipelines.extraction.timeparse import Granularity, normalize_date, parse_time

# A Wednesday afternoon.
REF = datetime(2024, 5, 15, 14, 30, tzinfo=UTC)


def day(year: int, month: int, d: int = 1) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected", "granularity"),
    [
        ("March 3, 2019", day(2019, 3, 3), Granularity.DAY),
        ("3 March 2019", day(2019, 3, 3), Granularity.DAY),
        ("3rd of March, 2019", day(2019, 3, 3), Granularity.DAY),
        ("2019-03-03", day(2019, 3, 3), Granularity.DAY),
        ("in 2019", day(2019, 1), Granularity.YEAR),
        ("May 2020", day(2020, 5), Granularity.MONTH),
        ("spring 2018", day(2018, 3), Granularity.SEASON),
        ("in the summer of 2018", day(2018, 6), Granularity.SEASON),
        ("the early 1990s", day(1990, 1), Granularity.DECADE),
        ("19th century", day(1800, 1), Granularity.CENTURY),
        ("mid-2019", day(2019, 7), Granularity.MONTH),
        ("1990–1995", day(1990, 1), Granularity.YEAR),
        ("between 1990 and 1995", day(1990, 1), Granularity.YEAR),
        ("1 to 3 March 2019", day(2019, 3, 1), Granularity.DAY),
        ("the 2010 census", day(2010, 1), Granularity.YEAR),
    ],
)
def test_absolute_dates_need_no_reference(
    text: str, expected: datetime, granularity: Granularity
) -> None:
    parsed = parse_time(text)
    assert parsed is not None
    assert parsed.value == expected
    assert parsed.granularity is granularity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", day(2024, 5, 15)),
        ("yesterday", day(2024, 5, 14)),
        ("tomorrow", day(2024, 5, 16)),
        ("the day before yesterday", day(2024, 5, 13)),
        ("last week", day(2024, 5, 6)),  # Monday of the previous week
        ("next week", day(2024, 5, 20)),
        ("last month", day(2024, 4, 1)),
        ("last year", day(2023, 1, 1)),
        ("next year", day(2025, 1, 1)),
        ("two years ago", day(2022, 5, 15)),
        ("3 days ago", day(2024, 5, 12)),
        ("a few days ago", day(2024, 5, 12)),
        ("in 2 days", day(2024, 5, 17)),
        ("10 years later", day(2034, 5, 15)),
        ("next Friday", day(2024, 5, 17)),
        ("last Friday", day(2024, 5, 10)),
        ("next Wednesday", day(2024, 5, 22)),  # strictly after the reference
        ("last summer", day(2023, 6, 1)),
        ("March 3", day(2024, 3, 3)),  # the year comes from the reference
    ],
)
def test_relative_dates_resolve_against_the_reference(text: str, expected: datetime) -> None:
    assert normalize_date(text, REF) == expected


@pytest.mark.parametrize(
    "text",
    ["monthly", "two weeks", "2 days", "Friday", "June", "the next day", "each year", "1.355", ""],
)
def test_durations_frequencies_and_vague_expressions_give_none(text: str) -> None:
    assert normalize_date(text, REF) is None


@pytest.mark.parametrize("text", ["yesterday", "last week", "two years ago", "next Friday"])
def test_relative_dates_without_a_reference_give_none(text: str) -> None:
    assert normalize_date(text) is None


def test_invalid_calendar_dates_give_none() -> None:
    assert normalize_date("February 29, 2019") is None
    assert normalize_date("2019-13-01") is None


def test_results_take_the_reference_time_zone() -> None:
    tz = timezone(timedelta(hours=2))
    ref = datetime(2024, 5, 15, 23, 0, tzinfo=tz)
    assert normalize_date("yesterday", ref) == datetime(2024, 5, 14, tzinfo=tz)
    assert normalize_date("2019", ref) == datetime(2019, 1, 1, tzinfo=tz)


def test_a_naive_reference_is_taken_as_utc() -> None:
    value = normalize_date("yesterday", datetime(2024, 5, 15, 9, 0))
    assert value == day(2024, 5, 14)
    assert value is not None and value.tzinfo is not None


def test_without_a_reference_absolute_results_are_utc() -> None:
    value = normalize_date("May 2020")
    assert value is not None and value.utcoffset() == timedelta(0)
