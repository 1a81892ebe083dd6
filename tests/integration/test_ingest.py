"""Ingestion end to end against the real Neo4j: stages, idempotency, edits, bad input, restarts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from neo4j import Driver

from graph import ingest as stages
from graph.reader import GraphReader
from pipelines.embeddings import MiniLMEmbeddings
from pipelines.extraction.spacy_extractor import SpacyExtractor
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore

REPO = Path(__file__).resolve().parents[2]
IngestPaths = Callable[[Settings, list[Path]], stages.IngestSummary]
"""The ``ingest_paths`` fixture of tests/conftest.py."""
SAMPLE = REPO / "data" / "sample"


def fingerprint(driver: Driver, database: str) -> dict[str, list[str]]:
    """Every node id per label and every relationship as (start, type, end), sorted."""
    nodes, _, _ = driver.execute_query(
        "MATCH (n) RETURN labels(n)[0] AS label, n.id AS id ORDER BY label, id",
        database_=database,
    )
    rels, _, _ = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN a.id + ' ' + type(r) + ' ' + b.id AS r ORDER BY r",
        database_=database,
    )
    return {"nodes": [f"{r['label']}:{r['id']}" for r in nodes], "rels": [r["r"] for r in rels]}


def test_sample_corpus_ingests_and_reingest_adds_nothing(
    clean_graph: Driver, workdir: Settings, ingest_paths: IngestPaths
) -> None:
    first = ingest_paths(workdir, [SAMPLE])
    reader = GraphReader(clean_graph, workdir.neo4j_database)
    counts = reader.counts()
    assert first.documents.errors == []
    assert counts.documents == first.documents.documents >= 8
    assert counts.passages == first.documents.passages > counts.documents
    assert counts.facts > 50 and counts.entities > 50
    # FAISS holds exactly what Neo4j holds.
    store = VectorStore.open(workdir.vector_dir)
    assert len(store.collection("passage")) == counts.passages
    assert len(store.collection("entity")) == counts.entities
    assert len(store.collection("fact")) == counts.facts
    # Provenance: document -> passage -> fact -> entities, for every fact.
    assert reader.facts_without_provenance() == []
    assert reader.duplicate_canonical_names() == []
    # A fact with a date in its sentence got valid_at; observed_at comes from the source time.
    rows, _, _ = clean_graph.execute_query(
        "MATCH (f:Fact) WHERE f.valid_at IS NOT NULL RETURN count(f) AS n",
        database_=workdir.neo4j_database,
    )
    assert rows[0]["n"] > 10

    before = fingerprint(clean_graph, workdir.neo4j_database)
    second = ingest_paths(workdir, [SAMPLE])
    assert second.documents.documents == 0
    assert second.documents.unchanged == first.documents.documents
    assert second.extraction.passages == 0
    assert sum(second.vectors.added.values()) == 0
    assert fingerprint(clean_graph, workdir.neo4j_database) == before


def test_edited_document_replaces_its_passages_and_facts(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    ingest_paths: IngestPaths,
) -> None:
    doc = tmp_path / "note.md"
    doc.write_text("# Note\n\nMarta Quill founded Zephyr Mills in 2011.\n", encoding="utf-8")
    ingest_paths(workdir, [doc])
    db = workdir.neo4j_database
    old, _, _ = clean_graph.execute_query("MATCH (p:Passage) RETURN p.id AS id", database_=db)
    doc.write_text("# Note\n\nOskar Brandt joined Lumen Freight in 2015.\n", encoding="utf-8")
    summary = ingest_paths(workdir, [doc])
    assert summary.documents.replaced == 1
    counts = GraphReader(clean_graph, db).counts()
    assert counts.documents == 1
    new, _, _ = clean_graph.execute_query("MATCH (p:Passage) RETURN p.id AS id", database_=db)
    assert {r["id"] for r in new}.isdisjoint({r["id"] for r in old})
    subjects, _, _ = clean_graph.execute_query("MATCH (f:Fact) RETURN f.subject AS s", database_=db)
    assert {r["s"] for r in subjects} == {"Oskar Brandt"}
    names, _, _ = clean_graph.execute_query("MATCH (e:Entity) RETURN e.name AS n", database_=db)
    assert "Marta Quill" not in {r["n"] for r in names}
    store = VectorStore.open(workdir.vector_dir)
    assert set(store.collection("passage").ids()) == {r["id"] for r in new}


def test_bad_inputs_are_reported_and_do_not_stop_the_others(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    ingest_paths: IngestPaths,
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "good.txt").write_text("Ines Varga moved to Lisbon in 2020.", encoding="utf-8")
    (inputs / "empty.txt").write_text("   \n", encoding="utf-8")
    (inputs / "binary.txt").write_bytes(b"\x00\x01\x02\xff\xfe")
    (inputs / "notes.docx").write_bytes(b"PK\x03\x04")
    (inputs / "docs.jsonl").write_text(
        json.dumps({"id": "ok-1", "text": "Ravi Shah joined Orbit Labs."}) + "\n{not json\n",
        encoding="utf-8",
    )
    summary = ingest_paths(workdir, [inputs])
    problems = "\n".join(str(e) for e in summary.documents.errors)
    assert "empty.txt" in problems
    assert "binary.txt" in problems
    assert "notes.docx" in problems
    assert "docs.jsonl:2" in problems
    assert summary.documents.documents == 2
    assert GraphReader(clean_graph, workdir.neo4j_database).counts().documents == 2


def test_interrupted_run_finishes_with_the_same_graph(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    extractor: SpacyExtractor,
    ingest_paths: IngestPaths,
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    db = workdir.neo4j_database
    ingest_paths(workdir, [corpus])
    uninterrupted = fingerprint(clean_graph, db)

    clean_graph.execute_query("MATCH (n) DETACH DELETE n", database_=db)
    shutil.rmtree(workdir.vector_dir)
    # A run that dies after writing documents and extracting only part of the passages ...
    stages.write_document_stage(clean_graph, workdir, [corpus])

    class Dies(Exception):
        pass

    calls = 0

    class FailingExtractor:
        name = extractor.name

        def extract(self, passages):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls > 1:
                raise Dies
            return extractor.extract(passages)

    with pytest.raises(Dies):
        stages.extract_stage(clean_graph, workdir, FailingExtractor(), batch_passages=8)  # type: ignore[arg-type]
    assert fingerprint(clean_graph, db) != uninterrupted
    # ... and is started again.
    ingest_paths(workdir, [corpus])
    assert fingerprint(clean_graph, db) == uninterrupted


def test_vectors_rebuild_from_neo4j_when_files_are_lost(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    embedder: MiniLMEmbeddings,
    ingest_paths: IngestPaths,
) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text(
        "Hana Ito designed the Osprey glider. Hana Ito lives in Kyoto.", encoding="utf-8"
    )
    ingest_paths(workdir, [doc])
    before = {
        k: sorted(VectorStore.open(workdir.vector_dir).collection(k).ids())
        for k in ("passage", "entity", "fact")
    }
    shutil.rmtree(workdir.vector_dir)
    result = stages.vector_stage(
        clean_graph, workdir, embedder, VectorStore.open(workdir.vector_dir)
    )
    assert result.added == {k: len(v) for k, v in before.items()}
    after = {k: sorted(VectorStore.open(workdir.vector_dir).collection(k).ids()) for k in before}
    assert after == before
