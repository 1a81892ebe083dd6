"""Date expressions normalised to timezone-aware datetimes.

:func:`parse_time` turns an expression such as ``"March 3, 2019"``, ``"in 2019"``, ``"spring
2018"``, ``"yesterday"``, ``"two years ago"`` or ``"next Friday"`` into a :class:`ParsedTime`
(a datetime plus its granularity); :func:`normalize_date` returns only the datetime. Both return
``None`` when the expression cannot be normalised (durations such as ``"for two weeks"``,
frequencies such as ``"monthly"``, a bare weekday, a relative expression without a reference).

Conventions:

- A calendar period resolves to its first instant: ``"2019"`` and ``"last year"`` (in 2020) to
  2019-01-01, ``"May 2020"`` to 2020-05-01, ``"last week"`` to the Monday of the previous week,
  ``"the 1990s"`` to 1990-01-01, ``"spring 2018"`` to 2018-03-01 (meteorological seasons, northern
  hemisphere; winter YYYY starts on YYYY-12-01).
- A counted offset (``"two years ago"``, ``"in 2 days"``) moves the reference by that amount and
  keeps the day: ``"two years ago"`` on 2024-05-15 is 2022-05-15.
- ``"next Friday"`` is the first Friday strictly after the reference, ``"last Friday"`` the
  last one strictly before it, ``"this Friday"`` the Friday of the reference's week.
- Relative results are midnight in the reference's time zone; absolute results without a
  reference are UTC.
- Ranges (``"1990-1995"``, ``"from 1990 to 1995"``) resolve to their start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta

__all__ = ["Granularity", "ParsedTime", "normalize_date", "parse_time"]


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    SEASON = "season"
    YEAR = "year"
    DECADE = "decade"
    CENTURY = "century"


@dataclass(frozen=True)
class ParsedTime:
    """A normalised time expression: the start of the period it names, and the period's size."""

    value: datetime
    granularity: Granularity


_WORD_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a couple of": 2,
    "a few": 3,
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_SEASON_MONTH = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_UNIT_GRANULARITY = {
    "day": Granularity.DAY,
    "week": Granularity.WEEK,
    "month": Granularity.MONTH,
    "year": Granularity.YEAR,
    "decade": Granularity.DECADE,
}

_NUMBER = r"(?P<n>\d+|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>day|week|month|year|decade)s?"
_AGO = re.compile(rf"^{_NUMBER} {_UNIT} (?P<dir>ago|before|earlier|later|from now|hence)$")
_IN_OFFSET = re.compile(rf"^(?:in|within) {_NUMBER} {_UNIT}(?: time)?$")
_SHIFT = re.compile(r"^(?P<which>last|past|previous|next|coming|this|current) (?P<what>\w+)$")
_LEADING_NOISE = re.compile(
    r"^(?:in|on|at|during|since|by|from|of|around|about|circa|c\.|ca\.|approximately|"
    r"sometime in|early|the|until|till|as of|between|beginning|starting)\s+"
)
_RANGE_SPLIT = re.compile(r"\s*(?:–|—|-|/| to | until | and )\s*")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?(?:[t ][\d:.]+z?)?$")
_YEAR = re.compile(r"^(?P<y>\d{4})$")
_DECADE = re.compile(r"^(?P<y>\d{3}0)'?s$")
_CENTURY = re.compile(r"^(?P<n>\d{1,2})(?:st|nd|rd|th) century$")
_SEASON = re.compile(r"^(?P<s>spring|summer|autumn|fall|winter) (?:of )?(?P<y>\d{4})$")
_MID = re.compile(r"^(?:mid|late)[- ](?P<y>\d{4})$")
_MONTH_NAME = re.compile(r"\b(?:" + "|".join(m[:3] for m in _MONTHS) + r")[a-z]*\.?\b")
_HAS_YEAR = re.compile(r"\b\d{4}\b")
_DURATION_WORDS = re.compile(r"\b(?:ago|days?|weeks?|months?|years?|decades?|centur(?:y|ies))\b")
_LEADING_DAY = re.compile(r"^\d{1,2}(?:st|nd|rd|th)?\s+")
_HAS_DAY = re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\b")


def parse_time(text: str, reference: datetime | None = None) -> ParsedTime | None:
    """Normalise one date expression.

    Parameters
    ----------
    text:
        The expression, e.g. a spaCy ``DATE`` entity with its governing preposition
        (``"in 2019"``, ``"in 2 days"``).
    reference:
        When the text was written (document or passage timestamp). Needed for relative
        expressions; also supplies the year of ``"March 3"``. Naive values are taken as UTC.

    Returns
    -------
    The start of the named period and its granularity, or ``None`` when the expression is not
    a point in time this module understands.
    """
    ref = _aware(reference)
    cleaned = _clean(text)
    if not cleaned:
        return None
    if ref is not None:
        relative = _parse_relative(cleaned, ref) or _parse_relative(_strip_noise(cleaned), ref)
        if relative is not None:
            return relative
    return _parse_absolute(cleaned, ref)


