"""Retrieval after consolidation, against the real Neo4j: stored supersession marks decide
what is current, archived facts and passages are not searched, and retrieval records access.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from neo4j import Driver

from graph.consolidation import ConsolidationOptions, consolidate, restore
from pipelines.embeddings import MiniLMEmbeddings
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore
from retrieval.config import Preset, preset_config
from retrieval.results import RetrievalResult, SupportingFact
from retrieval.retriever import Retriever
from tests.conftest import IngestPaths

DOCS = (
    ("cto-2019", "2019-03-01", "In 2019, Ana Lima became the CTO of Acme Robotics."),
    ("cto-2022", "2022-02-01", "In 2022, Bo Chen became the CTO of Acme Robotics."),
)
QUESTION = "Who is the CTO of Acme Robotics?"
NO_FORGETTING = ConsolidationOptions(forget=False)


@pytest.fixture
def retriever(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    ingest_paths: IngestPaths,
    embedder: MiniLMEmbeddings,
) -> Retriever:
    """The two CTO documents ingested (not consolidated) and a retriever that never caches."""
    paths = []
    for doc_id, timestamp, text in DOCS:
        path = tmp_path / f"{doc_id}.jsonl"
        path.write_text(json.dumps({"id": doc_id, "text": text, "timestamp": timestamp}) + "\n")
        paths.append(path)
    ingest_paths(workdir, paths)
    return Retriever(
        clean_graph,
        database=workdir.neo4j_database,
        embedder=embedder,
        store=VectorStore.open(workdir.vector_dir),
        refresh_interval_s=0.0,
    )


def _cto(result: RetrievalResult, subject: str) -> SupportingFact:
    (fact,) = [f for f in result.facts if f.subject == subject and "cto" in f.predicate.lower()]
    return fact


def _run(driver: Driver, settings: Settings, query: str, **params: object) -> list[dict]:
    rows, _, _ = driver.execute_query(query, params, database_=settings.neo4j_database)
    return [dict(r) for r in rows]


def test_stored_supersession_decides_and_agrees_with_the_fallback(
    retriever: Retriever, clean_graph: Driver, workdir: Settings
) -> None:
    before = retriever.retrieve(QUESTION)
    ana_before, bo_before = _cto(before, "Ana Lima"), _cto(before, "Bo Chen")
    # Never consolidated: the on-the-fly rule says Bo replaced Ana (no stored end yet).
    assert ana_before.superseded and ana_before.superseded_by == bo_before.id
    assert ana_before.invalid_at is None and not bo_before.superseded

    report = consolidate(clean_graph, workdir, options=NO_FORGETTING)
    assert report.facts_superseded == 1
    after = retriever.retrieve(QUESTION)
    ana, bo = _cto(after, "Ana Lima"), _cto(after, "Bo Chen")
    assert ana.superseded and ana.superseded_by == bo.id
    assert ana.invalid_at is not None and ana.invalid_at.year == 2022
    assert ana.expired_at is not None
    assert bo.current and bo.superseded_by is None
    timeline = {t.subject: t for t in after.timeline if "cto" in t.predicate.lower()}
    assert timeline["Ana Lima"].superseded and timeline["Ana Lima"].superseded_by == bo.id
    assert not timeline["Bo Chen"].superseded
    # The stored marks and the fallback agree on this graph.
    assert (ana.superseded_by, bo.superseded) == (ana_before.superseded_by, bo_before.superseded)


def test_stored_marks_win_over_the_on_the_fly_rule(
    retriever: Retriever, clean_graph: Driver, workdir: Settings
) -> None:
    consolidate(clean_graph, workdir, options=NO_FORGETTING)
    # Consolidation undone by hand for this pair, but the graph keeps a mark elsewhere (an
    # archived node), so it still counts as consolidated: retrieval must not re-infer it.
    _run(
        clean_graph,
        workdir,
        """
        MATCH (:Fact)-[r:SUPERSEDES]->(o:Fact) DELETE r
        WITH o REMOVE o.invalid_at, o.invalid_at_source, o.expired_at, o.superseded_by
        """,
    )
    _run(
        clean_graph,
        workdir,
        "CREATE (:Entity {id: 'x', name: 'X'})<-[:SUBJECT]-(:Fact {id: 'unrelated', "
        "archived: true})-[:OBJECT]->(:Entity {id: 'y', name: 'Y'})",
    )
    result = retriever.retrieve(QUESTION)
    assert not _cto(result, "Ana Lima").superseded and not _cto(result, "Bo Chen").superseded


def test_as_of_uses_valid_time(
    retriever: Retriever, clean_graph: Driver, workdir: Settings
) -> None:
    consolidate(clean_graph, workdir, options=NO_FORGETTING)
    in_2020 = retriever.retrieve(QUESTION, as_of=date(2020, 6, 1))
    assert _cto(in_2020, "Ana Lima").current
    assert not any(f.subject == "Bo Chen" for f in in_2020.facts)
    assert not any(t.subject == "Bo Chen" for t in in_2020.timeline)

    in_2023 = retriever.retrieve(QUESTION, as_of=date(2023, 1, 1))
    bo = _cto(in_2023, "Bo Chen")
    ana = _cto(in_2023, "Ana Lima")
    assert bo.current and ana.superseded and ana.superseded_by == bo.id


def test_archived_items_are_not_retrieved_unless_asked(
    retriever: Retriever, clean_graph: Driver, workdir: Settings
) -> None:
    consolidate(clean_graph, workdir, options=NO_FORGETTING)
    ana = _cto(retriever.retrieve(QUESTION), "Ana Lima")
    (passage_id,) = ana.passage_ids
    _run(
        clean_graph,
        workdir,
        "MATCH (n) WHERE (n:Fact OR n:Passage) AND n.id IN $ids "
        "SET n.archived = true, n.archived_at = datetime()",
        ids=[ana.id, passage_id],
    )
    live = retriever.retrieve(QUESTION)
    assert ana.id not in {f.id for f in live.facts} | {t.fact_id for t in live.timeline}
    assert passage_id not in {p.id for p in live.passages}
    assert live.passages, "the live passage about Bo Chen is still found"
    assert _cto(live, "Bo Chen").current

    cfg = preset_config(Preset.PPR_RERANK_TIMELINE).model_copy(update={"include_archived": True})
    with_archive = retriever.retrieve(QUESTION, config=cfg)
    assert ana.id in {f.id for f in with_archive.facts}
    assert passage_id in {p.id for p in with_archive.passages}

    assert set(restore(clean_graph, workdir.neo4j_database, [ana.id, passage_id])) == {
        ana.id,
        passage_id,
    }
    restored = retriever.retrieve(QUESTION)
    assert ana.id in {f.id for f in restored.facts}
    assert passage_id in {p.id for p in restored.passages}


def test_record_access_counts_returned_items(
    retriever: Retriever, clean_graph: Driver, workdir: Settings
) -> None:
    counts = (
        "MATCH (n) WHERE (n:Fact OR n:Passage) "
        "RETURN n.id AS id, n.retrieval_count AS c, n.last_accessed_at AS at"
    )
    retriever.retrieve(QUESTION)  # presets do not record
    assert all(r["c"] is None and r["at"] is None for r in _run(clean_graph, workdir, counts))

    result = retriever.retrieve(QUESTION, record_access=True)
    retriever.retrieve(QUESTION, record_access=True)
    rows = {r["id"]: r for r in _run(clean_graph, workdir, counts)}
    returned = [p.id for p in result.passages] + [f.id for f in result.facts]
    assert returned
    assert all(rows[i]["c"] == 2 and rows[i]["at"] is not None for i in returned)
    assert all(r["c"] is None for i, r in rows.items() if i not in returned)
