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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from neo4j import Driver

from graph.driver import connect, verify
from graph.server import LocalNeo4j, free_port
from pipelines.settings import Settings

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
