"""Cached OpenIE import: HippoRAG's OpenIE result files become extractions without any model.

A HippoRAG OpenIE file is JSON ``{"docs": [{"idx"?, "title"?, "text"?, "passage",
"extracted_entities": [...], "extracted_triples": [[s, p, o], ...]}, ...]}``. Real files contain
bare ``NaN`` values, triples with other than three items and non-string items; :func:`load_openie`
skips those and counts them in :class:`OpenIEStats`.

Passages are matched to documents by normalised text (NFKC, single spaces, lower case).
HippoRAG's ``passage`` is usually ``"title\\ntext"``, so each document is indexed under its
``passage``, its ``text``, the text after the first line of ``passage``, and ``title + text``;
a :class:`~pipelines.models.Passage` is looked up by its text and by its title plus text.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipelines.errors import InputError
from pipelines.models import Entity, Extraction, Fact, Passage, canonical_name

__all__ = [
    "OPENIE_CONFIDENCE",
    "OpenIEDoc",
    "OpenIEExtractor",
    "OpenIEIndex",
    "OpenIEReport",
    "OpenIEStats",
    "extraction_from_openie",
    "load_openie",
    "match_key",
]

logger = logging.getLogger(__name__)

OPENIE_CONFIDENCE = 0.9
"""Confidence given to imported triples (an LLM's output, unverified)."""

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class OpenIEDoc:
    """One usable document of an OpenIE file."""

    title: str | None
    passage: str
    entities: tuple[str, ...]
    triples: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class OpenIEStats:
    """What :func:`load_openie` kept and skipped."""

    docs: int = 0
    triples: int = 0
    entities: int = 0
    skipped_docs: int = 0
    skipped_triples: int = 0
    skipped_entities: int = 0


@dataclass(frozen=True)
class OpenIEIndex:
    """The documents of one OpenIE file and their lookup keys."""

    source: str
    docs: tuple[OpenIEDoc, ...]
    keys: Mapping[str, int]
    stats: OpenIEStats

    def lookup(self, passage: Passage) -> OpenIEDoc | None:
        """The document whose text (or title plus text) is the passage's, if any."""
        for key in _passage_keys(passage):
            position = self.keys.get(key)
            if position is not None:
                return self.docs[position]
        return None


@dataclass(frozen=True)
class OpenIEReport:
    """Which passages had an OpenIE document."""

    matched: int = 0
    unmatched_ids: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unmatched(self) -> int:
        return len(self.unmatched_ids)


def match_key(text: str) -> str:
    """Normalised text used to match passages to OpenIE documents."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def load_openie(path: Path | str) -> OpenIEIndex:
    """Read an OpenIE result file once and index its documents.

    Raises
    ------
    InputError
        If the file cannot be read or is not ``{"docs": [...]}``.
    """
    source = str(path)
    try:
        with Path(path).open(encoding="utf-8") as f:
            data = json.load(f)  # Python's json accepts the bare NaN these files contain
    except (OSError, ValueError) as e:
        raise InputError(source, f"cannot read OpenIE file: {e}") from e
    raw_docs = data.get("docs") if isinstance(data, dict) else None
    if not isinstance(raw_docs, list):
        raise InputError(source, 'expected a JSON object with a "docs" list')
    index = _build_index(source, raw_docs)
    logger.info("loaded OpenIE %s: %s", source, index.stats)
    return index


def _build_index(source: str, raw_docs: list[Any]) -> OpenIEIndex:
    docs: list[OpenIEDoc] = []
    keys: dict[str, int] = {}
    skipped = {"docs": 0, "triples": 0, "entities": 0}
    for raw in raw_docs:
        parsed = _parse_doc(raw, skipped)
        if parsed is None:
            skipped["docs"] += 1
            continue
        doc, doc_keys = parsed
        for key in doc_keys:
            keys.setdefault(key, len(docs))
        docs.append(doc)
    stats = OpenIEStats(
        docs=len(docs),
        triples=sum(len(d.triples) for d in docs),
        entities=sum(len(d.entities) for d in docs),
        skipped_docs=skipped["docs"],
        skipped_triples=skipped["triples"],
        skipped_entities=skipped["entities"],
    )
    return OpenIEIndex(source=source, docs=tuple(docs), keys=MappingProxyType(keys), stats=stats)


def _parse_doc(raw: Any, skipped: dict[str, int]) -> tuple[OpenIEDoc, list[str]] | None:
    """A document and its lookup keys, or ``None`` if it has no usable passage text."""
    if not isinstance(raw, dict):
        return None
    title, text, passage = (_text(raw.get(k)) for k in ("title", "text", "passage"))
    body = passage or text
    if body is None:
        return None
    entities = _strings(raw.get("extracted_entities"), skipped)
    triples = _triples(raw.get("extracted_triples"), skipped)
    doc = OpenIEDoc(title=title, passage=body, entities=entities, triples=triples)
    return doc, _doc_keys(title, text, passage)


def _doc_keys(title: str | None, text: str | None, passage: str | None) -> list[str]:
    candidates = [passage, text]
    if passage is not None and "\n" in passage:
        candidates.append(passage.split("\n", 1)[1])
    if title is not None and text is not None:
        candidates.append(f"{title}\n{text}")
    return list(dict.fromkeys(match_key(c) for c in candidates if c))


def _passage_keys(passage: Passage) -> list[str]:
    candidates = [passage.text]
    if passage.title:
        candidates.append(f"{passage.title}\n{passage.text}")
    return [match_key(c) for c in candidates]


def _text(value: Any) -> str | None:
    """A non-empty string, else ``None`` (NaN, numbers and blanks are not text)."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _strings(values: Any, skipped: dict[str, int]) -> tuple[str, ...]:
    if not isinstance(values, list):
        if values is not None and not _is_nan(values):
            skipped["entities"] += 1
        return ()
    kept = []
    for value in values:
        text = _text(value)
        if text is None:
            skipped["entities"] += 1
        else:
            kept.append(text.strip())
    return tuple(kept)


def _triples(values: Any, skipped: dict[str, int]) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(values, list):
        if values is not None and not _is_nan(values):
            skipped["triples"] += 1
        return ()
    kept = []
    for value in values:
        triple = _triple(value)
        if triple is None:
            skipped["triples"] += 1
        else:
            kept.append(triple)
    return tuple(kept)


def _triple(value: Any) -> tuple[str, str, str] | None:
    if not isinstance(value, list | tuple) or len(value) != 3:
        return None
    items = [_text(v) for v in value]
    if any(i is None for i in items):
        return None
    subject, predicate, obj = (i.strip() for i in items if i is not None)
    if not canonical_name(subject) or not canonical_name(obj):
        return None
    return subject, predicate, obj


class OpenIEExtractor:
    """Looks passages up in a loaded OpenIE file; no model is run.

    A passage without an OpenIE document gets an empty :class:`Extraction`;
    :meth:`extract_with_report` says which.
    """

    def __init__(self, index: OpenIEIndex) -> None:
        self.index = index

    @classmethod
    def from_file(cls, path: Path | str) -> OpenIEExtractor:
        return cls(load_openie(path))

    @property
    def name(self) -> str:
        return f"openie:{Path(self.index.source).name}"

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        """One :class:`Extraction` per passage, in order (empty when unmatched)."""
        extractions, report = self.extract_with_report(passages)
        if report.unmatched:
            logger.warning(
                "%d of %d passages have no OpenIE entry", report.unmatched, len(passages)
            )
        return extractions

    def extract_with_report(
        self, passages: Sequence[Passage]
    ) -> tuple[list[Extraction], OpenIEReport]:
        """Extractions plus how many passages were matched."""
        extractions = []
        unmatched = []
        for passage in passages:
            doc = self.index.lookup(passage)
            if doc is None:
                unmatched.append(passage.id)
                extractions.append(Extraction(passage_id=passage.id, extractor=self.name))
            else:
                extractions.append(extraction_from_openie(doc, passage.id, self.name))
        report = OpenIEReport(
            matched=len(passages) - len(unmatched), unmatched_ids=tuple(unmatched)
        )
        return extractions, report


def extraction_from_openie(doc: OpenIEDoc, passage_id: str, extractor: str) -> Extraction:
    """Entities (listed ones plus triple endpoints) and one fact per triple."""
    facts: dict[str, Fact] = {}
    for subject, predicate, obj in doc.triples:
        fact = Fact.create(
            subject,
            predicate,
            obj,
            statement=f"{subject} {predicate} {obj}.",
            confidence=OPENIE_CONFIDENCE,
        )
        facts.setdefault(fact.id, fact)
    names = [*doc.entities, *(name for s, _, o in doc.triples for name in (s, o))]
    return Extraction(
        passage_id=passage_id,
        entities=tuple(_unique_entities(names)),
        facts=tuple(facts.values()),
        extractor=extractor,
    )


def _unique_entities(names: Iterable[str]) -> list[Entity]:
    entities: dict[str, Entity] = {}
    for name in names:
        canon = canonical_name(name)
        if canon and canon not in entities:
            entities[canon] = Entity.from_name(name)
    return list(entities.values())