def normalize_date(text: str, reference: datetime | None = None) -> datetime | None:
    """The datetime of :func:`parse_time`, or ``None``."""
    parsed = parse_time(text, reference)
    return parsed.value if parsed is not None else None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _clean(text: str) -> str:
    """Lower case, single spaces, no trailing punctuation or possessive."""
    cleaned = re.sub(r"\s+", " ", text.lower()).strip(' .,;:!?()[]"')
    return re.sub(r"'s$", "", cleaned)


def _midnight(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


# --- relative expressions -------------------------------------------------------------------


def _parse_relative(text: str, ref: datetime) -> ParsedTime | None:
    day = _midnight(ref)
    fixed = {
        "today": 0,
        "tonight": 0,
        "this morning": 0,
        "this afternoon": 0,
        "this evening": 0,
        "now": 0,
        "yesterday": -1,
        "last night": -1,
        "tomorrow": 1,
        "the day before yesterday": -2,
        "the day after tomorrow": 2,
    }
    if text in fixed:
        return ParsedTime(day + timedelta(days=fixed[text]), Granularity.DAY)
    return _parse_offset(text, day) or _parse_shift(text, day)


def _parse_offset(text: str, day: datetime) -> ParsedTime | None:
    """``"two years ago"``, ``"3 days later"``, ``"in 2 days"``."""
    match = _AGO.match(text)
    sign = 1
    if match is not None:
        sign = -1 if match["dir"] in ("ago", "before", "earlier") else 1
    else:
        match = _IN_OFFSET.match(text)
    if match is None:
        return None
    count = int(match["n"]) if match["n"].isdigit() else _WORD_NUMBERS[match["n"]]
    unit = match["unit"]
    delta = _unit_delta(unit, sign * count)
    return ParsedTime(day + delta, _UNIT_GRANULARITY[unit])


def _unit_delta(unit: str, count: int) -> relativedelta:
    if unit == "decade":
        return relativedelta(years=10 * count)
    if unit == "year":
        return relativedelta(years=count)
    if unit == "month":
        return relativedelta(months=count)
    if unit == "week":
        return relativedelta(weeks=count)
    return relativedelta(days=count)


def _parse_shift(text: str, day: datetime) -> ParsedTime | None:
    """``"last week"``, ``"next month"``, ``"this year"``, ``"next Friday"``, ``"last summer"``."""
    match = _SHIFT.match(text)
    if match is None:
        return None
    which, what = match["which"], match["what"]
    step = {"last": -1, "past": -1, "previous": -1, "next": 1, "coming": 1}.get(which, 0)
    if what in _WEEKDAYS:
        return ParsedTime(_weekday(day, _WEEKDAYS.index(what), step), Granularity.DAY)
    if what == "weekend":
        saturday = _weekday(day, 5, 0) + timedelta(weeks=step)
        return ParsedTime(saturday, Granularity.DAY)
    if what in _SEASON_MONTH:
        return _shifted_season(day, what, step)
    return _shifted_period(day, what, step)


def _weekday(day: datetime, weekday: int, step: int) -> datetime:
    """The weekday strictly after (step 1), strictly before (-1) or in the week of (0) ``day``."""
    if step > 0:
        ahead = (weekday - day.weekday() - 1) % 7 + 1
        return day + timedelta(days=ahead)
    if step < 0:
        back = (day.weekday() - weekday - 1) % 7 + 1
        return day - timedelta(days=back)
    return day + timedelta(days=weekday - day.weekday())


def _shifted_period(day: datetime, what: str, step: int) -> ParsedTime | None:
    if what == "week":
        monday = day - timedelta(days=day.weekday())
        return ParsedTime(monday + timedelta(weeks=step), Granularity.WEEK)
    if what == "month":
        first = day.replace(day=1) + relativedelta(months=step)
        return ParsedTime(first, Granularity.MONTH)
    if what == "year":
        first = day.replace(month=1, day=1) + relativedelta(years=step)
        return ParsedTime(first, Granularity.YEAR)
    if what == "decade":
        start = day.replace(year=day.year - day.year % 10, month=1, day=1)
        return ParsedTime(start + relativedelta(years=10 * step), Granularity.DECADE)
    return None


def _shifted_season(day: datetime, season: str, step: int) -> ParsedTime:
    """``"last summer"``: the most recent summer that started before the reference's season."""
    month = _SEASON_MONTH[season]
    start = day.replace(month=month, day=1)
    if step < 0 and start >= day:
        start -= relativedelta(years=1)
    elif step > 0 and start <= day:
        start += relativedelta(years=1)
    return ParsedTime(start, Granularity.SEASON)


# --- absolute expressions -------------------------------------------------------------------


def _parse_absolute(text: str, ref: datetime | None) -> ParsedTime | None:
    tz: tzinfo = ref.tzinfo if ref is not None and ref.tzinfo is not None else UTC
    text = _strip_noise(text)
    text = _first_of_range(text)
    for rule in (_iso, _year, _decade, _century, _season, _mid_year):
        parsed = rule(text, tz)
        if parsed is not None:
            return parsed
    return _dateutil(text, ref, tz) or _lone_year(text, tz)


def _strip_noise(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _LEADING_NOISE.sub("", text)
    return text


def _first_of_range(text: str) -> str:
    """``"1990-1995"`` -> ``"1990"``; leaves ISO dates (``"2019-03-03"``) alone."""
    if _ISO_DATE.match(text):
        return text
    parts = _RANGE_SPLIT.split(text, maxsplit=1)
    if len(parts) == 2 and re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", parts[0]):
        # "1 to 3 March 2019" -> "1 March 2019"
        return f"{parts[0]} {_LEADING_DAY.sub('', parts[1])}"
    if len(parts) == 2 and _HAS_YEAR.search(parts[0]):
        return parts[0]
    if len(parts) == 2 and _HAS_YEAR.search(parts[1]) and _MONTH_NAME.search(parts[0]):
        # "March to May 2019" -> "March 2019"
        return f"{parts[0]} {_HAS_YEAR.findall(parts[1])[-1]}"
    return text


def _make(year: int, month: int, day: int, tz: tzinfo) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=tz)
    except ValueError:
        return None


def _iso(text: str, tz: tzinfo) -> ParsedTime | None:
    match = _ISO_DATE.match(text)
    if match is None:
        return None
    day = match["d"]
    value = _make(int(match["y"]), int(match["m"]), int(day or 1), tz)
    if value is None:
        return None
    return ParsedTime(value, Granularity.DAY if day else Granularity.MONTH)


def _year(text: str, tz: tzinfo) -> ParsedTime | None:
    match = _YEAR.match(text)
    if match is None or int(match["y"]) == 0:
        return None
    value = _make(int(match["y"]), 1, 1, tz)
    return ParsedTime(value, Granularity.YEAR) if value else None


def _decade(text: str, tz: tzinfo) -> ParsedTime | None:
    match = _DECADE.match(text)
    if match is None:
        return None
    value = _make(int(match["y"]), 1, 1, tz)
    return ParsedTime(value, Granularity.DECADE) if value else None


def _century(text: str, tz: tzinfo) -> ParsedTime | None:
    match = _CENTURY.match(text)
    if match is None or not 1 <= int(match["n"]) <= 21:
        return None
    value = _make(max(1, (int(match["n"]) - 1) * 100), 1, 1, tz)
    return ParsedTime(value, Granularity.CENTURY) if value else None


def _season(text: str, tz: tzinfo) -> ParsedTime | None:
    match = _SEASON.match(text)
    if match is None:
        return None
    value = _make(int(match["y"]), _SEASON_MONTH[match["s"]], 1, tz)
    return ParsedTime(value, Granularity.SEASON) if value else None


def _mid_year(text: str, tz: tzinfo) -> ParsedTime | None:
    """``"mid-2019"`` -> July 2019, ``"late 2019"`` -> October 2019 (month granularity)."""
    match = _MID.match(text)
    if match is None:
        return None
    month = 7 if text.startswith("mid") else 10
    value = _make(int(match["y"]), month, 1, tz)
    return ParsedTime(value, Granularity.MONTH) if value else None


def _dateutil(text: str, ref: datetime | None, tz: tzinfo) -> ParsedTime | None:
    """Month names with a year and/or a day: ``"March 3, 2019"``, ``"3 March"``, ``"May 2020"``.

    dateutil fills missing fields from a default, so only expressions that name a month and
    either a year or (with a reference) a day are accepted; a missing year comes from the
    reference.
    """
    if _MONTH_NAME.search(text) is None:
        return None
    has_year = _HAS_YEAR.search(text) is not None
    without_year = _HAS_YEAR.sub(" ", text)
    has_day = _HAS_DAY.search(without_year) is not None
    if not has_year and (ref is None or not has_day):
        return None
    default_year = ref.year if ref is not None else 2000
    default = datetime(default_year, 1, 1)
    try:
        parsed = date_parser.parse(text, default=default, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    if has_year and str(parsed.year) not in text:
        return None
    granularity = Granularity.DAY if has_day else Granularity.MONTH
    value = parsed.replace(tzinfo=tz, hour=0, minute=0, second=0, microsecond=0)
    if not has_day:
        value = value.replace(day=1)
    return ParsedTime(value, granularity)


def _lone_year(text: str, tz: tzinfo) -> ParsedTime | None:
    """The first year among words that are not units when every number is a year:
    ``"2018 season"``, ``"the 2010 census"``, ``"every Olympiad from 1900 to 1920"``."""
    years = _HAS_YEAR.findall(text)
    if not years or _DURATION_WORDS.search(text) or len(re.findall(r"\d+", text)) != len(years):
        return None
    return _year(years[0], tz)
