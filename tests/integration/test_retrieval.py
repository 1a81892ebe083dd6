"""Retrieval end to end on the sample corpus, against the real Neo4j."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from neo4j import Driver

from graph import ingest as stages
from graph.schema import ensure_schema
from pipelines.embeddings import MiniLMEmbeddings
from pipelines.extraction.spacy_extractor import SpacyExtractor
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore
from retrieval.config import Preset
from retrieval.integrations.langchain import HippographRetriever
from retrieval.results import ResultReason
from retrieval.retriever import Retriever

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
TWO_HOP = "Where was the designer of the Kestrel drone born?"


def _wipe(driver: Driver, settings: Settings) -> None:
    driver.execute_query("MATCH (n) DETACH DELETE n", database_=settings.neo4j_database)


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


@pytest.fixture(scope="module")
def sample(
    neo4j_driver: Driver,
    neo4j_settings: Settings,
    embedder: MiniLMEmbeddings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Retriever]:
    """The sample corpus ingested once for the module, and a retriever over it."""
    settings = neo4j_settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("data")})
    _wipe(neo4j_driver, settings)
    ensure_schema(neo4j_driver, settings.neo4j_database)
    store = VectorStore.open(settings.vector_dir)
    stages.ingest(
        neo4j_driver,
        settings,
        [SAMPLE],
        extractor=SpacyExtractor("en_core_web_sm"),
        embedder=embedder,
        store=store,
    )
    yield Retriever.from_settings(settings, driver=neo4j_driver, store=store, embedder=embedder)
    _wipe(neo4j_driver, settings)


def _rank_of_tartu(result_ids: list[str], retriever: Retriever) -> int | None:
    graph = retriever._cache.current()
    tartu = {p.id for p in graph.passages.values() if "born in Tartu" in p.text}
    assert tartu, "the sample has a passage saying Elias Brandt was born in Tartu"
    return next((i for i, p in enumerate(result_ids, start=1) if p in tartu), None)


def test_two_hop_links_the_designer(sample: Retriever) -> None:
    result = sample.retrieve(TWO_HOP, config=Preset.PPR_RERANK)
    assert result.reason is None
    assert {"Kestrel"} <= {s.name for s in result.seeds}
    assert any(f.statement == "Kestrel was designed by Elias Brandt." for f in result.facts)
    top = result.passages[0]
    assert top.explanation.components.ppr > 0 and top.score == pytest.approx(
        top.explanation.components.fused, abs=1e-5
    )


def test_two_hop_answer_passage_in_top_5_with_ppr(sample: Retriever) -> None:
    """The rerank's hop: "Kestrel was designed by Elias Brandt" makes Elias Brandt a bridge,
    and "Where was the Elias Brandt born?" finds the news item that never names the Kestrel."""
    result = sample.retrieve(TWO_HOP, top_k=5, config=Preset.PPR_RERANK)
    ids = [p.id for p in result.passages]
    rank = _rank_of_tartu(ids, sample)
    assert rank is not None
    why = result.passages[rank - 1].explanation
    assert why.hop_question is not None and "Elias Brandt" in why.hop_question
    assert "Kestrel" not in why.hop_question and "born" in why.hop_question
    assert "Elias Brandt" in {s.name for s in result.seeds}


def test_dense_baseline_on_the_two_hop_question(sample: Retriever) -> None:
    result = sample.retrieve(TWO_HOP, top_k=5, config=Preset.DENSE)
    assert len(result.passages) == 5 and not result.seeds
    assert _rank_of_tartu([p.id for p in result.passages], sample) is None  # dense misses it


def test_as_of_gives_the_cto_at_that_time(sample: Retriever) -> None:
    result = sample.retrieve("Who was CTO of Halvard Robotics?", as_of=date(2020, 6, 1))
    statements = [(f.statement, f.superseded) for f in result.facts] + [
        (t.statement, t.superseded) for t in result.timeline
    ]
    cto = [(s, sup) for s, sup in statements if "CTO" in s or "cto" in s]
    assert any("Priya Nandakumar" in s and not sup for s, sup in cto)
    assert not any("Daniel Osei" in s for s, _ in cto)
    assert all(f.valid_at is None or f.valid_at.year <= 2020 for f in result.facts)


def test_current_cto_supersedes_the_earlier_one(sample: Retriever) -> None:
    result = sample.retrieve("Who is the CTO of Halvard Robotics now?")
    cto = [t for t in result.timeline if "cto" in t.predicate.lower()]
    priya = [t for t in cto if t.subject == "Priya Nandakumar"]
    daniel = [t for t in cto if t.subject == "Daniel Osei"]
    assert priya and daniel
    assert all(t.superseded for t in priya) and not any(t.superseded for t in daniel)
    times = [t.time for t in result.timeline if t.time is not None]
    assert times == sorted(times)


def test_no_entity_falls_back_to_dense(sample: Retriever) -> None:
    result = sample.retrieve("Tell me something nice", config=Preset.PPR)
    assert result.reason is ResultReason.NO_ENTITY_LINKED
    assert result.passages and not result.seeds
    assert all(p.explanation.components.ppr == 0 for p in result.passages)


def test_langchain_adapter_returns_documents(sample: Retriever) -> None:
    docs = HippographRetriever(retriever=sample, top_k=3).invoke(TWO_HOP)
    assert len(docs) == 3
    assert docs[0].metadata["rank"] == 1 and "components" in docs[0].metadata


def test_empty_graph_gives_an_empty_result(
    clean_graph: Driver, neo4j_settings: Settings, embedder: MiniLMEmbeddings
) -> None:
    retriever = Retriever.from_settings(
        neo4j_settings, driver=clean_graph, store=VectorStore(dim=384), embedder=embedder
    )
    result = retriever.retrieve(TWO_HOP)
    assert result.reason is ResultReason.EMPTY_GRAPH
    assert result.passages == [] and result.facts == []
