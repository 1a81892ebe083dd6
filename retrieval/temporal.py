"""Temporal cues in a query: "before 2019", "after March 2020", "in 2019", "as of 2020",
"first", "latest" / "currently" / "now" / "current".

:func:`parse_temporal_cues` is pure and deterministic. A date is a year (``2019``), a month
and year (``March 2019``), a day, month and year (``5 March 2019``) or an ISO date
(``2019-03-05``); each denotes a period ``[start, end)`` in UTC. ``before X`` keeps times
before the start of X, ``after X`` times from the end of X on, ``in X`` / ``during X`` times
inside X, and ``as of X`` means the last instant of X (so "as of 2020" is the state at the end
of 2020).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = (
    rf"(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
    rf"|(?:(?P<day>\d{{1,2}})\s+)?(?P<month>{_MONTH})\.?\s+(?P<myear>\d{{4}})"
    rf"|(?P<year>(?:19|20)\d{{2}}))\b"
)
_DATED_CUE = re.compile(
    rf"\b(?P<cue>before|until|after|since|in|during|as\s+of|as\s+at)\s+{_DATE}", re.IGNORECASE
)
_FIRST = re.compile(r"\b(first|earliest|originally|initially)\b", re.IGNORECASE)
_LATEST = re.compile(
    r"\b(latest|currently|current|now|today|nowadays|at\s+present|these\s+days|most\s+recent)\b",
    re.IGNORECASE,
)


class CueKind(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    IN_PERIOD = "in"
    AS_OF = "as_of"
    FIRST = "first"
    LATEST = "latest"


@dataclass(frozen=True)
class TemporalCues:
    """What the query says about time. Empty (all unset) for a query without cues."""

    before: datetime | None = None
    after: datetime | None = None
    period: tuple[datetime, datetime] | None = None
    as_of: datetime | None = None
    first: bool = False
    latest: bool = False
    found: tuple[str, ...] = ()

    @property
    def filters_time(self) -> bool:
        """Whether the cues restrict facts to a time window."""
        return self.before is not None or self.after is not None or self.period is not None

    def admits(self, when: datetime | None) -> bool:
        """Whether a fact at time ``when`` passes the before/after/in window (undated: no)."""
        if not self.filters_time:
            return True
        if when is None:
            return False
        if self.before is not None and when >= self.before:
            return False
        if self.after is not None and when < self.after:
            return False
        return not (self.period is not None and not self.period[0] <= when < self.period[1])


def _period(m: re.Match[str]) -> tuple[datetime, datetime]:
    if m["iso"]:
        start = datetime.fromisoformat(m["iso"]).replace(tzinfo=UTC)
        return start, start + timedelta(days=1)
    if m["month"]:
        year, month = int(m["myear"]), _MONTHS[m["month"].lower()]
        if m["day"]:
            start = datetime(year, month, int(m["day"]), tzinfo=UTC)
            return start, start + timedelta(days=1)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return datetime(year, month, 1, tzinfo=UTC), end
    year = int(m["year"])
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def parse_temporal_cues(query: str) -> TemporalCues:
    """The temporal cues of ``query``; a later cue of the same kind overrides an earlier one."""
    before = after = as_of = None
    period: tuple[datetime, datetime] | None = None
    found: list[str] = []
    for m in _DATED_CUE.finditer(query):
        cue = " ".join(m["cue"].lower().split())
        start, end = _period(m)
        if cue in ("before", "until"):
            before = start
        elif cue in ("after", "since"):
            after = end if cue == "after" else start
        elif cue in ("in", "during"):
            period = (start, end)
        else:
            as_of = end - timedelta(microseconds=1)
        found.append(" ".join(m.group(0).split()))
    first = bool(_FIRST.search(query))
    latest = bool(_LATEST.search(query)) and as_of is None
    found += [m.group(0).lower() for m in _FIRST.finditer(query)]
    if latest:
        found += [m.group(0).lower() for m in _LATEST.finditer(query)]
    return TemporalCues(before, after, period, as_of, first, latest, tuple(found))


def as_aware(value: datetime | date | str) -> datetime:
    """A timezone-aware datetime from a date, datetime or ISO string (naive means UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
