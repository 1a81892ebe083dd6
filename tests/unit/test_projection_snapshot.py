"""The projection snapshot file: round trip, corrupt files, other versions and databases.

Graphs are built from hand-written records (no database); a graph read back from its snapshot
must equal the graph it was written from, times (with their zones) included, and a file that
cannot be used must raise :class:`SnapshotError` (which the loader turns into a warning and a
full load).
"""

from __future__ import annotations

import json
import logging
from dataclasses import astuple, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytz

from graph.projection_loader import (
    SNAPSHOT_FORMAT,
    SNAPSHOT_VERSION,
    EntityRecord,
    FactRecord,
    GraphRecords,
    GraphState,
    PassageRecord,
    SnapshotError,
    build_graph,
    graph_differences,
    graph_records,
    merge_delta,
    read_snapshot,
    remove_snapshot,
    write_snapshot,
)

DB = "neo4j"
BERLIN = pytz.timezone("Europe/Berlin")

# Times in every form the driver hands out: pytz UTC, pytz fixed offsets, a pytz named zone
# (summer and winter), the standard library's UTC (a local datetime read as UTC), before 1970.
T_UTC = datetime(2021, 3, 1, 12, 30, 5, 123456, tzinfo=pytz.utc)
T_OFFSET = datetime(2019, 4, 1, 9, 0, tzinfo=pytz.FixedOffset(90))
T_WEST = datetime(1950, 6, 1, 0, 0, 0, 1, tzinfo=pytz.FixedOffset(-300))
T_SUMMER = datetime(2021, 7, 1, 0, 0, tzinfo=UTC).astimezone(BERLIN)
T_WINTER = datetime(2021, 1, 1, 0, 0, tzinfo=UTC).astimezone(BERLIN)
T_BEFORE_EPOCH = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=pytz.utc)
T_STDLIB = datetime(2020, 1, 1, 3, 0, tzinfo=UTC)
T_LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=pytz.FixedOffset(-300))


def passage(
    pid: str, doc: str, *, ts: datetime | None = None, archived: bool = False
) -> PassageRecord:
    return PassageRecord(pid, doc, f"title {doc}", f"text of {pid}", ts, f"{doc}.txt", archived)


def fact(fid: str, s: str, o: str, *sources: str, **kw: object) -> FactRecord:
    base = FactRecord(
        fid, s, "rel", o, f"{s} rel {o}", s, o, None, None, None, 0.75, tuple(sources)
    )
    return replace(base, **kw)  # type: ignore[arg-type]


RECORDS = GraphRecords(
    passages=(
        passage("p1", "d1", ts=T_UTC),
        passage("p2", "d1", ts=T_SUMMER),
        passage("p3", "d2", ts=T_STDLIB, archived=True),
        passage("p4", "d3", ts=T_LAST),
    ),
    passage_keys={
        "p1": ("d1", 0, "p1"),
        "p2": ("d1", 1, "p2"),
        "p3": ("d2", 0, "p3"),
        "p4": ("d3", 0, "p4"),
    },
    extracted_by={"p1": "spacy-v1", "p2": "spacy-v1", "p3": "spacy-v2", "p4": None},
    entities=(
        EntityRecord("a", "Ana Lima", "ana lima", ("Ana Lima", "Ana")),
        EntityRecord("b", "Berlin", "berlin", ("Berlin",)),
        EntityRecord("c", "Halvard", "halvard", ()),
    ),
    checked={"a": True, "b": True, "c": False},
    facts=(
        fact("f1", "a", "b", "p1", "p2", valid_at=T_OFFSET, observed_at=T_WINTER),
        fact("f2", "a", "c", "p2", "gone", invalid_at=T_BEFORE_EPOCH, superseded_by="f3"),
        fact("f3", "a", "c", "p3", valid_at=T_WEST, expired_at=T_UTC, archived=True),
        fact("f4", "b", "b", "p1", confidence=1.5),
    ),
    mentions=(("p1", "a"), ("p1", "b"), ("p2", "a"), ("p2", "c"), ("p3", "c"), ("p9", "a")),
    synonyms=(("a", "c", 0.91), ("c", "b", 0.0)),
)
STATE = GraphState(
    documents=3,
    passages=4,
    entities=3,
    facts=4,
    mentions=5,
    states=5,
    synonyms=2,
    supersedes=1,
    archived=2,
    documents_max="2024-01-01T00:00:00Z",
    entities_max="2024-01-02T00:00:00Z",
    extracted=(("spacy-v1", 2), ("spacy-v2", 1)),
)


def exactly(records: GraphRecords) -> list[str]:
    """Every record as the repr of its fields: equal only when times keep their zones too."""
    return [repr(astuple(r)) for r in (*records.passages, *records.entities, *records.facts)]


