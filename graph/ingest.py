"""hippograph's write path, stage by stage: documents, extraction, vectors, synonyms.

Each stage is a plain function over a driver and pure pipeline components; the Dagster assets
and ``hippograph ingest`` both call them. Every stage reads what it needs from Neo4j (the system
of record) and is idempotent, so an interrupted run is finished by running it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from neo4j import Driver

from graph import cypher
from graph.reader import VECTOR_KINDS, GraphReader
from graph.writer import GraphWriter, batched
from pipelines.chunking import ChunkingConfig, chunk_document
from pipelines.embeddings import NumpyEmbeddings
from pipelines.errors import InputError
from pipelines.extraction.base import Extractor
from pipelines.loaders import load_documents
from pipelines.models import Document, Passage
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore

Progress = Callable[[str, int], None]
"""Called as ``progress(stage, n_done_since_last_call)``."""


def _no_progress(stage: str, n: int) -> None:
    return None


@dataclass
class StageTimes:
    """Seconds spent per stage."""

    load: float = 0.0
    write_documents: float = 0.0
    extract: float = 0.0
    write_facts: float = 0.0
    embed: float = 0.0
    synonyms: float = 0.0


@dataclass
class DocumentStageResult:
    documents: int = 0
    unchanged: int = 0
    replaced: int = 0
    passages: int = 0
    passages_removed: int = 0
    errors: list[InputError] = field(default_factory=list)


@dataclass
class ExtractStageResult:
    passages: int = 0
    entities: int = 0
    facts: int = 0


@dataclass
class VectorStageResult:
    added: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)


@dataclass
class IngestSummary:
    """What one ``ingest`` run did."""

    documents: DocumentStageResult
    extraction: ExtractStageResult
    vectors: VectorStageResult
    synonym_edges: int
    seconds: float
    times: StageTimes


def write_document_stage(
    driver: Driver,
    settings: Settings,
    paths: Iterable[Path],
    *,
    batch_documents: int = 64,
    progress: Progress = _no_progress,
    times: StageTimes | None = None,
) -> DocumentStageResult:
    """Load ``paths``, chunk them and write documents and passages (streaming, in batches)."""
    times = times if times is not None else StageTimes()
    writer = GraphWriter(driver, settings.neo4j_database, settings.write_batch_size)
    result = DocumentStageResult()
    chunking = ChunkingConfig.from_settings(settings)
    pending: list[tuple[Document, Sequence[Passage]]] = []

    def flush() -> None:
        t0 = time.perf_counter()
        counts = writer.write_documents(pending)
        times.write_documents += time.perf_counter() - t0
        result.documents += counts.written
        result.unchanged += counts.unchanged
        result.replaced += counts.replaced
        result.passages += counts.passages_written
        result.passages_removed += counts.passages_removed
        progress("documents", len(pending))
        pending.clear()

    t0 = time.perf_counter()
    for item in load_documents(list(paths), relative_to=Path.cwd()):
        if isinstance(item, InputError):
            result.errors.append(item)
            continue
        pending.append((item, chunk_document(item, chunking)))
        if len(pending) >= batch_documents:
            times.load += time.perf_counter() - t0
            flush()
            t0 = time.perf_counter()
    times.load += time.perf_counter() - t0
    if pending:
        flush()
    return result


def extract_stage(
    driver: Driver,
    settings: Settings,
    extractor: Extractor,
    *,
    batch_passages: int = 256,
    progress: Progress = _no_progress,
    times: StageTimes | None = None,
) -> ExtractStageResult:
    """Extract every passage the current extractor has not processed yet, batch by batch."""
    times = times if times is not None else StageTimes()
    writer = GraphWriter(driver, settings.neo4j_database, settings.write_batch_size)
    result = ExtractStageResult()
    while True:
        passages = writer.pending_passages(extractor.name, limit=batch_passages)
        if not passages:
            return result
        t0 = time.perf_counter()
        extractions = extractor.extract(passages)
        t1 = time.perf_counter()
        counts = writer.write_extractions(
            extractions,
            extractor=extractor.name,
            observed_at={p.id: p.timestamp for p in passages},
        )
        times.extract += t1 - t0
        times.write_facts += time.perf_counter() - t1
        result.passages += counts.passages
        result.entities += counts.entities
        result.facts += counts.facts
        progress("extract", len(passages))


def vector_stage(
    driver: Driver,
    settings: Settings,
    embedder: NumpyEmbeddings,
    store: VectorStore,
    *,
    batch: int = 512,
    progress: Progress = _no_progress,
    times: StageTimes | None = None,
) -> VectorStageResult:
    """Make the FAISS collections hold exactly the passages, entities and facts Neo4j holds.

    Missing vectors are embedded (each distinct text once), vectors of deleted nodes removed.
    The same function rebuilds the whole store from Neo4j when its files are lost.
    """
    times = times if times is not None else StageTimes()
    reader = GraphReader(driver, settings.neo4j_database)
    result = VectorStageResult()
    dim = embedder.dimension or int(embedder.embed_array(["dimension probe"]).shape[1])
    for kind in VECTOR_KINDS:
        collection = store.collection(kind, dim)
        in_graph = reader.ids(kind)
        in_store = set(collection.ids())
        stale = sorted(in_store - in_graph)
        if stale:
            collection.remove(stale)
        missing = sorted(in_graph - in_store)
        t0 = time.perf_counter()
        for chunk in batched(missing, batch):
            texts = reader.texts(kind, chunk)
            ids = [i for i in chunk if i in texts]
            collection.add(ids, embedder.embed_array([texts[i] for i in ids]))
            progress(f"embed {kind} vectors", len(ids))
        times.embed += time.perf_counter() - t0
        result.added[kind] = len(missing)
        result.removed[kind] = len(stale)
        result.total[kind] = len(collection)
    store.save(settings.vector_dir)
    return result


def synonym_stage(
    driver: Driver,
    settings: Settings,
    store: VectorStore,
    *,
    batch: int = 1024,
    times: StageTimes | None = None,
) -> int:
    """Link entities not yet checked to their near neighbours (cosine >= threshold).

    Incremental: only entities without ``synonyms_checked`` are queried, against the entity
    index that already holds every entity; never all against all.
    """
    times = times if times is not None else StageTimes()
    t0 = time.perf_counter()
    writer = GraphWriter(driver, settings.neo4j_database, settings.write_batch_size)
    if "entity" not in store:
        return 0
    entities = store.collection("entity")
    written = 0
    while True:
        records, _, _ = driver.execute_query(
            cypher.UNCHECKED_ENTITIES, limit=batch, database_=settings.neo4j_database
        )
        if not records:
            break
        ids = [r["id"] for r in records if r["id"] in entities]
        pairs: dict[tuple[str, str], float] = {}
        if ids:
            queries = np.stack([entities.vector(i) for i in ids])
            hits = entities.search(queries, settings.synonym_top_k + 1)
            for src, row in zip(ids, hits, strict=True):
                for dst, score in row:
                    if dst != src and score >= settings.synonym_threshold:
                        a, b = sorted((src, dst))
                        pairs[(a, b)] = max(score, pairs.get((a, b), 0.0))
        written += writer.write_synonyms([(a, b, s) for (a, b), s in sorted(pairs.items())])
        driver.execute_query(
            cypher.MARK_SYNONYMS_CHECKED,
            ids=[r["id"] for r in records],
            database_=settings.neo4j_database,
        )
    times.synonyms += time.perf_counter() - t0
    return written


def ingest(
    driver: Driver,
    settings: Settings,
    paths: Sequence[Path],
    *,
    extractor: Extractor,
    embedder: NumpyEmbeddings,
    store: VectorStore,
    progress: Progress = _no_progress,
) -> IngestSummary:
    """Run every stage over ``paths``: what ``hippograph ingest`` and ``ingest_job`` do."""
    times = StageTimes()
    t0 = time.perf_counter()
    docs = write_document_stage(driver, settings, paths, progress=progress, times=times)
    extraction = extract_stage(driver, settings, extractor, progress=progress, times=times)
    vectors = vector_stage(driver, settings, embedder, store, progress=progress, times=times)
    synonyms = synonym_stage(driver, settings, store, times=times)
    return IngestSummary(
        documents=docs,
        extraction=extraction,
        vectors=vectors,
        synonym_edges=synonyms,
        seconds=time.perf_counter() - t0,
        times=times,
    )
