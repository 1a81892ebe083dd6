"""The incremental refresh of the retrieval projection against the real Neo4j.

Small dated documents are ingested with the real stages (spaCy, MiniLM); after each change the
refreshed graph must equal a fresh :func:`load_graph`, and must have taken the incremental
path exactly when the change was an addition.
"""

from __future__ import annotations

import json
from pathlib import Path

from neo4j import Driver

from graph import ingest as stages
from graph.consolidation import consolidate, forget_source
from graph.projection_loader import (
    LoadedGraph,
    ProjectionCache,
    RefreshPath,
    graph_differences,
    load_graph,
    refresh_graph,
)
from graph.schema import ensure_schema
from pipelines.embeddings import MiniLMEmbeddings
from pipelines.extraction.spacy_extractor import SpacyExtractor
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore

FIRST = [
    ("role-2019", "2019-04-01", "In March 2019, Ana Lima became the CTO of Halvard Robotics."),
    ("move-2021", "2021-03-01", "In 2021, Ana Lima moved to Berlin. Berlin hosts Halvard Labs."),
    ("kestrel", "2020-01-10", "The Kestrel drone was designed by Elias Brandt in Tartu."),
]
SECOND = [
    ("role-2022", "2022-02-01", "In 2022, Daniel Osei became the CTO of Halvard Robotics."),
    ("brandt", "2022-06-01", "Elias Brandt was born in Tartu and later joined Halvard Robotics."),
    ("osei", "2023-01-05", "Daniel Osei, the new CTO of Halvard Robotics, met Ana Lima in Berlin."),
]


def write_docs(folder: Path, docs: list[tuple[str, str, str]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc_id, timestamp, text in docs:
        path = folder / f"{doc_id}.jsonl"
        record = {"id": doc_id, "text": text, "timestamp": timestamp}
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def ingest(
    driver: Driver,
    settings: Settings,
    paths: list[Path],
    extractor: SpacyExtractor,
    embedder: MiniLMEmbeddings,
) -> None:
    ensure_schema(driver, settings.neo4j_database)
    stages.ingest(
        driver,
        settings,
        paths,
        extractor=extractor,
        embedder=embedder,
        store=VectorStore.open(settings.vector_dir),
    )


def assert_fresh(driver: Driver, database: str, graph: LoadedGraph) -> None:
    """``graph`` equals a full load of the graph as it is now."""
    fresh = load_graph(driver, database)
    assert fresh.state == graph.state
    assert graph_differences(graph, fresh) == []


def test_additions_are_merged_incrementally_stage_by_stage(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    extractor: SpacyExtractor,
    embedder: MiniLMEmbeddings,
) -> None:
    db = workdir.neo4j_database
    ingest(clean_graph, workdir, write_docs(tmp_path / "one", FIRST), extractor, embedder)
    base = load_graph(clean_graph, db)
    assert base.refresh.path is RefreshPath.FULL and base.refresh.rows > 0
    base_snapshot, base_passages = base.projection.snapshot(), dict(base.passages)
    assert refresh_graph(clean_graph, db, base) is base  # nothing changed

    # The second batch stage by stage, refreshing after each (as a retriever running
    # between Dagster assets would): documents, then extraction, then vectors and synonyms.
    store = VectorStore.open(workdir.vector_dir)
    graph, incremental = base, 0
    for stage in (
        lambda: stages.write_document_stage(
            clean_graph, workdir, write_docs(tmp_path / "two", SECOND)
        ),
        lambda: stages.extract_stage(clean_graph, workdir, extractor),
        lambda: stages.vector_stage(clean_graph, workdir, embedder, store),
        lambda: stages.synonym_stage(clean_graph, workdir, store),
    ):
        stage()
        refreshed = refresh_graph(clean_graph, db, graph)
        if refreshed is graph:  # the stage changed nothing the projection reads
            continue
        assert refreshed.refresh.path is RefreshPath.INCREMENTAL, refreshed.refresh.reason
        assert_fresh(clean_graph, db, refreshed)
        graph, incremental = refreshed, incremental + 1

    assert incremental >= 2  # at least the documents and the extraction were merged
    fresh = load_graph(clean_graph, db)
    assert len(graph.passages) == len(base.passages) + len(SECOND)
    assert graph.refresh.rows < fresh.refresh.rows  # it read less than a full load
    # the graph a query may still hold did not change underneath it
    assert base.projection.snapshot() is base_snapshot and dict(base.passages) == base_passages


def test_a_whole_ingest_through_the_cache_is_incremental(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    extractor: SpacyExtractor,
    embedder: MiniLMEmbeddings,
) -> None:
    db = workdir.neo4j_database
    ingest(clean_graph, workdir, write_docs(tmp_path / "one", FIRST), extractor, embedder)
    cache = ProjectionCache(clean_graph, db, refresh_interval_s=0.0)
    first = cache.current()
    assert cache.current() is first
    ingest(clean_graph, workdir, write_docs(tmp_path / "two", SECOND), extractor, embedder)
    second = cache.current()
    assert second is not first
    assert second.refresh.path is RefreshPath.INCREMENTAL, second.refresh.reason
    assert_fresh(clean_graph, db, second)


def test_forgetting_a_source_falls_back_to_a_full_reload(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    extractor: SpacyExtractor,
    embedder: MiniLMEmbeddings,
) -> None:
    db = workdir.neo4j_database
    ingest(clean_graph, workdir, write_docs(tmp_path / "one", FIRST), extractor, embedder)
    base = load_graph(clean_graph, db)
    # a deletion together with an addition, in one refresh interval
    assert forget_source(clean_graph, db, "kestrel").documents == ("kestrel",)
    ingest(clean_graph, workdir, write_docs(tmp_path / "two", SECOND[:1]), extractor, embedder)
    refreshed = refresh_graph(clean_graph, db, base)
    assert refreshed.refresh.path is RefreshPath.FULL
    assert "after the delta" in refreshed.refresh.reason
    assert_fresh(clean_graph, db, refreshed)
    assert not any("Kestrel" in p.text for p in refreshed.passages.values())


def test_consolidation_falls_back_and_later_additions_merge_again(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    extractor: SpacyExtractor,
    embedder: MiniLMEmbeddings,
) -> None:
    db = workdir.neo4j_database
    ingest(clean_graph, workdir, write_docs(tmp_path / "one", FIRST), extractor, embedder)
    ingest(clean_graph, workdir, write_docs(tmp_path / "two", SECOND[:1]), extractor, embedder)
    base = load_graph(clean_graph, db)
    report = consolidate(clean_graph, workdir)
    assert report.facts_superseded >= 1  # the 2022 CTO supersedes the 2019 one
    consolidated = refresh_graph(clean_graph, db, base)
    assert consolidated.refresh.path is RefreshPath.FULL
    assert "supersedes" in consolidated.refresh.reason
    assert consolidated.consolidated
    assert_fresh(clean_graph, db, consolidated)

    ingest(clean_graph, workdir, write_docs(tmp_path / "three", SECOND[1:]), extractor, embedder)
    refreshed = refresh_graph(clean_graph, db, consolidated)
    assert refreshed.refresh.path is RefreshPath.INCREMENTAL, refreshed.refresh.reason
    assert refreshed.consolidated
    assert_fresh(clean_graph, db, refreshed)
