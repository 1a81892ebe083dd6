"""The projection snapshot across processes, against the real Neo4j.

Each "process" is a new :class:`ProjectionCache` over the same database and snapshot path.
Whatever path its first load takes (snapshot as is, snapshot plus delta, full reload), the
graph must equal a fresh :func:`load_graph` without a snapshot, and the file must be left
describing the graph as it is now.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from neo4j import Driver

from graph.consolidation import consolidate, forget_source
from graph.projection_loader import (
    LoadedGraph,
    ProjectionCache,
    RefreshPath,
    graph_differences,
    load_graph,
    read_snapshot,
)
from graph.schema import NodeLabel as L
from graph.schema import RelType as R
from pipelines.settings import Settings
from tests.conftest import IngestPaths

FIRST = [
    ("role-2019", "2019-04-01", "In March 2019, Ana Lima became the CTO of Halvard Robotics."),
    ("move-2021", "2021-03-01", "In 2021, Ana Lima moved to Berlin. Berlin hosts Halvard Labs."),
    ("kestrel", "2020-01-10", "The Kestrel drone was designed by Elias Brandt in Tartu."),
]
SECOND = [
    ("role-2022", "2022-02-01", "In 2022, Daniel Osei became the CTO of Halvard Robotics."),
    ("brandt", "2022-06-01", "Elias Brandt was born in Tartu and later joined Halvard Robotics."),
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


def first_load(driver: Driver, settings: Settings, path: Path) -> LoadedGraph:
    """What a new process's retriever sees first."""
    return ProjectionCache(driver, settings.neo4j_database, snapshot_path=path).current()


def assert_fresh(driver: Driver, database: str, graph: LoadedGraph, path: Path) -> None:
    """``graph`` equals a full load of the graph as it is now, and the snapshot holds it."""
    fresh = load_graph(driver, database)
    assert fresh.state == graph.state
    assert graph_differences(graph, fresh) == []
    snapshot = read_snapshot(path, database)
    assert snapshot is not None and snapshot.state == fresh.state


def test_a_second_process_loads_the_snapshot(
    clean_graph: Driver, workdir: Settings, tmp_path: Path, ingest_paths: IngestPaths
) -> None:
    db = workdir.neo4j_database
    path = workdir.cache_dir / "projection.json"
    ingest_paths(workdir, write_docs(tmp_path / "one", FIRST))
    first = first_load(clean_graph, workdir, path)
    assert first.refresh.path is RefreshPath.FULL and not first.refresh.snapshot
    assert "no snapshot" in first.refresh.reason and path.exists()

    second = first_load(clean_graph, workdir, path)
    assert second.refresh.path is RefreshPath.SNAPSHOT and second.refresh.snapshot
    assert second.refresh.rows == 0  # nothing but the fingerprint read
    assert_fresh(clean_graph, db, second, path)


def test_an_ingestion_since_the_snapshot_is_merged_incrementally(
    clean_graph: Driver, workdir: Settings, tmp_path: Path, ingest_paths: IngestPaths
) -> None:
    db = workdir.neo4j_database
    path = workdir.cache_dir / "projection.json"
    ingest_paths(workdir, write_docs(tmp_path / "one", FIRST))
    first = first_load(clean_graph, workdir, path)
    ingest_paths(workdir, write_docs(tmp_path / "two", SECOND[:1]))

    second = first_load(clean_graph, workdir, path)
    assert second.refresh.path is RefreshPath.INCREMENTAL, second.refresh.reason
    assert second.refresh.snapshot and second.refresh.rows > 0
    assert len(second.passages) == len(first.passages) + 1
    assert_fresh(clean_graph, db, second, path)
    # the snapshot was rewritten: the next process uses it as it is
    third = first_load(clean_graph, workdir, path)
    assert third.refresh.path is RefreshPath.SNAPSHOT
    assert graph_differences(third, second) == []


def test_a_deletion_since_the_snapshot_falls_back_to_a_full_load(
    clean_graph: Driver, workdir: Settings, tmp_path: Path, ingest_paths: IngestPaths
) -> None:
    db = workdir.neo4j_database
    path = workdir.cache_dir / "projection.json"
    ingest_paths(workdir, write_docs(tmp_path / "one", FIRST))
    first_load(clean_graph, workdir, path)
    assert forget_source(clean_graph, db, "kestrel").documents == ("kestrel",)

    second = first_load(clean_graph, workdir, path)
    assert second.refresh.path is RefreshPath.FULL and second.refresh.snapshot
    assert "after the delta" in second.refresh.reason
    assert not any("Kestrel" in p.text for p in second.passages.values())
    assert_fresh(clean_graph, db, second, path)
    assert first_load(clean_graph, workdir, path).refresh.path is RefreshPath.SNAPSHOT


