"""The real local Neo4j: auth, schema, writes, the Browser, restarts and launcher errors."""

from __future__ import annotations

import json
import socket
import stat
import urllib.request
from pathlib import Path

import pytest
from neo4j import Driver, ManagedTransaction

from graph.driver import PasswordSource, connect, verify, write_transaction
from graph.errors import GraphQueryError, Neo4jAuthError, Neo4jConnectionError, PortInUseError
from graph.schema import ENTITY_NAMES_INDEX, NodeLabel, RelType, ensure_schema, schema_statements
from graph.server import LocalNeo4j, StartOutcome, StopOutcome, free_port
from pipelines.settings import Settings

pytestmark = pytest.mark.integration


def _other_launcher(local_neo4j: LocalNeo4j, settings: Settings) -> LocalNeo4j:
    """A second launcher (another home) sharing the session server's jar cache."""
    return LocalNeo4j(settings, dist_root=local_neo4j.layout.dist_dir.parent)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode("utf-8", errors="replace")


def _merge_document(tx: ManagedTransaction, doc_id: str, passage_ids: list[str]) -> None:
    tx.run(
        f"MERGE (d:{NodeLabel.DOCUMENT} {{id: $doc_id}}) "
        f"WITH d UNWIND $passage_ids AS pid "
        f"MERGE (p:{NodeLabel.PASSAGE} {{id: pid, document_id: $doc_id}}) "
        f"MERGE (d)-[:{RelType.HAS_PASSAGE}]->(p)",
        doc_id=doc_id,
        passage_ids=passage_ids,
    ).consume()


def test_connects_with_auth(neo4j_driver: Driver, neo4j_settings: Settings) -> None:
    records, _, _ = neo4j_driver.execute_query(
        "CALL dbms.components() YIELD name, versions RETURN name, versions[0] AS version",
        database_=neo4j_settings.neo4j_database,
    )
    assert records[0]["name"] == "Neo4j Kernel"
    if not neo4j_settings.uses_external_neo4j:
        assert records[0]["version"] == neo4j_settings.neo4j_version


def test_wrong_password_is_rejected(neo4j_settings: Settings) -> None:
    driver = connect(neo4j_settings, password="definitely-not-the-password")
    with driver, pytest.raises(Neo4jAuthError):
        verify(driver)


def test_schema_can_be_created_twice(neo4j_driver: Driver, neo4j_settings: Settings) -> None:
    db = neo4j_settings.neo4j_database
    first = ensure_schema(neo4j_driver, db)
    second = ensure_schema(neo4j_driver, db)
    assert first == second == tuple(item.name for item in schema_statements())

    constraints, _, _ = neo4j_driver.execute_query("SHOW CONSTRAINTS YIELD name", database_=db)
    indexes, _, _ = neo4j_driver.execute_query("SHOW INDEXES YIELD name, type, state", database_=db)
    names = {r["name"] for r in constraints} | {r["name"] for r in indexes}
    assert set(first) <= names
    by_name = {r["name"]: r for r in indexes}
    assert by_name[ENTITY_NAMES_INDEX]["type"] == "FULLTEXT"
    assert all(by_name[name]["state"] == "ONLINE" for name in first if name in by_name)


def test_write_and_read_back(clean_graph: Driver, neo4j_settings: Settings) -> None:
    db = neo4j_settings.neo4j_database
    ensure_schema(clean_graph, db)
    write_transaction(clean_graph, _merge_document, db, "doc-1", ["p-1", "p-2"])
    write_transaction(clean_graph, _merge_document, db, "doc-1", ["p-1", "p-2"])  # idempotent
    records, _, _ = clean_graph.execute_query(
        f"MATCH (:{NodeLabel.DOCUMENT} {{id: $id}})-[:{RelType.HAS_PASSAGE}]->(p) "
        "RETURN p.id AS id ORDER BY id",
        id="doc-1",
        database_=db,
    )
    assert [r["id"] for r in records] == ["p-1", "p-2"]


def test_uniqueness_constraint_is_enforced(clean_graph: Driver, neo4j_settings: Settings) -> None:
    db = neo4j_settings.neo4j_database
    ensure_schema(clean_graph, db)

    def create_twice(tx: ManagedTransaction) -> None:
        tx.run(f"CREATE (:{NodeLabel.ENTITY} {{id: 'e-1'}}), (:{NodeLabel.ENTITY} {{id: 'e-1'}})")

    with pytest.raises(GraphQueryError, match="create_twice"):
        write_transaction(clean_graph, create_twice, db)


