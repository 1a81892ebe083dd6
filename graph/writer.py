"""Batched, idempotent writes of documents, passages and extractions to Neo4j.

Every write is ``UNWIND $rows ... MERGE`` by id, one transaction per batch (the driver's managed
transactions retry transient errors only). A document is complete once its ``content_hash`` is
set, which happens last in its transaction: a run killed half way leaves either the old version
or the new one, never a mix, and is finished by simply running again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from neo4j import Driver, ManagedTransaction

from graph import cypher
from pipelines.models import Document, Extraction, Passage, canonical_name

T = TypeVar("T")


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def to_native(value: Any) -> Any:
    """Neo4j temporal values as Python ``datetime``; everything else unchanged."""
    return value.to_native() if hasattr(value, "to_native") else value


@dataclass(frozen=True)
class DocumentWriteCounts:
    """What :meth:`GraphWriter.write_documents` did."""

    written: int = 0
    unchanged: int = 0
    replaced: int = 0
    passages_written: int = 0
    passages_removed: int = 0


@dataclass(frozen=True)
class ExtractionWriteCounts:
    """What :meth:`GraphWriter.write_extractions` did."""

    passages: int = 0
    entities: int = 0
    facts: int = 0
    mentions: int = 0


def _prune(tx: ManagedTransaction, fact_ids: Iterable[str], entity_ids: Iterable[str]) -> None:
    """Delete the given facts no passage states any more, then the given entities left orphaned."""
    facts = sorted(set(fact_ids))
    entities = set(entity_ids)
    if facts:
        for record in tx.run(cypher.DELETE_UNSUPPORTED_FACTS, fact_ids=facts):
            entities.update(e for e in record["ends"] if e)
    if entities:
        tx.run(cypher.DELETE_ORPHAN_ENTITIES, entity_ids=sorted(entities)).consume()


def _document_row(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "source": doc.source,
        "kind": str(doc.kind),
        "title": doc.title,
        "timestamp": doc.timestamp,
        "metadata": json.dumps(doc.metadata, sort_keys=True, default=str),
    }


def _passage_row(p: Passage) -> dict[str, Any]:
    return {
        "id": p.id,
        "document_id": p.document_id,
        "index": p.index,
        "text": p.text,
        "title": p.title,
        "timestamp": p.timestamp,
        "start_char": p.start_char,
        "end_char": p.end_char,
    }


class GraphWriter:
    """Writes hippograph's records to Neo4j. Takes a driver; does no I/O when constructed."""

    def __init__(self, driver: Driver, database: str = "neo4j", batch_size: int = 500) -> None:
        self._driver = driver
        self._database = database
        self._batch_size = batch_size

    # -- documents ---------------------------------------------------------------------------

    def content_hashes(self, document_ids: Sequence[str]) -> dict[str, str | None]:
        """Stored content hash per known document id (None: written but not completed)."""
        records, _, _ = self._driver.execute_query(
            cypher.DOCUMENT_HASHES, ids=list(document_ids), database_=self._database
        )
        return {r["id"]: r["content_hash"] for r in records}

    def write_documents(
        self, items: Sequence[tuple[Document, Sequence[Passage]]]
    ) -> DocumentWriteCounts:
        """Write documents with their passages; unchanged documents are skipped.

        A document whose content changed loses the passages its new version no longer has,
        together with the facts only those passages stated and entities left orphaned.
        """
        known = self.content_hashes([doc.id for doc, _ in items])
        todo = [(d, ps) for d, ps in items if known.get(d.id) != d.content_hash]
        replaced = sum(1 for d, _ in todo if d.id in known)
        removed = 0
        # Batch by passages so one huge document does not make one huge transaction.
        for group in self._group_by_passages(todo):
            with self._driver.session(database=self._database) as session:
                removed += session.execute_write(self._write_document_group, group, set(known))
        return DocumentWriteCounts(
            written=len(todo),
            unchanged=len(items) - len(todo),
            replaced=replaced,
            passages_written=sum(len(ps) for _, ps in todo),
            passages_removed=removed,
        )

    def _group_by_passages(
        self, items: Sequence[tuple[Document, Sequence[Passage]]]
    ) -> Iterator[list[tuple[Document, Sequence[Passage]]]]:
        group: list[tuple[Document, Sequence[Passage]]] = []
        size = 0
        for doc, passages in items:
            if group and size + len(passages) > self._batch_size:
                yield group
                group, size = [], 0
            group.append((doc, passages))
            size += len(passages)
        if group:
            yield group

    def _write_document_group(
        self,
        tx: ManagedTransaction,
        group: list[tuple[Document, Sequence[Passage]]],
        known: set[str],
    ) -> int:
        removed = 0
        fact_ids: list[str] = []
        entity_ids: list[str] = []
        for doc, passages in group:
            if doc.id not in known:
                continue  # a new document has no old passages to remove
            keep = [p.id for p in passages]
            for rec in tx.run(cypher.DELETE_STALE_PASSAGES, document_id=doc.id, keep=keep):
                removed += 1
                fact_ids.extend(rec["fact_ids"])
                entity_ids.extend(rec["entity_ids"])
        _prune(tx, fact_ids, entity_ids)
        tx.run(cypher.MERGE_DOCUMENTS, rows=[_document_row(d) for d, _ in group]).consume()
        rows = [_passage_row(p) for _, ps in group for p in ps]
        for chunk in batched(rows, self._batch_size):
            tx.run(cypher.MERGE_PASSAGES, rows=list(chunk)).consume()
        hashes = [{"id": d.id, "content_hash": d.content_hash} for d, _ in group]
        tx.run(cypher.SET_DOCUMENT_HASH, rows=hashes).consume()
        return removed

    # -- extraction ---------------------------------------------------------------------------

    def pending_passages(
        self,
        extractor: str,
        *,
        document_ids: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[Passage]:
        """Passages not yet extracted by ``extractor`` (a version string), in document order."""
        records, _, _ = self._driver.execute_query(
            cypher.PENDING_PASSAGES,
            extractor=extractor,
            document_ids=list(document_ids) if document_ids is not None else None,
            limit=limit,
            database_=self._database,
        )
        return [
            Passage(
                id=r["id"],
                document_id=r["document_id"],
                index=r["index"],
                text=r["text"],
                title=r["title"],
                timestamp=to_native(r["timestamp"]),
                start_char=r["start_char"],
                end_char=r["end_char"],
            )
            for r in records
        ]

    def write_extractions(
        self,
        extractions: Sequence[Extraction],
        *,
        extractor: str,
        observed_at: dict[str, datetime | None],
    ) -> ExtractionWriteCounts:
        """Replace what these passages said with ``extractions``, in one transaction.

        ``observed_at`` maps a passage id to when its source was written or said; a fact keeps
        the earliest such time over all passages that state it.
        """
        entity_rows: dict[str, dict[str, Any]] = {}
        mention_rows: list[dict[str, str]] = []
        fact_rows: list[dict[str, Any]] = []
        for ex in extractions:
            for ent in ex.entities:
                entity_rows.setdefault(
                    ent.id,
                    {
                        "id": ent.id,
                        "name": ent.name,
                        "canonical": ent.canonical,
                        "label": ent.label,
                    },
                )
                mention_rows.append({"passage_id": ex.passage_id, "entity_id": ent.id})
            for fact in ex.facts:
                fact_rows.append(_fact_row(fact, ex.passage_id, observed_at.get(ex.passage_id)))
        passage_ids = [ex.passage_id for ex in extractions]

        def work(tx: ManagedTransaction) -> None:
            fact_ids: list[str] = []
            entity_ids: list[str] = []
            for rec in tx.run(cypher.CLEAR_PASSAGE_EXTRACTIONS, passage_ids=passage_ids):
                fact_ids.extend(rec["fact_ids"])
                entity_ids.extend(rec["entity_ids"])
            rows = sorted(entity_rows.values(), key=lambda r: r["id"])
            for chunk in batched(rows, self._batch_size):
                tx.run(cypher.MERGE_ENTITIES, rows=list(chunk)).consume()
            for chunk in batched(mention_rows, self._batch_size):
                tx.run(cypher.MERGE_MENTIONS, rows=list(chunk)).consume()
            for chunk in batched(fact_rows, self._batch_size):
                tx.run(cypher.MERGE_FACTS, rows=list(chunk)).consume()
            # Prune after the new facts are in, so a fact re-stated keeps its node and history.
            _prune(tx, fact_ids, entity_ids)
            tx.run(cypher.MARK_EXTRACTED, passage_ids=passage_ids, extractor=extractor).consume()

        with self._driver.session(database=self._database) as session:
            session.execute_write(work)
        return ExtractionWriteCounts(
            passages=len(passage_ids),
            entities=len(entity_rows),
            facts=len({r["id"] for r in fact_rows}),
            mentions=len(mention_rows),
        )

    # -- synonyms -----------------------------------------------------------------------------

    def write_synonyms(self, pairs: Sequence[tuple[str, str, float]]) -> int:
        """Merge undirected SYNONYM edges ``(entity_a, entity_b, cosine)``."""
        rows = [{"a": a, "b": b, "score": float(s)} for a, b, s in pairs]
        for chunk in batched(rows, self._batch_size):
            self._driver.execute_query(
                cypher.MERGE_SYNONYMS, rows=list(chunk), database_=self._database
            )
        return len(rows)


def _fact_row(fact: Any, passage_id: str, observed: datetime | None) -> dict[str, Any]:
    return {
        "id": fact.id,
        "passage_id": passage_id,
        "subject": fact.subject,
        "subject_id": fact.subject_id,
        "subject_canonical": canonical_name(fact.subject),
        "predicate": fact.predicate,
        "object": fact.object,
        "object_id": fact.object_id,
        "object_canonical": canonical_name(fact.object),
        "statement": fact.statement,
        "valid_at": fact.valid_at,
        "invalid_at": fact.invalid_at,
        "confidence": fact.confidence,
        "observed_at": observed,
    }
