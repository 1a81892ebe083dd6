"""Sentence splitting and chunking documents into overlapping passages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.chunking import (
    ChunkingConfig,
    chunk_document,
    chunk_documents,
    split_long_span,
    split_sentences,
)
from pipelines.models import Document, Passage, SourceKind, stable_id
from pipelines.settings import Settings


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def document(text: str, kind: SourceKind = SourceKind.TEXT, doc_id: str = "doc:1") -> Document:
    return Document(
        id=doc_id,
        source="test",
        kind=kind,
        title="A title",
        text=text,
        timestamp=datetime(2024, 1, 2, tzinfo=UTC),
    )


def story(count: int) -> str:
    return " ".join(
        f"Sentence number {n} tells how Dr. Osei tested drone {n} in the U.S. on day {n}."
        for n in range(count)
    )


# ------------------------------------------------------------------------------ sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith met Mrs. Jones. They talked.",
            ["Dr. Smith met Mrs. Jones.", "They talked."],
        ),
        (
            "He moved to the U.S. in 2010. Then he left.",
            ["He moved to the U.S. in 2010.", "Then he left."],
        ),
        (
            "Bring fruit, e.g. apples. Also bread, i.e. rye.",
            ["Bring fruit, e.g. apples.", "Also bread, i.e. rye."],
        ),
        (
            "J. R. R. Tolkien wrote it. Readers loved it.",
            ["J. R. R. Tolkien wrote it.", "Readers loved it."],
        ),
        ("See No. 5 and Fig. 3 here. Done.", ["See No. 5 and Fig. 3 here.", "Done."]),
        ("I said no. Then I left.", ["I said no.", "Then I left."]),
        ("Really? Yes! It works... Fine.", ["Really?", "Yes!", "It works...", "Fine."]),
        ('She said "Stop." He stopped.', ['She said "Stop."', "He stopped."]),
        ("It cost 3.5 million. Wow.", ["It cost 3.5 million.", "Wow."]),
        ("version 2. the next line continues", ["version 2. the next line continues"]),
        (
            "First paragraph without stop\n\nSecond one",
            ["First paragraph without stop", "Second one"],
        ),
        (
            "# Heading\nBody text.\n- item one\n- item two",
            ["# Heading", "Body text.", "- item one", "- item two"],
        ),
        ("  \n ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentence_spans_are_stripped_offsets_into_the_text() -> None:
    text = "  One here.   Two there!\n\nThree.  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["One here.", "Two there!", "Three."]
    assert spans[0] == (2, 11)


def test_split_long_span_cuts_at_whitespace_and_hard_cuts_unbroken_runs() -> None:
    text = " ".join(f"word{n}" for n in range(300))
    pieces = split_long_span(text, (0, len(text)), 100)
    assert all(e - s <= 100 for s, e in pieces)
    assert " ".join(text[s:e] for s, e in pieces) == text  # no word was cut
    blob = "x" * 250
    assert split_long_span(blob, (0, 250), 100) == [(0, 100), (100, 200), (200, 250)]


# ------------------------------------------------------------------------------ chunks


def check_passages(doc: Document, passages: list[Passage], max_chars: int) -> None:
    assert passages, "no passages"
    assert [p.index for p in passages] == list(range(len(passages)))
    for p in passages:
        assert p.text == doc.text[p.start_char : p.end_char]
        assert len(p.text) <= max_chars
        assert p.document_id == doc.id
        assert p.id == stable_id("passage", doc.id, p.text)
        assert p.title == doc.title and p.timestamp == doc.timestamp
    assert len({p.id for p in passages}) == len(passages)


def test_chunks_cover_every_sentence_and_respect_the_limit() -> None:
    doc = document(story(60))
    config = ChunkingConfig(max_chars=400, overlap_sentences=1)
    passages = chunk_document(doc, config)
    check_passages(doc, passages, 400)
    starts = {s for s, _ in split_sentences(doc.text)}
    ends = {e for _, e in split_sentences(doc.text)}
    assert all(p.start_char in starts and p.end_char in ends for p in passages)
    covered = " ".join(p.text for p in passages)
    assert all(sentence in covered for sentence in sentences(doc.text))
    assert passages[0].start_char == 0 and passages[-1].end_char == len(doc.text)


def test_each_chunk_repeats_the_last_sentences_of_the_previous_one() -> None:
    doc = document(story(60))
    for overlap in (1, 2):
        passages = chunk_document(doc, ChunkingConfig(max_chars=500, overlap_sentences=overlap))
        for before, after in zip(passages, passages[1:], strict=False):
            tail = sentences(before.text)[-overlap:]
            assert sentences(after.text)[:overlap] == tail
            assert after.start_char < before.end_char


def test_no_overlap_means_consecutive_chunks() -> None:
    doc = document(story(40))
    passages = chunk_document(doc, ChunkingConfig(max_chars=300, overlap_sentences=0))
    for before, after in zip(passages, passages[1:], strict=False):
        assert after.start_char >= before.end_char
        assert doc.text[before.end_char : after.start_char].strip() == ""


def test_overlap_shrinks_when_it_would_not_leave_room_for_new_text() -> None:
    long_sentence = "word " * 50 + "end."
    doc = document(f"{long_sentence} {long_sentence.replace('end', 'stop')}")
    passages = chunk_document(doc, ChunkingConfig(max_chars=300, overlap_sentences=1))
    assert len(passages) == 2
    assert passages[1].start_char >= passages[0].end_char


def test_over_long_sentence_is_split_at_whitespace() -> None:
    words = [f"token{n}" for n in range(400)]
    doc = document(" ".join(words) + ".")
    passages = chunk_document(doc, ChunkingConfig(max_chars=200, overlap_sentences=0))
    check_passages(doc, passages, 200)
    assert " ".join(p.text for p in passages).rstrip(".").split() == words


def test_passage_ids_are_stable_content_hashes() -> None:
    text = story(30)
    first = chunk_document(document(text), ChunkingConfig(max_chars=300))
    second = chunk_document(document(text), ChunkingConfig(max_chars=300))
    other_doc = chunk_document(document(text, doc_id="doc:2"), ChunkingConfig(max_chars=300))
    assert [p.id for p in first] == [p.id for p in second]
    assert not {p.id for p in first} & {p.id for p in other_doc}
    assert first[0].id == stable_id("passage", "doc:1", first[0].text)


def test_repeated_chunk_text_gives_one_passage() -> None:
    paragraph = "The same boilerplate sentence repeats here."
    doc = document("\n\n".join([paragraph] * 4))
    passages = chunk_document(doc, ChunkingConfig(max_chars=len(paragraph), overlap_sentences=0))
    assert len(passages) == 1
    assert passages[0].text == paragraph


def test_short_document_is_one_passage_and_blank_document_none() -> None:
    doc = document("  Only one short sentence.  ")
    (passage,) = chunk_document(doc)
    assert (passage.text, passage.start_char, passage.end_char) == (
        "Only one short sentence.",
        2,
        26,
    )
    assert chunk_document(document(" \n\n ")) == []


def test_conversation_chunks_break_at_turn_lines() -> None:
    lines = [
        f"{'Ann' if n % 2 else 'Bob'}: turn {n} says something. It goes on a little."
        for n in range(40)
    ]
    doc = document("\n".join(lines), kind=SourceKind.CONVERSATION)
    passages = chunk_document(doc, ChunkingConfig(max_chars=250, overlap_sentences=1))
    check_passages(doc, passages, 250)
    for p in passages:
        assert p.start_char == 0 or doc.text[p.start_char - 1] == "\n"
        assert p.end_char == len(doc.text) or doc.text[p.end_char] == "\n"
    for before, after in zip(passages, passages[1:], strict=False):
        assert after.text.split("\n")[0] == before.text.split("\n")[-1]  # one turn overlaps


def test_over_long_turn_is_split_into_sentences() -> None:
    long_turn = "Ann: " + " ".join(f"Sentence {n} of a long turn." for n in range(30))
    doc = document(f"Bob: Hi.\n{long_turn}\nBob: Bye.", kind=SourceKind.CONVERSATION)
    passages = chunk_document(doc, ChunkingConfig(max_chars=200, overlap_sentences=0))
    check_passages(doc, passages, 200)
    assert all(p.text.rstrip().endswith(".") for p in passages)


def test_markdown_chunk_does_not_end_with_a_heading() -> None:
    body = " ".join(f"Fact {n} about the product line." for n in range(6))
    text = f"# Intro\n\n{body}\n\n## History\n\n{body}\n\n## Future\n\n{body}"
    doc = document(text, kind=SourceKind.MARKDOWN)
    passages = chunk_document(doc, ChunkingConfig(max_chars=240, overlap_sentences=0))
    check_passages(doc, passages, 240)
    assert not any(p.text.split("\n")[-1].startswith("#") for p in passages)
    assert any(p.text.startswith("## History") for p in passages)


def test_heading_moves_to_the_next_chunk_when_its_section_does_not_fit() -> None:
    opening = "The section opens with one long sentence " + "about drones " * 11 + "."
    text = f"# Intro\n\nShort opening line.\n\n## History\n\n{opening} Then more."
    doc = document(text, kind=SourceKind.MARKDOWN)
    passages = chunk_document(doc, ChunkingConfig(max_chars=200, overlap_sentences=1))
    check_passages(doc, passages, 200)
    assert passages[0].text == "# Intro\n\nShort opening line."
    assert passages[1].text.startswith("## History\n\nThe section opens")


def test_heading_is_never_a_passage_of_its_own() -> None:
    too_long = "One sentence that nearly fills a chunk " + "with words " * 14 + "."
    text = f"# Intro\n\nShort opening line.\n\n## History\n\n{too_long}"
    doc = document(text, kind=SourceKind.MARKDOWN)
    passages = chunk_document(doc, ChunkingConfig(max_chars=200, overlap_sentences=0))
    check_passages(doc, passages, 200)
    assert not any(p.text.startswith("#") and "\n" not in p.text for p in passages)


def test_config_from_settings_and_chunk_documents_streams() -> None:
    settings = Settings(chunk_max_chars=300, chunk_overlap_sentences=2)
    config = ChunkingConfig.from_settings(settings)
    assert (config.max_chars, config.overlap_sentences) == (300, 2)
    docs = [document(story(10), doc_id="doc:a"), document(story(12), doc_id="doc:b")]
    passages = list(chunk_documents(iter(docs), config))
    assert {p.document_id for p in passages} == {"doc:a", "doc:b"}
    assert passages == chunk_document(docs[0], config) + chunk_document(docs[1], config)
    with pytest.raises(ValueError):
        ChunkingConfig(max_chars=0)