def test_a_snapshot_round_trips_records_state_and_graph(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "projection.json"
    assert write_snapshot(path, DB, STATE, RECORDS)
    snapshot = read_snapshot(path, DB)
    assert snapshot is not None
    assert snapshot.database == DB and snapshot.state == STATE
    got = snapshot.records
    # times come back as the same instants in the same time zones (the standard library's
    # UTC, which only a local datetime read as UTC gives, comes back as pytz's UTC)
    want = replace(
        RECORDS,
        passages=tuple(
            replace(p, timestamp=T_STDLIB.replace(tzinfo=pytz.utc))
            if p.timestamp is T_STDLIB
            else p
            for p in RECORDS.passages
        ),
    )
    assert exactly(got) == exactly(want)
    assert got.passages == RECORDS.passages and got.facts == RECORDS.facts
    assert dict(got.passage_keys) == dict(RECORDS.passage_keys)
    assert dict(got.extracted_by) == dict(RECORDS.extracted_by)
    assert dict(got.checked) == dict(RECORDS.checked)
    assert set(got.mentions) == set(RECORDS.mentions) and got.synonyms == RECORDS.synonyms
    assert got.rows == 4 + 3 + 4 + len(RECORDS.mentions) + 2
    graph, again = build_graph(STATE, RECORDS), build_graph(snapshot.state, got)
    assert graph.live is not None  # p3 and f3 are archived: the live view round-trips too
    assert graph_differences(graph, again) == []
    assert list(tmp_path.joinpath("cache").iterdir()) == [path]  # no temporary file left


def test_the_file_is_versioned_json_of_its_database(tmp_path: Path) -> None:
    path = tmp_path / "projection.json"
    write_snapshot(path, DB, STATE, RECORDS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert (doc["format"], doc["version"], doc["database"]) == (SNAPSHOT_FORMAT, 1, DB)
    assert doc["state"]["passages"] == 4 and len(doc["facts"]) == 4


def test_a_loaded_graph_gives_back_the_records_it_was_built_from() -> None:
    graph = build_graph(STATE, RECORDS)
    assert graph_differences(build_graph(STATE, graph_records(graph)), graph) == []
    # also after a merged delta: its records rebuild the merged graph
    delta = GraphRecords(
        passages=(passage("p5", "d4", ts=T_OFFSET),),
        passage_keys={"p5": ("d4", 0, "p5")},
        extracted_by={"p5": "spacy-v1"},
        entities=(EntityRecord("d", "Tartu", "tartu", ("Tartu",)),),
        checked={"d": True},
        facts=(fact("f5", "d", "b", "p5"),),
        mentions=(("p5", "d"), ("p5", "b")),
        synonyms=(("d", "b", 0.8),),
    )
    state = replace(
        STATE,
        documents=4,
        passages=5,
        entities=4,
        facts=5,
        mentions=7,
        states=6,
        synonyms=3,
        extracted=(("spacy-v1", 3), ("spacy-v2", 1)),
    )
    merged = merge_delta(graph, delta, state)
    assert graph_differences(build_graph(state, graph_records(merged)), merged) == []
    with pytest.raises(ValueError, match="live view"):
        graph_records(graph.view())


def test_a_missing_file_is_no_snapshot(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path / "none.json", DB) is None
    remove_snapshot(tmp_path / "none.json")  # nothing to delete: no error


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01 not json",
        b'{"format": "hippograph-projection-snapshot", "version": 1, "database": "ne',
        b"[1, 2, 3]",
        b'{"format": "something else", "version": 1}',
    ],
    ids=["binary", "truncated", "not an object", "other format"],
)
def test_a_corrupt_file_raises_snapshot_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "projection.json"
    path.write_bytes(content)
    with pytest.raises(SnapshotError):
        read_snapshot(path, DB)


def test_rows_of_the_wrong_shape_raise_snapshot_error(tmp_path: Path) -> None:
    path = tmp_path / "projection.json"
    write_snapshot(path, DB, STATE, RECORDS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key, broken in (
        ("facts", [row[:-1] for row in doc["facts"]]),  # a column missing
        ("passages", [[1, 2]]),
        ("state", {**doc["state"], "passages": "four"}),
        ("state", {**doc["state"], "unknown_field": 1}),
        ("entities", None),
    ):
        path.write_text(json.dumps({**doc, key: broken}), encoding="utf-8")
        with pytest.raises(SnapshotError, match="corrupt"):
            read_snapshot(path, DB)


def test_another_version_or_database_raises_snapshot_error(tmp_path: Path) -> None:
    path = tmp_path / "projection.json"
    write_snapshot(path, DB, STATE, RECORDS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "version": SNAPSHOT_VERSION + 1}), encoding="utf-8")
    with pytest.raises(SnapshotError, match="version"):
        read_snapshot(path, DB)
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SnapshotError, match="database"):
        read_snapshot(path, "other")
    assert read_snapshot(path, DB) is not None


def test_a_failed_write_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="graph.projection_loader"):
        assert not write_snapshot(blocker / "projection.json", DB, STATE, RECORDS)
    assert "could not write the projection snapshot" in caplog.text


def test_a_rewrite_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "projection.json"
    write_snapshot(path, DB, STATE, RECORDS)
    smaller = replace(RECORDS, facts=RECORDS.facts[:1])
    write_snapshot(path, DB, replace(STATE, facts=1), smaller)
    snapshot = read_snapshot(path, DB)
    assert snapshot is not None and snapshot.state.facts == 1
    assert [f.id for f in snapshot.records.facts] == ["f1"]
    remove_snapshot(path)
    assert not path.exists()
