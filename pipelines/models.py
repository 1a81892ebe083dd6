"""The records that flow through ingestion: documents, passages, entities, facts, extractions.

All records are frozen Pydantic models; times are timezone-aware ``datetime``s (UTC when the
input gave none). Ids are stable content hashes (see :func:`stable_id`), so the same input gives
the same ids on every machine.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def stable_id(kind: str, *parts: str) -> str:
    """A short, stable content hash: ``kind`` prefix plus 24 hex digits of SHA-256."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return f"{kind}:{h.hexdigest()[:24]}"


_NON_WORD = re.compile(r"[^\w\s'&.-]+")
_SPACE = re.compile(r"\s+")
_LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)


def canonical_name(name: str) -> str:
    """Canonical form of an entity name: NFKC, lower case, no leading article, single spaces.

    ``"The  Acme Corp."`` and ``"acme corp"`` share the canonical form ``"acme corp"``.
    """
    text = unicodedata.normalize("NFKC", name).strip()
    text = _NON_WORD.sub(" ", text)
    text = _SPACE.sub(" ", text).strip(" .-'")
    text = _LEADING_ARTICLE.sub("", text)
    return text.lower().strip()


def normalize_predicate(predicate: str) -> str:
    """Predicate in a comparable form: lower case, single spaces, no surrounding punctuation."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", predicate)).strip(" .,;:").lower()


def ensure_aware(value: datetime | None) -> datetime | None:
    """Make a datetime timezone-aware (naive values are taken as UTC)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SourceKind(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSONL = "jsonl"
    CONVERSATION = "conversation"
    OPENIE = "openie"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Document(_Record):
    """One input document: a file, a JSON Lines record or a conversation session."""

    id: str
    source: str = Field(description="where it came from: a path, or path#line for JSON Lines")
    kind: SourceKind
    title: str | None = None
    text: str
    timestamp: datetime | None = Field(default=None, description="when it was written or said")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return ensure_aware(v)

    @property
    def content_hash(self) -> str:
        return stable_id("content", self.title or "", self.text)


class Passage(_Record):
    """A chunk of a document. ``id`` hashes the document id and the chunk text."""

    id: str
    document_id: str
    index: int = Field(ge=0)
    text: str
    title: str | None = None
    start_char: int = Field(ge=0)
    end_char: int = Field(ge=0)
    timestamp: datetime | None = None

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return ensure_aware(v)


class Entity(_Record):
    """An entity mention normalised to its canonical name; ``id`` hashes the canonical name."""

    id: str
    name: str = Field(description="the surface form first seen")
    canonical: str
    label: str = Field(description="spaCy NER label, NOUN_CHUNK, or CONCEPT from an LLM/OpenIE")

    @classmethod
    def from_name(cls, name: str, label: str = "CONCEPT") -> Entity:
        canon = canonical_name(name)
        return cls(id=stable_id("ent", canon), name=name.strip(), canonical=canon, label=label)


class Fact(_Record):
    """A (subject, predicate, object) triple with its atomic statement and its times.

    ``id`` hashes the canonical subject, the normalised predicate, the canonical object and
    ``valid_at``: the same claim stated in several passages is one fact with several sources.
    """

    id: str
    subject: str
    predicate: str
    object: str
    statement: str = Field(description="a short self-contained single-claim sentence")
    valid_at: datetime | None = None
    invalid_at: datetime | None = None
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)

    @field_validator("valid_at", "invalid_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return ensure_aware(v)

    @property
    def subject_id(self) -> str:
        return stable_id("ent", canonical_name(self.subject))

    @property
    def object_id(self) -> str:
        return stable_id("ent", canonical_name(self.object))

    @classmethod
    def create(
        cls,
        subject: str,
        predicate: str,
        object: str,
        *,
        statement: str | None = None,
        valid_at: datetime | None = None,
        invalid_at: datetime | None = None,
        confidence: float = 1.0,
    ) -> Fact:
        pred = normalize_predicate(predicate)
        valid = ensure_aware(valid_at)
        fid = stable_id(
            "fact",
            canonical_name(subject),
            pred,
            canonical_name(object),
            valid.isoformat() if valid else "",
        )
        return cls(
            id=fid,
            subject=subject.strip(),
            predicate=pred,
            object=object.strip(),
            statement=statement or f"{subject.strip()} {pred} {object.strip()}.",
            valid_at=valid,
            invalid_at=ensure_aware(invalid_at),
            confidence=confidence,
        )


class Extraction(_Record):
    """What an extractor found in one passage."""

    passage_id: str
    entities: tuple[Entity, ...] = ()
    facts: tuple[Fact, ...] = ()
    extractor: str = Field(description="name and version of the extractor that produced it")
