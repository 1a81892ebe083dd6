"""Temporal cue parsing, the as_of filter and supersession on in-memory facts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graph.projection_loader import FactRecord
from retrieval.temporal import as_aware, parse_temporal_cues
from retrieval.timeline import known_at, slot_of, supersession


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fact(
    fid: str,
    subject: str,
    predicate: str,
    obj: str,
    valid: datetime | None = None,
    observed: datetime | None = None,
    invalid: datetime | None = None,
) -> FactRecord:
    return FactRecord(
        id=fid,
        subject=subject,
        predicate=predicate,
        object=obj,
        statement=f"{subject} {predicate} {obj}",
        subject_id=f"ent:{subject}",
        object_id=f"ent:{obj}",
        valid_at=valid,
        invalid_at=invalid,
        observed_at=observed,
        confidence=1.0,
        passage_ids=(),
    )


@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ("Who was CTO before 2019?", "before", utc(2019, 1, 1)),
        ("Where did she live before March 2019?", "before", utc(2019, 3, 1)),
        ("What happened after 5 June 2018?", "after", utc(2018, 6, 6)),
        ("Who joined in 2019?", "period", (utc(2019, 1, 1), utc(2020, 1, 1))),
        ("Who was CTO as of 2020?", "as_of", datetime(2020, 12, 31, 23, 59, 59, 999999, UTC)),
        ("Who was CTO as of 2020-06-01?", "as_of", datetime(2020, 6, 1, 23, 59, 59, 999999, UTC)),
    ],
)
def test_dated_cues(query: str, field: str, expected: object) -> None:
    assert getattr(parse_temporal_cues(query), field) == expected


@pytest.mark.parametrize("word", ["latest", "currently", "now", "current"])
def test_latest_cues(word: str) -> None:
    cues = parse_temporal_cues(f"Who is the {word} CEO?" if word != "now" else "Who is CEO now?")
    assert cues.latest and not cues.first and not cues.filters_time


def test_first_cue_and_no_cue() -> None:
    assert parse_temporal_cues("Who was the first CTO?").first
    plain = parse_temporal_cues("Where was Elias Brandt born?")
    assert plain == type(plain)()


def test_window_admits() -> None:
    cues = parse_temporal_cues("Who joined in 2019?")
    assert cues.admits(utc(2019, 5, 1))
    assert not cues.admits(utc(2020, 1, 1))
    assert not cues.admits(None)


def test_as_aware_accepts_dates_and_strings() -> None:
    assert as_aware("2020-06-01") == utc(2020, 6, 1)
    assert as_aware(datetime(2020, 6, 1).date()) == utc(2020, 6, 1)


PRIYA = fact("f1", "Priya", "become cto of", "Halvard", valid=utc(2019, 3, 5))
DANIEL = fact("f2", "Daniel", "become cto of", "Halvard", valid=utc(2022, 7, 1))
LENA = fact("f0", "Lena", "be first cto of", "Halvard")  # undated


def test_as_of_keeps_only_facts_valid_and_known_then() -> None:
    as_of = utc(2020, 6, 1)
    assert known_at(PRIYA, as_of)
    assert not known_at(DANIEL, as_of)  # not valid yet
    assert not known_at(LENA, as_of)  # cannot be placed in time
    late = fact("f3", "Priya", "be cto of", "Halvard", observed=utc(2022, 6, 10))
    assert not known_at(late, as_of)  # not known yet
    ended = fact("f4", "X", "live in", "Porto", valid=utc(2015, 1, 1), invalid=utc(2018, 9, 1))
    assert not known_at(ended, as_of)
    assert known_at(ended, utc(2017, 1, 1))


def test_role_slot_supersession() -> None:
    assert slot_of(PRIYA) == (("role", "cto", "ent:Halvard"), "ent:Priya")
    out = supersession([PRIYA, DANIEL, LENA])
    assert out == {"f1": "f2"}
    # As of 2020 Daniel's fact is not visible, so Priya's is current.
    assert supersession([f for f in (PRIYA, DANIEL) if known_at(f, utc(2020, 6, 1))]) == {}


def test_attribute_slot_supersession_and_same_value() -> None:
    porto = fact("a", "Halvard", "move to", "Porto", valid=utc(2015, 4, 1))
    berlin = fact("b", "Halvard", "move to", "Berlin", valid=utc(2018, 9, 1))
    again = fact("c", "Halvard", "be headquartered in", "Berlin", observed=utc(2021, 10, 12))
    visits = [
        fact(f"v{i}", "Priya", "visit", c, valid=utc(2019 + i, 1, 1)) for i, c in enumerate("AB")
    ]
    out = supersession([porto, berlin, again, *visits])
    assert out == {"a": "b"}  # the same value restated does not supersede; visits accumulate


def test_invalid_at_in_the_past_supersedes() -> None:
    ended = fact("e", "X", "visit", "Y", valid=utc(2015, 1, 1), invalid=utc(2016, 1, 1))
    assert supersession([ended], now=utc(2020, 1, 1)) == {"e": ""}


def test_role_variants_share_a_slot_and_a_former_holder_never_supersedes() -> None:
    first = fact(
        "r1", "Lena", "be first chief technology officer of", "Halvard", valid=utc(2015, 4, 1)
    )
    named = fact("r2", "Priya", "be named cto at", "Halvard", valid=utc(2019, 3, 5))
    former = fact("r3", "Lena", "be former cto of", "Halvard", observed=utc(2022, 1, 1))
    assert slot_of(first) == (("role", "cto", "ent:Halvard"), "ent:Lena")
    assert slot_of(named) == (("role", "cto", "ent:Halvard"), "ent:Priya")
    assert slot_of(former) is None
    assert supersession([first, named, former]) == {"r1": "r2"}