def test_a_consolidated_graph_round_trips_through_the_snapshot(
    clean_graph: Driver, workdir: Settings, tmp_path: Path, ingest_paths: IngestPaths
) -> None:
    db = workdir.neo4j_database
    path = workdir.cache_dir / "projection.json"
    ingest_paths(workdir, write_docs(tmp_path / "one", FIRST + SECOND[:1]))
    assert consolidate(clean_graph, workdir).facts_superseded >= 1
    first_load(clean_graph, workdir, path)
    second = first_load(clean_graph, workdir, path)
    assert second.refresh.path is RefreshPath.SNAPSHOT
    assert second.consolidated
    assert any(f.superseded_by for f in second.facts.values())
    assert_fresh(clean_graph, db, second, path)


def test_a_corrupt_snapshot_is_ignored_and_replaced(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    ingest_paths: IngestPaths,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = workdir.neo4j_database
    path = workdir.cache_dir / "projection.json"
    ingest_paths(workdir, write_docs(tmp_path / "one", FIRST))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"format": "hippograph-projection-snapshot", "version": 1, "datab')

    with caplog.at_level(logging.WARNING, logger="graph.projection_loader"):
        graph = first_load(clean_graph, workdir, path)
    assert graph.refresh.path is RefreshPath.FULL and not graph.refresh.snapshot
    assert "snapshot ignored" in graph.refresh.reason
    assert "ignoring the projection snapshot" in caplog.text
    assert_fresh(clean_graph, db, graph, path)
    assert first_load(clean_graph, workdir, path).refresh.path is RefreshPath.SNAPSHOT


def test_a_full_reload_in_a_running_cache_rewrites_and_invalidate_deletes(
    clean_graph: Driver, workdir: Settings, tmp_path: Path, ingest_paths: IngestPaths
) -> None:
    db = workdir.neo4j_database
    path = workdir.cache_dir / "projection.json"
    ingest_paths(workdir, write_docs(tmp_path / "one", FIRST))
    cache = ProjectionCache(clean_graph, db, refresh_interval_s=0.0, snapshot_path=path)
    first = cache.current()
    forget_source(clean_graph, db, "kestrel")
    reloaded = cache.current()
    assert reloaded.refresh.path is RefreshPath.FULL and reloaded is not first
    assert_fresh(clean_graph, db, reloaded, path)

    cache.invalidate()
    assert not path.exists()
    again = cache.current()
    assert again.refresh.path is RefreshPath.FULL and path.exists()


def test_times_are_read_as_the_driver_reads_them(clean_graph: Driver, workdir: Settings) -> None:
    """The loader's compact time form (and the snapshot's) gives the driver's ``datetime``:
    same instant, same zone, for offsets, named zones, local times and times before 1970."""
    db = workdir.neo4j_database
    stamps = [
        "datetime('2020-01-01T00:00:00.123456789Z')",
        "datetime('1901-05-01T10:00:00+01:30')",
        "datetime('2021-07-01T00:00:00.5[Europe/Berlin]')",
        "datetime('2021-01-01T00:00:00[America/New_York]')",
        "datetime('1969-12-31T23:59:59.999999999Z')",
        "datetime('1969-12-31T23:59:58.5-05:00')",
        "datetime('2020-01-01T00:00:00[UTC]')",
        "localdatetime('2020-01-01T03:00:00')",
        "date('2020-01-01')",
    ]
    for i, stamp in enumerate(stamps):
        clean_graph.execute_query(
            f"CREATE (d:{L.DOCUMENT} {{id: $doc, ingested_at: datetime()}})"
            f"-[:{R.HAS_PASSAGE}]->(:{L.PASSAGE} {{id: $pid, document_id: $doc, index: 0,"
            f" text: 'x', timestamp: {stamp}}})",
            doc=f"d{i}",
            pid=f"p{i}",
            database_=db,
        )
    records, _, _ = clean_graph.execute_query(
        f"MATCH (p:{L.PASSAGE}) RETURN p.id AS id, p.timestamp AS t", database_=db
    )
    path = workdir.cache_dir / "projection.json"
    loaded = first_load(clean_graph, workdir, path)
    from_snapshot = first_load(clean_graph, workdir, path)
    assert from_snapshot.refresh.path is RefreshPath.SNAPSHOT
    for record in records:
        native = record["t"].to_native() if record["t"] is not None else None
        if not isinstance(native, datetime):
            native = None  # a date is not a point in time: no timestamp
        elif native.tzinfo is None:
            native = native.replace(tzinfo=UTC)  # a local time is read as UTC
        got = loaded.passages[record["id"]].timestamp
        again = from_snapshot.passages[record["id"]].timestamp
        assert got == native and again == native, record["id"]
        if native is not None:
            assert got is not None and again is not None
            assert got.utcoffset() == native.utcoffset() == again.utcoffset()
            if hasattr(native.tzinfo, "zone"):  # as the driver made it: the same pytz zone
                assert repr(got) == repr(native) == repr(again)
