"""Shared fixtures: one real Neo4j per test session, started by hippograph's own launcher.

Used by the integration, Dagster-integration and browser tests. The server runs on
non-default ports (17687/17474 when free, else any free pair) with a temporary data directory;
its jars come from the repository's cache ``data/neo4j/dist`` (the same place ``hippograph neo4j
start`` uses from the repo root), so Maven runs at most once per machine. With ``NEO4J_URI``
set, that external server is used instead and nothing is started; note that ``clean_graph``
then deletes everything in its database.

Fixtures: ``neo4j_settings``, ``neo4j_driver`` (both session scoped) and ``clean_graph``
(function scoped: an empty graph, returns the driver). The server starts only when a test
asks for one of them, so the unit tests never open a socket.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from neo4j import Driver

from graph import ingest as stages
from graph.driver import connect, verify
from graph.schema import ensure_schema
from graph.server import LocalNeo4j, free_port
from pipelines.embeddings import MiniLMEmbeddings
from pipelines.extraction.spacy_extractor import SpacyExtractor
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore

REPO_ROOT = Path(__file__).resolve().parents[1]
JAR_CACHE = REPO_ROOT / "data" / "neo4j" / "dist"
PREFERRED_BOLT_PORT = 17687
PREFERRED_HTTP_PORT = 17474


@dataclass(frozen=True)
class Neo4jServer:
    settings: Settings
    launcher: LocalNeo4j | None  # None: an external server (NEO4J_URI)


def local_settings(data_dir: Path) -> Settings:
    """Settings for a test server in ``data_dir`` on free non-default ports."""
    bolt = free_port(PREFERRED_BOLT_PORT)
    http = free_port(PREFERRED_HTTP_PORT, avoid=bolt)
    return Settings(data_dir=data_dir, neo4j_bolt_port=bolt, neo4j_http_port=http)


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    if os.environ.get("NEO4J_URI"):
        yield Neo4jServer(Settings(), None)
        return
    settings = local_settings(tmp_path_factory.mktemp("hippograph-data"))
    launcher = LocalNeo4j(settings, dist_root=JAR_CACHE)
    launcher.start()
    try:
        yield Neo4jServer(settings, launcher)
    finally:
        launcher.stop()


@pytest.fixture(scope="session")
def neo4j_settings(neo4j_server: Neo4jServer) -> Settings:
    return neo4j_server.settings


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_settings: Settings) -> Iterator[Driver]:
    driver = connect(neo4j_settings)
    verify(driver)
    yield driver
    driver.close()


@pytest.fixture
def clean_graph(neo4j_driver: Driver, neo4j_settings: Settings) -> Driver:
    """The session driver, after deleting every node and relationship."""
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n", database_=neo4j_settings.neo4j_database)
    return neo4j_driver


@pytest.fixture
def local_neo4j(neo4j_server: Neo4jServer) -> LocalNeo4j:
    """The session server's launcher; skips the test against an external server."""
    if neo4j_server.launcher is None:
        pytest.skip("uses an external Neo4j (NEO4J_URI); the launcher is not involved")
    return neo4j_server.launcher


@pytest.fixture
def workdir(tmp_path: Path, neo4j_settings: Settings) -> Settings:
    """The session server's settings with a fresh data directory (vectors, caches)."""
    return neo4j_settings.model_copy(update={"data_dir": tmp_path / "data"})


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbeddings:
    """The default embedder, loaded once per session."""
    return MiniLMEmbeddings()


@pytest.fixture(scope="session")
def extractor() -> SpacyExtractor:
    """The default spaCy extractor, loaded once per session."""
    return SpacyExtractor("en_core_web_sm")


IngestPaths = Callable[[Settings, Sequence[Path]], stages.IngestSummary]


@pytest.fixture(scope="session")
def ingest_paths(
    neo4j_driver: Driver, extractor: SpacyExtractor, embedder: MiniLMEmbeddings
) -> IngestPaths:
    """``ingest_paths(settings, paths)``: every ingestion stage, as ``hippograph ingest`` runs
    them, into the session server (vectors under ``settings.vector_dir``)."""

    def run(settings: Settings, paths: Sequence[Path]) -> stages.IngestSummary:
        ensure_schema(neo4j_driver, settings.neo4j_database)
        return stages.ingest(
            neo4j_driver,
            settings,
            list(paths),
            extractor=extractor,
            embedder=embedder,
            store=VectorStore.open(settings.vector_dir),
        )

    return run
