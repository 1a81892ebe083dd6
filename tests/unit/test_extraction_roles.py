"""The spaCy extractor on roles, former holders and first-person turns, hand-checked.

Each expected triple was checked by hand against the sentence and the parse of the pinned
en_core_web_sm 3.8.0 model. Roles taken by appointment, by joining or by succession read as
``(holder, become <role> of, organisation)``; a holder the sentence puts in the past (former,
ex-, previously, stepped down, succeeded) reads ``be former <role> of`` and ends when written
(``invalid_at``: the clause's date, else the passage timestamp). In a conversation passage,
``I``/``me`` is the speaker of the turn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from pipelines.consolidation import Phase, PredicateForm, predicate_form
from pipelines.extraction.spacy_extractor import SpacyExtractor
from pipelines.extraction.spacy_patterns import speaker_turns
from pipelines.models import Extraction, Fact, Passage

TIMESTAMP = datetime(2024, 5, 15, 14, 30, tzinfo=UTC)


def passage(text: str) -> Passage:
    return Passage(
        id="p:0",
        document_id="doc:1",
        index=0,
        text=text,
        start_char=0,
        end_char=len(text),
        timestamp=TIMESTAMP,
    )


@pytest.fixture(scope="module")
def extract() -> Callable[[str], Extraction]:
    extractor = SpacyExtractor()
    return lambda text: extractor.extract([passage(text)])[0]


def triples(extraction: Extraction) -> set[tuple[str, str, str]]:
    return {(f.subject, f.predicate, f.object) for f in extraction.facts}


def fact(extraction: Extraction, subject: str, predicate: str, obj: str) -> Fact:
    [found] = [
        f
        for f in extraction.facts
        if (f.subject, f.predicate, f.object) == (subject, predicate, obj)
    ]
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Halvard Robotics named Priya Nandakumar as its CTO yesterday.",
            ("Priya Nandakumar", "become cto of", "Halvard Robotics"),
        ),
        (
            "Halvard Robotics appointed Hugo Lindqvist as chief operating officer.",
            ("Hugo Lindqvist", "become chief operating officer of", "Halvard Robotics"),
        ),
        (
            "Acme hired Ana Lima as chief financial officer.",
            ("Ana Lima", "become chief financial officer of", "Acme"),
        ),
        ("Acme promoted Ana Lima to CTO.", ("Ana Lima", "become cto of", "Acme")),
        (
            "Ana Lima was appointed as CTO of Acme in 2019.",
            ("Ana Lima", "become cto of", "Acme"),
        ),
        (
            "In January 2018, Sofia Reyes joined Halvard Robotics as chief operating officer.",
            ("Sofia Reyes", "become chief operating officer of", "Halvard Robotics"),
        ),
        ("Ana Lima joined Acme as its CTO.", ("Ana Lima", "become cto of", "Acme")),
        ("Ana Lima serves as CTO of Acme.", ("Ana Lima", "be cto of", "Acme")),
        (
            "Oriel Aeronautics hired Priya Nandakumar as its head of engineering.",
            ("Priya Nandakumar", "become head of engineering of", "Oriel Aeronautics"),
        ),
    ],
)
def test_appointments_give_the_role_fact(
    extract: Callable[[str], Extraction], text: str, expected: tuple[str, str, str]
) -> None:
    found = triples(extract(text))
    assert expected in found
    assert not any(p.endswith(" as") for _, p, _ in found)  # no "(Acme, name as, CTO)"
    assert predicate_form(expected[1]).phase is Phase.PLAIN


def test_appointment_keeps_the_appointing_fact_and_the_date(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Halvard Robotics named Priya Nandakumar as its CTO yesterday.")
    assert ("Halvard Robotics", "name", "Priya Nandakumar") in triples(ex)
    role = fact(ex, "Priya Nandakumar", "become cto of", "Halvard Robotics")
    assert role.valid_at == datetime(2024, 5, 14, tzinfo=UTC)
    assert role.invalid_at is None
    assert role.statement == (
        "Halvard Robotics named Priya Nandakumar as CTO of Halvard Robotics yesterday."
    )


def test_an_indefinite_job_is_not_a_role(extract: Callable[[str], Extraction]) -> None:
    ex = extract(
        "In February 2016, Priya Nandakumar joined Halvard Robotics as a software engineer."
    )
    assert triples(ex) == {
        ("Priya Nandakumar", "join", "Halvard Robotics"),
        ("Priya Nandakumar", "join as", "software engineer"),
    }


def test_a_role_without_a_written_organisation_stays_as_it_was(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Priya Nandakumar succeeded Lena Marsh as CTO.")
    assert triples(ex) == {
        ("Priya Nandakumar", "succeed", "Lena Marsh"),
        ("Priya Nandakumar", "succeed as", "CTO"),
    }


def test_succession_gives_the_new_and_the_former_holder(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Bo Chen succeeded Ana Lima as CEO of Acme in 2021.")
    new = fact(ex, "Bo Chen", "become ceo of", "Acme")
    old = fact(ex, "Ana Lima", "be former ceo of", "Acme")
    assert new.valid_at == datetime(2021, 1, 1, tzinfo=UTC) and new.invalid_at is None
    assert old.invalid_at == datetime(2021, 1, 1, tzinfo=UTC)


def test_stepping_down_ends_the_role_at_its_date(extract: Callable[[str], Extraction]) -> None:
    ex = extract("On 12 November 2020, Tomas Varga stepped down as CEO of Halvard Robotics.")
    when = datetime(2020, 11, 12, tzinfo=UTC)
    left = fact(ex, "Tomas Varga", "be former ceo of", "Halvard Robotics")
    assert (left.valid_at, left.invalid_at) == (when, when)
    assert left.statement.startswith("Tomas Varga stepped down as CEO of Halvard Robotics")


@pytest.mark.parametrize(
    ("text", "expected", "statement"),
    [
        (
            "Lena Marsh was the former CTO of Halvard Robotics.",
            ("Lena Marsh", "be former cto of", "Halvard Robotics"),
            "Lena Marsh was the former CTO of Halvard Robotics.",
        ),
        (
            "Ana Lima is the ex-CTO of Acme.",
            ("Ana Lima", "be former cto of", "Acme"),
            "Ana Lima is former CTO of Acme.",
        ),
        (
            "Sofia Reyes was previously the chief operating officer of Halvard Robotics.",
            ("Sofia Reyes", "be former chief operating officer of", "Halvard Robotics"),
            "Sofia Reyes was previously the chief operating officer of Halvard Robotics.",
        ),
        (
            "Ana Lima, the former CEO of Acme, spoke.",
            ("Ana Lima", "be former ceo of", "Acme"),
            "Ana Lima is the former CEO of Acme.",
        ),
    ],
)
def test_former_holders_end_when_written(
    extract: Callable[[str], Extraction],
    text: str,
    expected: tuple[str, str, str],
    statement: str,
) -> None:
    ex = extract(text)
    assert triples(ex) == {expected}
    found = fact(ex, *expected)
    assert found.valid_at is None and found.invalid_at == TIMESTAMP
    assert found.statement == statement
    assert predicate_form(found.predicate).phase is Phase.FORMER


def test_role_modifiers_stay_in_the_predicate_and_consolidation_reads_them(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Lena Marsh was the first CTO of Halvard Robotics.")
    assert triples(ex) == {("Lena Marsh", "be first cto of", "Halvard Robotics")}
    assert predicate_form("be first cto of") == PredicateForm("be cto of", Phase.FIRST)


def test_speaker_turns_only_for_conversation_text() -> None:
    assert speaker_turns("user: I moved.\nassistant: Nice!\n") == ((0, "user"), (15, "assistant"))
    assert speaker_turns("Clara Diaz: Hi.") == ((0, "Clara Diaz"),)
    assert speaker_turns("user: I moved.\nThen I left.") == ()
    assert speaker_turns("I moved to Denver.") == ()


def test_first_person_is_the_speaker_in_a_conversation(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract(
        "user: I moved to Denver last month.\n"
        "assistant: Congratulations on the move!\n"
        "user: I just started a new job at Acme Robotics."
    )
    moved = fact(ex, "user", "move to", "Denver")
    assert moved.valid_at == datetime(2024, 4, 1, tzinfo=UTC)
    assert moved.statement == "User moved to Denver last month."
    assert ("user", "work at", "Acme Robotics") in triples(ex)


def test_used_to_is_a_past_state(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Clara: I used to live in Munich.")
    lived = fact(ex, "Clara", "live in", "Munich")
    assert lived.invalid_at == TIMESTAMP


def test_first_person_outside_a_conversation_gives_no_triple(
    extract: Callable[[str], Extraction],
) -> None:
    assert extract("I moved to Denver last month.").facts == ()
