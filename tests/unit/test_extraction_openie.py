"""Importing HippoRAG OpenIE result files as extractions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import InputError
from pipelines.extraction.base import Extractor, extractor_from_settings
from pipelines.extraction.openie import (
    OPENIE_CONFIDENCE,
    OpenIEExtractor,
    load_openie,
    match_key,
)
from pipelines.models import Passage, canonical_name
from pipelines.settings import ExtractorKind, Settings

SHARED = Path(__file__).resolve().parents[3] / (
    "shared/benchdata/multihop/hipporag_legacy/"
    "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
)

# Written as text: bare NaN is not JSON, but it is what HippoRAG's files contain.
FIXTURE = """{
  "docs": [
    {
      "idx": 0,
      "title": "Acme",
      "text": "Acme is a company.  Ana Lima founded it in 2015.",
      "passage": "Acme\\nAcme is a company.  Ana Lima founded it in 2015.",
      "extracted_entities": ["Acme", "Ana Lima", NaN, 7, "  "],
      "extracted_triples": [
        ["Ana Lima", "founded", "Acme"],
        ["Acme", "is", "company"],
        ["Acme", "founded in"],
        ["Acme", "founded", "in", "2015"],
        ["Acme", NaN, "2015"],
        ["Acme", "is", "company"],
        "not a triple"
      ]
    },
    {
      "passage": "Globex\\nGlobex makes widgets.",
      "extracted_entities": NaN,
      "extracted_triples": [["Globex", "makes", "widgets"]]
    },
    {"title": "No passage", "extracted_entities": [], "extracted_triples": []},
    "not a document"
  ],
  "avg_ent_chars": NaN
}"""


@pytest.fixture
def openie_file(tmp_path: Path) -> Path:
    path = tmp_path / "openie_results.json"
    path.write_text(FIXTURE, encoding="utf-8")
    return path


def passage(text: str, title: str | None = None, pid: str = "p:0") -> Passage:
    return Passage(
        id=pid, document_id="doc:1", index=0, text=text, title=title, start_char=0, end_char=1
    )


def test_loader_skips_and_counts_malformed_items(openie_file: Path) -> None:
    index = load_openie(openie_file)
    stats = index.stats
    assert stats.docs == 2
    assert stats.skipped_docs == 2  # no passage text / not an object
    assert stats.triples == 4  # three in the first doc (one repeated), one in the second
    assert stats.skipped_triples == 4  # 2 items, 4 items, NaN predicate, a string
    assert stats.entities == 2
    assert stats.skipped_entities == 3  # NaN, 7, blank


def test_passage_matches_on_text_title_and_text_or_whitespace(openie_file: Path) -> None:
    index = load_openie(openie_file)
    assert index.lookup(passage("Acme is a company. Ana Lima founded it in 2015.")) is not None
    assert index.lookup(passage("Acme is a company.  Ana Lima founded it in 2015.", "Acme"))
    assert index.lookup(passage("Globex makes widgets.")) is not None  # text after "title\n"
    assert index.lookup(passage("Globex makes widgets.", "Globex")) is not None
    assert index.lookup(passage("Something else entirely.")) is None


def test_extraction_has_entities_from_list_and_triples(openie_file: Path) -> None:
    extractor = OpenIEExtractor.from_file(openie_file)
    [ex] = extractor.extract([passage("Acme is a company. Ana Lima founded it in 2015.")])
    assert {(f.subject, f.predicate, f.object) for f in ex.facts} == {
        ("Ana Lima", "founded", "Acme"),
        ("Acme", "is", "company"),
    }
    founded = next(f for f in ex.facts if f.predicate == "founded")
    assert founded.statement == "Ana Lima founded Acme."
    assert founded.confidence == OPENIE_CONFIDENCE
    assert founded.valid_at is None
    assert [e.canonical for e in ex.entities] == ["acme", "ana lima", "company"]
    assert all(e.label == "CONCEPT" for e in ex.entities)
    assert ex.extractor == "openie:openie_results.json"


def test_triple_endpoints_become_entities_when_the_list_is_missing(openie_file: Path) -> None:
    [ex] = OpenIEExtractor.from_file(openie_file).extract([passage("Globex makes widgets.")])
    assert {e.canonical for e in ex.entities} == {"globex", "widgets"}
    for fact in ex.facts:
        assert canonical_name(fact.subject) in {e.canonical for e in ex.entities}


def test_unmatched_passages_get_empty_extractions_and_are_counted(openie_file: Path) -> None:
    extractor = OpenIEExtractor.from_file(openie_file)
    passages = [passage("Globex makes widgets.", pid="p:1"), passage("Unknown.", pid="p:2")]
    extractions, report = extractor.extract_with_report(passages)
    assert [e.passage_id for e in extractions] == ["p:1", "p:2"]
    assert extractions[1].facts == () and extractions[1].entities == ()
    assert report.matched == 1
    assert report.unmatched == 1 and report.unmatched_ids == ("p:2",)
    assert isinstance(extractor, Extractor)


def test_match_key_normalises_case_space_and_unicode() -> None:
    assert match_key("  Ａcme\n is   A company ") == "acme is a company"


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_openie(tmp_path / "missing.json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"documents": []}', encoding="utf-8")
    with pytest.raises(InputError, match="docs"):
        load_openie(wrong)


def test_factory_reads_the_file_for_the_openie_kind(openie_file: Path) -> None:
    settings = Settings(extractor=ExtractorKind.OPENIE)
    extractor = extractor_from_settings(settings, openie_file=str(openie_file))
    assert isinstance(extractor, OpenIEExtractor)
    assert extractor.index.stats.docs == 2


@pytest.mark.skipif(not SHARED.exists(), reason="shared benchmark data not present")
def test_shared_musique_file_counts() -> None:
    index = load_openie(SHARED)
    assert index.stats.docs == 1890
    assert index.stats.skipped_docs == 0
    # 17,419 triples in the file; 185 have 2, 4, 5 or 6 items and one a blank endpoint
    assert index.stats.triples + index.stats.skipped_triples == 17419
    assert index.stats.skipped_triples == 186
    first = index.docs[0]
    assert first.title == "Journal of Mathematical Physics"
    assert ("Journal of Mathematical Physics", "published by", "American Institute of Physics") in (
        first.triples
    )