def test_entity_names_fulltext_index(clean_graph: Driver, neo4j_settings: Settings) -> None:
    db = neo4j_settings.neo4j_database
    ensure_schema(clean_graph, db)
    clean_graph.execute_query(
        f"CREATE (:{NodeLabel.ENTITY} {{id: 'e-obama', name: 'Barack Obama', "
        "canonical: 'barack obama', aliases: ['POTUS 44']})",
        database_=db,
    )
    records, _, _ = clean_graph.execute_query(
        "CALL db.index.fulltext.queryNodes($index, $q) YIELD node RETURN node.id AS id",
        index=ENTITY_NAMES_INDEX,
        q="potus",
        database_=db,
    )
    assert [r["id"] for r in records] == ["e-obama"]


def test_browser_is_served(local_neo4j: LocalNeo4j) -> None:
    status, html = _get(local_neo4j.settings.browser_url)
    assert status == 200
    assert "<title>Neo4j Browser</title>" in html


def test_http_discovery_names_the_version(local_neo4j: LocalNeo4j) -> None:
    status, body = _get(f"http://127.0.0.1:{local_neo4j.settings.neo4j_http_port}/")
    assert status == 200
    discovery = json.loads(body)
    assert discovery["neo4j_version"] == local_neo4j.settings.neo4j_version
    assert discovery["bolt_direct"] == local_neo4j.settings.bolt_uri


def test_start_on_a_running_server_is_a_noop(local_neo4j: LocalNeo4j) -> None:
    before = local_neo4j.status()
    report = local_neo4j.start()
    assert report.outcome is StartOutcome.ALREADY_RUNNING
    assert report.pid == before.pid == local_neo4j.status().pid


def test_status_reports_the_password_file(local_neo4j: LocalNeo4j) -> None:
    status = local_neo4j.status()
    assert status.running and status.pid is not None
    assert status.bolt_uri == local_neo4j.settings.bolt_uri
    assert status.data_dir is not None and (status.data_dir / "databases" / "neo4j").is_dir()
    assert status.jars_fetched
    if status.password_source is PasswordSource.FILE:
        assert status.password_file is not None
        assert stat.S_IMODE(status.password_file.stat().st_mode) == 0o600
    else:
        assert status.password_source is PasswordSource.ENV


def test_bolt_port_in_use_is_named(local_neo4j: LocalNeo4j, tmp_path: Path) -> None:
    taken = local_neo4j.settings.neo4j_bolt_port  # the session server listens there
    settings = Settings(
        data_dir=tmp_path,
        neo4j_bolt_port=taken,
        neo4j_http_port=free_port(),
    )
    with pytest.raises(PortInUseError) as info:
        _other_launcher(local_neo4j, settings).start()
    assert info.value.port == taken and f"bolt port {taken}" in str(info.value)


def test_port_held_by_another_program_is_named(local_neo4j: LocalNeo4j, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = Settings(
            data_dir=tmp_path,
            neo4j_bolt_port=free_port(),
            neo4j_http_port=port,
        )
        with pytest.raises(PortInUseError) as info:
            _other_launcher(local_neo4j, settings).start()
    assert info.value.port == port and info.value.purpose == "http"


def test_restart_keeps_the_data(
    local_neo4j: LocalNeo4j, clean_graph: Driver, neo4j_settings: Settings
) -> None:
    db = neo4j_settings.neo4j_database
    clean_graph.execute_query("CREATE (:Marker {value: 42})", database_=db)
    try:
        stopped = local_neo4j.stop()
        assert stopped.outcome is StopOutcome.STOPPED
        assert not local_neo4j.status().running
        assert local_neo4j.stop().outcome is StopOutcome.NOT_RUNNING
        with connect(neo4j_settings) as probe, pytest.raises(Neo4jConnectionError):
            verify(probe)
    finally:
        started = local_neo4j.start()  # other tests need the server back
    assert started.outcome is StartOutcome.STARTED and not started.initialised
    records, _, _ = clean_graph.execute_query(
        "MATCH (m:Marker) RETURN m.value AS value", database_=db
    )
    assert [r["value"] for r in records] == [42]
