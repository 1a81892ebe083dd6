"""Load the retrieval view of the graph from Neo4j: a PPR projection plus the records around it.

:func:`load_graph` reads passages, entities, mentions, facts and synonym edges in five queries
and returns a frozen :class:`LoadedGraph`: a :class:`~graph.projection.GraphProjection` over
entity and passage nodes (edges: one ``fact`` edge of weight 1 per fact between its subject and
object entities, ``mention`` edges of weight 1 between a passage and each entity it mentions,
``synonym`` edges weighted by their cosine score) and the passage, entity and fact records
retrieval needs to score and explain results. Records come in a canonical order (passages by
document and index, entities and facts by id; every id tuple in the derived maps sorted), so
two loads of the same graph are equal item by item, order included. Each query returns its rows
as one list in one record, and times in a compact form (see :mod:`graph.retrieval_cypher`):
the Python driver's cost is per record and per temporal value, and this cuts a full load's
reading time about fourfold; the projection is built from index arrays, and cyclic garbage
collection is paused while records are created.

Consolidation marks are read as stored: a fact's ``superseded_by`` comes from its incoming
``SUPERSEDES`` links (the earliest newer fact), ``expired_at`` and ``archived`` from its
properties, a passage's ``archived`` likewise. :attr:`LoadedGraph.consolidated` says whether
the graph carries any such mark (then retrieval trusts them instead of inferring supersession);
:meth:`LoadedGraph.view` gives the graph without archived facts and passages (the default of
retrieval), built once per load.

:func:`record_access` is the one write retrieval does: ``retrieval_count + 1`` and
``last_accessed_at`` on the passages and facts a query returned.

**Refreshing.** :class:`ProjectionCache` keeps the last graph and checks, at most once per
``refresh_interval_s``, a cheap fingerprint (:func:`read_state`: node and relationship counts,
the newest creation times, the number and newest time of SUPERSEDES links and archived nodes,
and how many passages each extractor version has processed). When it changed,
:func:`refresh_graph` first tries the incremental path: it reads only what ingestion can have
added since the previous load (five queries, :func:`read_delta`) --

* the passages of documents ingested since the previous newest ``ingested_at``, plus the
  passages that were not extracted yet then (their extraction may have run since);
* entities and facts created since the previous newest ``created_at``, plus the entities those
  passages mention (an extraction appends aliases) and the facts they state (an existing fact
  gains a source, a higher confidence, an earlier ``observed_at``);
* the mentions of those passages, and every SYNONYM edge at an entity that is new or was not
  yet checked for synonyms (the synonym stage only ever links unchecked entities) --

and :func:`merge_delta` patches a copy of the projection (:meth:`GraphProjection.from_snapshot`:
the old graph is never touched, a query holding it sees no change) and the record maps. The
patched graph is kept only if it is provably what a full reload gives: the SUPERSEDES and
archive components of the fingerprint are unchanged, no re-read record lost a source, moved or
changed its archive state, and the merged graph's own counts (passages, entities, facts,
mentions, STATES links, synonym edges, passages per extractor version) equal the new
fingerprint's. Since the delta holds every addition ingestion makes, equal counts mean nothing
was deleted, so any deletion (``hippograph forget``, a document replaced, a re-extraction's
pruning, entity and fact merges), supersession, archiving or restoring, or a re-extraction by
another extractor version falls back to a full reload (:attr:`LoadedGraph.refresh` records the
path taken, the rows read and the reason). When something is archived the live view is
re-assembled in memory from the merged records (no database reads; O(graph)).

**Snapshots.** Every ``hippograph query`` is a new process, so :class:`ProjectionCache` and
:func:`load_graph` take a ``snapshot_path``: a load that read records from Neo4j stores them,
with the fingerprint read before them, in that file (:func:`write_snapshot`: JSON, the load
queries' rows, a format version and the database name; written to a temporary file and renamed
over the old one). The first load of the next process reads the fingerprint (one query); when
it equals the file's, the graph is built from the file alone (:attr:`RefreshPath.SNAPSHOT`);
otherwise the file's graph is refreshed as :func:`refresh_graph` refreshes (the delta merged,
or a full reload when the delta cannot explain the change) and the file rewritten. A missing
file, or one that is unreadable, corrupt, of another version or another database, is logged,
never raised, and replaced after a full load. A running cache rewrites the file after each full
reload, not after incremental refreshes (the next process merges those itself).

Limitations: the delta's time filters use range indexes (``Document.ingested_at``,
``Entity.created_at``, ``Fact.created_at``; see :mod:`graph.schema`), but it still re-reads the
passages not extracted yet and the entities not checked for synonyms; the incremental graph's
projection numbers its nodes in a different order than a fresh load (same nodes, edges and
weights; a node pair with two SYNONYM edges may differ in the last bit of its weight). As
before, an edit that leaves every count and creation time unchanged (a passage text rewritten
in place into facts that already exist; a document replaced by exactly as many passages,
mentions and facts, extracted by the same version) is not noticed until some other change or
:meth:`ProjectionCache.invalidate`; with the incremental path such a change that coincides
with an ingestion of new documents in the same refresh interval is not noticed either. With a
snapshot, such an unnoticed edit outlives the process: every later process finds the fingerprint
equal to the file's and keeps serving the old records, until another change or
:meth:`ProjectionCache.invalidate` (which deletes the file; deleting it by hand works too).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import pytz
from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from graph import retrieval_cypher as q
from graph.errors import GraphError, GraphQueryError
from graph.projection import NODE_KIND_CODES, EdgeKind, GraphProjection, NodeKind

__all__ = [
    "DeltaBasis",
    "DeltaRejected",
    "EntityRecord",
    "FactRecord",
    "GraphRecords",
    "GraphState",
    "LoadedGraph",
    "PassageRecord",
    "ProjectionCache",
    "RefreshPath",
    "RefreshStats",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_VERSION",
    "Snapshot",
    "SnapshotError",
    "build_graph",
    "graph_differences",
    "graph_records",
    "load_graph",
    "merge_delta",
    "read_delta",
    "read_records",
    "read_snapshot",
    "read_state",
    "record_access",
    "refresh_graph",
    "remove_snapshot",
    "write_snapshot",
]

logger = logging.getLogger(__name__)

PassageKey: TypeAlias = tuple[str, int, str]
"""Where a passage sorts: ``(document_id, index, id)``."""


@dataclass(frozen=True)
class GraphState:
    """A fingerprint of the graph: equal states mean the projection need not be reloaded."""

    documents: int = 0
    passages: int = 0
    entities: int = 0
    facts: int = 0
    mentions: int = 0
    states: int = 0
    synonyms: int = 0
    supersedes: int = 0
    archived: int = 0
    documents_max: str | None = None
    entities_max: str | None = None
    facts_max: str | None = None
    supersedes_max: str | None = None
    archived_max: str | None = None
    extracted: tuple[tuple[str, int], ...] = ()
    """``(extractor version, passages it extracted)`` pairs, sorted by version."""


# Fingerprint components a delta cannot explain: any change to them means a full reload.
_CONSOLIDATION_FIELDS = ("supersedes", "supersedes_max", "archived", "archived_max")
# Counts a merged graph must reproduce exactly.
_COUNTED_FIELDS = ("passages", "entities", "facts", "mentions", "states", "synonyms")


@dataclass(frozen=True)
class PassageRecord:
    id: str
    document_id: str
    title: str | None
    text: str
    timestamp: datetime | None
    source: str | None
    archived: bool = False


@dataclass(frozen=True)
class EntityRecord:
    id: str
    name: str
    canonical: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class FactRecord:
    id: str
    subject: str
    predicate: str
    object: str
    statement: str
    subject_id: str
    object_id: str
    valid_at: datetime | None
    invalid_at: datetime | None
    observed_at: datetime | None
    confidence: float
    passage_ids: tuple[str, ...]
    superseded_by: str | None = None
    """The newer fact consolidation linked with ``SUPERSEDES`` (None: not superseded, or the
    graph was never consolidated)."""
    expired_at: datetime | None = None
    """When consolidation retired the fact (transaction time; not used for ``as_of``)."""
    archived: bool = False

    @property
    def consolidation_marked(self) -> bool:
        """Whether consolidation left a mark on this fact (superseded or archived)."""
        return self.superseded_by is not None or self.expired_at is not None or self.archived


class RefreshPath(StrEnum):
    """How a :class:`LoadedGraph` was produced."""

    FULL = "full"
    """Every record read and the projection built from scratch."""
    INCREMENTAL = "incremental"
    """Only the delta read; the previous graph's projection and maps patched."""
    SNAPSHOT = "snapshot"
    """Built from a snapshot file whose fingerprint equals the graph's (only the fingerprint
    read from Neo4j)."""


@dataclass(frozen=True)
class RefreshStats:
    """How one load or refresh went (a frozen record on the graph it produced)."""

    path: RefreshPath
    rows: int
    """Rows the record queries returned (the fingerprint query not counted); for a full
    reload after a rejected delta, the delta's rows included."""
    seconds: float
    reason: str = ""
    """Why the graph was loaded in full (empty for an incremental refresh)."""
    snapshot: bool = False
    """Whether the load started from a snapshot file's graph: used as it was (``SNAPSHOT``),
    the delta since merged into it (``INCREMENTAL``), or the delta rejected (``FULL``)."""


@dataclass(frozen=True)
class GraphRecords:
    """Records as read from Neo4j, not yet assembled: a whole graph or a delta.

    ``facts`` keep every source passage id stored; :func:`build_graph` and
    :func:`merge_delta` drop those of passages the graph does not hold.
    """

    passages: tuple[PassageRecord, ...] = ()
    passage_keys: Mapping[str, PassageKey] = field(default_factory=dict)
    extracted_by: Mapping[str, str | None] = field(default_factory=dict)
    """Per passage, the extractor version that extracted it (None: not extracted yet)."""
    entities: tuple[EntityRecord, ...] = ()
    checked: Mapping[str, bool] = field(default_factory=dict)
    """Per entity, whether the synonym stage has checked it."""
    facts: tuple[FactRecord, ...] = ()
    mentions: tuple[tuple[str, str], ...] = ()
    synonyms: tuple[tuple[str, str, float], ...] = ()
    rows: int = 0


@dataclass(frozen=True, eq=False)
class DeltaBasis:
    """What a load remembers so that the next refresh can read only what was added."""

    passage_keys: Mapping[str, PassageKey]
    extracted_by: Mapping[str, str | None]
    extracted: Mapping[str, int]
    """Passages per extractor version."""
    pending: frozenset[str]
    """Passages not extracted yet."""
    unchecked: frozenset[str]
    """Entities not checked for synonyms yet."""
    synonyms: Mapping[tuple[str, str], float]
    """Score per stored SYNONYM edge ``(start, end)``."""
    mentions: int
    states: int


_INITIAL = RefreshStats(RefreshPath.FULL, 0, 0.0, "built from records")


@dataclass(frozen=True, eq=False)
class LoadedGraph:
    """The retrieval view of one version of the graph. Never mutated after it is built."""

    state: GraphState
    projection: GraphProjection
    passages: Mapping[str, PassageRecord]
    entities: Mapping[str, EntityRecord]
    facts: Mapping[str, FactRecord]
    passage_entities: Mapping[str, tuple[str, ...]]
    entity_passages: Mapping[str, tuple[str, ...]]
    entity_facts: Mapping[str, tuple[str, ...]]
    passage_facts: Mapping[str, tuple[str, ...]]
    consolidated: bool = False
    """Whether any fact or passage carries a consolidation mark (SUPERSEDES, archived)."""
    live: LoadedGraph | None = None
    """This graph without archived facts and passages; None when nothing is archived (or when
    this already is the live view)."""
    loaded_at: float = field(default_factory=time.monotonic)
    refresh: RefreshStats = _INITIAL
    """How this graph was produced: full load or incremental refresh, rows read, time."""
    basis: DeltaBasis | None = field(default=None, repr=False)
    """What the next incremental refresh starts from (None on a live view)."""

    @property
    def is_empty(self) -> bool:
        return not self.passages

    def view(self, *, include_archived: bool = False) -> LoadedGraph:
        """The graph retrieval should search: without archived items unless asked for."""
        return self if include_archived or self.live is None else self.live


class DeltaRejected(GraphError):
    """A delta cannot be merged exactly; the graph must be reloaded in full (see the reason)."""


def _native(value: Any) -> datetime | None:
    """A neo4j ``DateTime`` (or ``datetime``) as a timezone-aware ``datetime``."""
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    if not isinstance(native, datetime):
        return None
    return native if native.tzinfo is not None else native.replace(tzinfo=UTC)


_EPOCH = datetime(1970, 1, 1)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a whole graph's records are created.

    The records hold no reference cycles, but creating some 10^5 container objects triggers
    many full collections that find nothing (about 40% of :func:`build_graph`'s time);
    collection resumes, if it was enabled, when the block ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _time(value: Any) -> datetime | None:
    """A time property as the load queries send it (:func:`graph.retrieval_cypher._time`), as
    the timezone-aware ``datetime`` the driver would have made of it, at a fraction of its cost.

    ``[epoch milliseconds, nanosecond of the second, offset seconds, zone]``: the instant in
    the zone's ``pytz`` time zone, an offset zone (``Z``, ``+01:00``) as ``pytz.FixedOffset``
    of whole minutes (as the driver makes them), microseconds truncated. Anything else as
    :func:`_native` reads it.
    """
    if not isinstance(value, list):
        return _native(value)
    millis, nanos, offset, zone = value
    since = timedelta(seconds=millis // 1000, microseconds=nanos // 1000)
    if zone == "Z" or zone[:1] in ("+", "-"):
        minutes = offset // 60
        wall = _EPOCH + (since + timedelta(minutes=minutes))
        return wall.replace(tzinfo=pytz.FixedOffset(minutes))
    return (_EPOCH + since).replace(tzinfo=UTC).astimezone(pytz.timezone(zone))


def _wire_time(value: datetime | None) -> list[Any] | None:
    """The wire form :func:`_time` reads, of an aware ``datetime`` (to write snapshots)."""
    if value is None:
        return None
    offset = value.utcoffset() or timedelta(0)
    since = value.replace(tzinfo=None) - _EPOCH - offset
    seconds = int(offset.total_seconds())
    zone = getattr(value.tzinfo, "zone", None) or getattr(value.tzinfo, "key", None)
    if not isinstance(zone, str):  # a fixed offset
        sign, rest = ("+" if seconds >= 0 else "-"), abs(seconds)
        zone = "Z" if seconds == 0 else f"{sign}{rest // 3600:02d}:{rest % 3600 // 60:02d}"
    millis = (since.days * 86400 + since.seconds) * 1000 + since.microseconds // 1000
    return [millis, since.microseconds * 1000, seconds, zone]


def _run(driver: Driver, database: str, query: str, **params: Any) -> list[Any]:
    try:
        records, _, _ = driver.execute_query(
            query, parameters_=params, database_=database, routing_="r"
        )
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"loading the retrieval projection failed: {e}") from e
    return list(records)


def _rows(driver: Driver, database: str, query: str, **params: Any) -> list[list[Any]]:
    """The ``rows`` list of a load query (one record; see :mod:`graph.retrieval_cypher`)."""
    (record,) = _run(driver, database, query, **params)
    rows: list[list[Any]] = record[0]
    return rows


def read_state(driver: Driver, database: str) -> GraphState:
    """The graph's current fingerprint (one query)."""
    (record,) = _run(driver, database, q.GRAPH_STATE)
    values = dict(record)
    values["extracted"] = tuple((str(v), int(n)) for v, n in values["extracted"])
    return GraphState(**values)


# ---- reading ---------------------------------------------------------------------------------


def _records(
    passage_rows: Sequence[Sequence[Any]],
    entity_rows: Sequence[Sequence[Any]],
    fact_rows: Sequence[Sequence[Any]],
    mention_rows: Sequence[Sequence[Any]],
    synonym_rows: Sequence[Sequence[Any]],
) -> GraphRecords:
    """Records from rows in the load queries' column order (see :mod:`graph.retrieval_cypher`;
    snapshots store the same rows)."""
    passages = []
    passage_keys: dict[str, PassageKey] = {}
    extracted_by: dict[str, str | None] = {}
    for pid, doc, index, title, text, timestamp, source, archived, version in passage_rows:
        passages.append(
            PassageRecord(pid, doc, title, text or "", _time(timestamp), source, bool(archived))
        )
        passage_keys[pid] = (doc, int(index or 0), pid)
        extracted_by[pid] = version
    entities = []
    checked: dict[str, bool] = {}
    for eid, name, canonical, aliases, is_checked in entity_rows:
        entities.append(
            EntityRecord(eid, name or canonical or eid, canonical or "", tuple(aliases or ()))
        )
        checked[eid] = bool(is_checked)
    facts = [
        FactRecord(
            id=fid,
            subject=subject or "",
            predicate=predicate or "",
            object=obj or "",
            statement=statement or "",
            subject_id=subject_id,
            object_id=object_id,
            valid_at=_time(valid_at),
            invalid_at=_time(invalid_at),
            observed_at=_time(observed_at),
            confidence=float(confidence or 0.0),
            passage_ids=tuple(passage_ids),
            superseded_by=next(iter(newer), None) or superseded_by,
            expired_at=_time(expired_at),
            archived=bool(archived),
        )
        for (
            fid,
            subject,
            predicate,
            obj,
            statement,
            subject_id,
            object_id,
            valid_at,
            invalid_at,
            observed_at,
            confidence,
            passage_ids,
            newer,
            superseded_by,
            expired_at,
            archived,
        ) in fact_rows
    ]
    mentions = tuple((pid, eid) for pid, eids in mention_rows for eid in eids)
    return GraphRecords(
        passages=tuple(passages),
        passage_keys=passage_keys,
        extracted_by=extracted_by,
        entities=tuple(entities),
        checked=checked,
        facts=tuple(facts),
        mentions=mentions,
        synonyms=tuple((a, b, float(score or 0.0)) for a, b, score in synonym_rows),
        rows=len(passages) + len(entities) + len(facts) + len(mentions) + len(synonym_rows),
    )


def read_records(driver: Driver, database: str) -> GraphRecords:
    """Every record the retrieval view needs (five queries).

    Raises:
        GraphQueryError: a query failed.
    """
    with _gc_paused():
        return _records(
            _rows(driver, database, q.PASSAGES),
            _rows(driver, database, q.ENTITIES),
            _rows(driver, database, q.FACTS),
            _rows(driver, database, q.MENTIONS),
            _rows(driver, database, q.SYNONYMS),
        )


def read_delta(driver: Driver, database: str, base: LoadedGraph) -> GraphRecords:
    """What ingestion can have added to the graph since ``base`` was loaded (five queries).

    The queries run in the order the writers commit (passages, then the entities and facts
    they mention and state, then mentions, then synonym edges), so a write that lands between
    two of them is either fully seen or left for the next refresh.

    Raises:
        DeltaRejected: ``base`` carries no :class:`DeltaBasis` (it is a live view).
        GraphQueryError: a query failed.
    """
    basis = base.basis
    if basis is None:
        raise DeltaRejected("the graph has no delta basis")
    passage_rows = _rows(
        driver,
        database,
        q.PASSAGES_DELTA,
        since=base.state.documents_max,
        passage_ids=sorted(basis.pending),
    )
    passage_ids = [r[0] for r in passage_rows]
    entity_rows = _rows(
        driver,
        database,
        q.ENTITIES_DELTA,
        since=base.state.entities_max,
        entity_ids=sorted(basis.unchecked),
        passage_ids=passage_ids,
    )
    fact_rows = _rows(
        driver, database, q.FACTS_DELTA, since=base.state.facts_max, passage_ids=passage_ids
    )
    mention_rows = _rows(driver, database, q.MENTIONS_DELTA, passage_ids=passage_ids)
    added = {r[0] for r in entity_rows} - base.entities.keys()
    synonym_rows = _rows(
        driver, database, q.SYNONYMS_DELTA, entity_ids=sorted(basis.unchecked | added)
    )
    return _records(passage_rows, entity_rows, fact_rows, mention_rows, synonym_rows)


# ---- assembling --------------------------------------------------------------------------------


def _known_sources(fact: FactRecord, passages: Mapping[str, PassageRecord]) -> FactRecord:
    """``fact`` with only the source passages the graph holds."""
    if all(p in passages for p in fact.passage_ids):
        return fact
    return replace(fact, passage_ids=tuple(p for p in fact.passage_ids if p in passages))


def _sorted_union(old: Iterable[str], new: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(old).union(new)))


def build_graph(
    state: GraphState, records: GraphRecords, *, refresh: RefreshStats = _INITIAL
) -> LoadedGraph:
    """Assemble the retrieval view (projection, maps, live view) from a whole graph's records.

    Pure: no I/O. Records are put in the canonical order whatever order they come in.
    """
    with _gc_paused():
        return _build_graph(state, records, refresh)


def _build_graph(state: GraphState, records: GraphRecords, refresh: RefreshStats) -> LoadedGraph:
    keys = records.passage_keys
    passages = {p.id: p for p in sorted(records.passages, key=lambda p: keys[p.id])}
    entities = {e.id: e for e in sorted(records.entities, key=lambda e: e.id)}
    facts = {f.id: _known_sources(f, passages) for f in sorted(records.facts, key=lambda f: f.id)}
    mentions = sorted({(p, e) for p, e in records.mentions if p in passages and e in entities})
    synonyms = {
        (a, b): score for a, b, score in records.synonyms if a in entities and b in entities
    }
    consolidated = any(f.consolidation_marked for f in facts.values()) or any(
        p.archived for p in passages.values()
    )
    extracted_by = {pid: records.extracted_by.get(pid) for pid in passages}
    basis = DeltaBasis(
        passage_keys=MappingProxyType({pid: keys[pid] for pid in passages}),
        extracted_by=MappingProxyType(extracted_by),
        extracted=MappingProxyType(Counter(v for v in extracted_by.values() if v is not None)),
        pending=frozenset(pid for pid, v in extracted_by.items() if v is None),
        unchecked=frozenset(e for e in entities if not records.checked.get(e, False)),
        synonyms=MappingProxyType(synonyms),
        mentions=len(mentions),
        states=sum(len(f.passage_ids) for f in facts.values()),
    )
    live = _live_view(state, passages, entities, facts, mentions, synonyms, consolidated)
    return _assemble(
        state, passages, entities, facts, mentions, synonyms, consolidated, live, refresh, basis
    )


def _live_view(
    state: GraphState,
    passages: dict[str, PassageRecord],
    entities: dict[str, EntityRecord],
    facts: dict[str, FactRecord],
    mentions: list[tuple[str, str]],
    synonyms: Mapping[tuple[str, str], float],
    consolidated: bool,
) -> LoadedGraph | None:
    """The graph without archived facts and passages; None when nothing is archived."""
    if not any(p.archived for p in passages.values()) and not any(
        f.archived for f in facts.values()
    ):
        return None
    live_passages = {k: p for k, p in passages.items() if not p.archived}
    live_facts = {k: _known_sources(f, live_passages) for k, f in facts.items() if not f.archived}
    return _assemble(
        state, live_passages, entities, live_facts, mentions, synonyms, consolidated, None
    )


def _assemble(
    state: GraphState,
    passages: dict[str, PassageRecord],
    entities: dict[str, EntityRecord],
    facts: dict[str, FactRecord],
    mentions: list[tuple[str, str]],
    synonyms: Mapping[tuple[str, str], float],
    consolidated: bool,
    live: LoadedGraph | None,
    refresh: RefreshStats = _INITIAL,
    basis: DeltaBasis | None = None,
) -> LoadedGraph:
    """``mentions`` sorted; then every id tuple of the derived maps comes out sorted."""
    passage_entities: defaultdict[str, list[str]] = defaultdict(list)
    entity_passages: defaultdict[str, list[str]] = defaultdict(list)
    for pid, eid in mentions:
        if pid in passages:
            passage_entities[pid].append(eid)
            entity_passages[eid].append(pid)
    entity_facts: defaultdict[str, list[str]] = defaultdict(list)
    passage_facts: defaultdict[str, list[str]] = defaultdict(list)
    for fact in facts.values():
        entity_facts[fact.subject_id].append(fact.id)
        entity_facts[fact.object_id].append(fact.id)
        for pid in fact.passage_ids:
            passage_facts[pid].append(fact.id)
    projection = _build_projection(passages, entities, facts, passage_entities, synonyms)
    return LoadedGraph(
        state=state,
        projection=projection,
        passages=MappingProxyType(passages),
        entities=MappingProxyType(entities),
        facts=MappingProxyType(facts),
        passage_entities=_freeze(passage_entities),
        entity_passages=_freeze(entity_passages),
        entity_facts=_freeze(entity_facts),
        passage_facts=_freeze(passage_facts),
        consolidated=consolidated,
        live=live,
        refresh=refresh,
        basis=basis,
    )


def _freeze(groups: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({k: tuple(dict.fromkeys(v)) for k, v in groups.items()})


def _build_projection(
    passages: Mapping[str, PassageRecord],
    entities: Mapping[str, EntityRecord],
    facts: Mapping[str, FactRecord],
    passage_entities: Mapping[str, list[str]],
    synonyms: Mapping[tuple[str, str], float],
) -> GraphProjection:
    """Entities, then passages; fact, mention and synonym edges in that order (the order
    parallel weights are summed in). Built from index arrays: every endpoint is a node of the
    kind its edge needs by construction, so :meth:`GraphProjection.from_edges`'s per-edge
    checks are not needed."""
    ids = [*entities, *passages]
    index = {node_id: i for i, node_id in enumerate(ids)}
    kinds = np.zeros(len(ids), dtype=np.uint8)
    kinds[len(entities) :] = NODE_KIND_CODES.index(NodeKind.PASSAGE)
    kinds[: len(entities)] = NODE_KIND_CODES.index(NodeKind.ENTITY)
    fact_pairs = Counter(
        (f.subject_id, f.object_id)
        for f in facts.values()
        if f.subject_id in entities and f.object_id in entities
    )
    src = [index[s] for s, _ in fact_pairs]
    dst = [index[o] for _, o in fact_pairs]
    weights = [float(n) for n in fact_pairs.values()]
    for pid, eids in passage_entities.items():
        src += [index[pid]] * len(eids)
        dst += [index[e] for e in eids]
    weights += [1.0] * (len(src) - len(weights))
    positive = [(a, b, score) for (a, b), score in synonyms.items() if score > 0.0]
    src += [index[a] for a, _, _ in positive]
    dst += [index[b] for _, b, _ in positive]
    weights += [score for _, _, score in positive]
    return GraphProjection.from_arrays(ids, kinds, src, dst, weights)


# ---- merging a delta -----------------------------------------------------------------------------


def merge_delta(
    base: LoadedGraph,
    delta: GraphRecords,
    state: GraphState,
    *,
    refresh: RefreshStats = _INITIAL,
) -> LoadedGraph:
    """``base`` with the additions in ``delta``: a new graph, ``base`` left as it was.

    Pure: no I/O. Records in ``delta`` that ``base`` already holds replace theirs (a re-read
    passage, entity or fact); everything else is added. The result equals
    ``build_graph(state, <every record of the graph state describes>)``, order included;
    otherwise this raises. Cost: O(size of the delta) for the patches plus one copy of each
    record map and of the projection's node tables, and the CSR merge of the projection.

    Raises:
        DeltaRejected: the graph changed in a way a delta of additions does not explain (see
            the module docstring); reload it in full.
    """
    basis = base.basis
    if basis is None:
        raise DeltaRejected("the graph has no delta basis")
    for name in _CONSOLIDATION_FIELDS:
        if getattr(state, name) != getattr(base.state, name):
            raise DeltaRejected(f"{name} changed (consolidation marks are reloaded in full)")

    passages = dict(base.passages)
    keys = dict(basis.passage_keys)
    extracted_by = dict(basis.extracted_by)
    extracted = Counter(basis.extracted)
    added_passages: list[str] = []
    for p in delta.passages:
        key = delta.passage_keys[p.id]
        old = passages.get(p.id)
        if old is None:
            added_passages.append(p.id)
        else:
            if keys[p.id] != key or old.archived != p.archived:
                raise DeltaRejected(f"passage {p.id} moved or changed its archive state")
            if (version := extracted_by[p.id]) is not None:
                extracted[version] -= 1
        passages[p.id] = p
        keys[p.id] = key
        extracted_by[p.id] = version = delta.extracted_by.get(p.id)
        if version is not None:
            extracted[version] += 1
    if added_passages:
        passages = {pid: passages[pid] for pid in sorted(passages, key=keys.__getitem__)}

    entities = dict(base.entities)
    unchecked = set(basis.unchecked)
    added_entities: list[str] = []
    for e in delta.entities:
        if e.id not in entities:
            added_entities.append(e.id)
        entities[e.id] = e
        if delta.checked.get(e.id, False):
            unchecked.discard(e.id)
        else:
            unchecked.add(e.id)
    if added_entities:
        entities = dict(sorted(entities.items()))

    facts = dict(base.facts)
    added_facts: list[str] = []
    gained: dict[str, tuple[str, ...]] = {}  # fact -> source passages it did not have
    states = basis.states
    for fact in delta.facts:
        f = _known_sources(fact, passages)
        was = facts.get(f.id)
        if was is None:
            added_facts.append(f.id)
            gained[f.id] = f.passage_ids
        else:
            if (was.subject_id, was.object_id) != (f.subject_id, f.object_id):
                raise DeltaRejected(f"fact {f.id} changed its subject or object")
            if not set(was.passage_ids) <= set(f.passage_ids):
                raise DeltaRejected(f"fact {f.id} lost a source passage")
            if (was.consolidation_marked, was.archived) != (f.consolidation_marked, f.archived):
                raise DeltaRejected(f"fact {f.id} changed its consolidation marks")
            gained[f.id] = tuple(p for p in f.passage_ids if p not in was.passage_ids)
        states += len(gained[f.id])
        facts[f.id] = f
    if added_facts:
        facts = dict(sorted(facts.items()))

    new_mentions = sorted(
        {
            (p, e)
            for p, e in delta.mentions
            if p in passages and e in entities and e not in base.passage_entities.get(p, ())
        }
    )
    synonyms = dict(basis.synonyms)
    changed_pairs: set[tuple[str, str]] = set()
    for a, b, score in delta.synonyms:
        if a in entities and b in entities and synonyms.get((a, b)) != score:
            synonyms[(a, b)] = score
            changed_pairs.add((a, b) if a <= b else (b, a))

    counted = {
        "passages": len(passages),
        "entities": len(entities),
        "facts": len(facts),
        "mentions": basis.mentions + len(new_mentions),
        "states": states,
        "synonyms": len(synonyms),
    }
    for name in _COUNTED_FIELDS:
        if counted[name] != getattr(state, name):
            raise DeltaRejected(
                f"{name}: {counted[name]} after the delta, {getattr(state, name)} in the graph"
            )
    by_version = tuple(sorted((v, n) for v, n in extracted.items() if n > 0))
    if by_version != state.extracted:
        raise DeltaRejected(
            f"passages per extractor: {by_version} after the delta, {state.extracted} in the graph"
        )

    # Derived maps: copy, then rewrite only the keys the delta touches.
    passage_entities = dict(base.passage_entities)
    entity_passages = dict(base.entity_passages)
    entity_facts = dict(base.entity_facts)
    passage_facts = dict(base.passage_facts)
    _extend(passage_entities, ((p, e) for p, e in new_mentions))
    _extend(entity_passages, ((e, p) for p, e in new_mentions))
    _extend(
        entity_facts,
        ((x, fid) for fid in added_facts for x in (facts[fid].subject_id, facts[fid].object_id)),
    )
    _extend(passage_facts, ((p, fid) for fid, pids in gained.items() for p in pids))

    # The projection: a fork of the old snapshot, patched.
    snap = base.projection.snapshot()
    projection = GraphProjection.from_snapshot(snap)
    projection.add_nodes((e, NodeKind.ENTITY) for e in sorted(added_entities))
    projection.add_nodes(
        (p, NodeKind.PASSAGE) for p in sorted(added_passages, key=keys.__getitem__)
    )
    projection.add_edges((p, e, 1.0, EdgeKind.MENTION) for p, e in new_mentions)
    for fid in added_facts:
        s, o = facts[fid].subject_id, facts[fid].object_id
        if s in entities and o in entities:
            changed_pairs.add((s, o) if s <= o else (o, s))
    for a, b in sorted(changed_pairs):
        weight = _entity_pair_weight(a, b, facts, entities, entity_facts, synonyms)
        current = snap.edge_weight(a, b) if a in snap and b in snap else 0.0
        if weight == current:
            continue
        if current > 0.0:
            projection.remove_edge(a, b)
        if weight > 0.0:
            projection.add_edge(a, b, weight, EdgeKind.FACT)
    projection.snapshot()  # build it now: the cost belongs to the refresh, not the first query

    consolidated = (
        base.consolidated
        or any(facts[f.id].consolidation_marked for f in delta.facts)
        or any(passages[p.id].archived for p in delta.passages)
    )
    live = None
    if base.live is not None or consolidated:
        mentions = [(p, e) for p in passages for e in passage_entities.get(p, ())]
        mentions.sort()
        live = _live_view(state, passages, entities, facts, mentions, synonyms, consolidated)
    return LoadedGraph(
        state=state,
        projection=projection,
        passages=MappingProxyType(passages),
        entities=MappingProxyType(entities),
        facts=MappingProxyType(facts),
        passage_entities=MappingProxyType(passage_entities),
        entity_passages=MappingProxyType(entity_passages),
        entity_facts=MappingProxyType(entity_facts),
        passage_facts=MappingProxyType(passage_facts),
        consolidated=consolidated,
        live=live,
        refresh=refresh,
        basis=DeltaBasis(
            passage_keys=MappingProxyType(keys),
            extracted_by=MappingProxyType(extracted_by),
            extracted=MappingProxyType({v: n for v, n in extracted.items() if n > 0}),
            pending=frozenset(pid for pid, v in extracted_by.items() if v is None),
            unchecked=frozenset(unchecked),
            synonyms=MappingProxyType(synonyms),
            mentions=counted["mentions"],
            states=states,
        ),
    )


def _extend(groups: dict[str, tuple[str, ...]], pairs: Iterable[tuple[str, str]]) -> None:
    """Add each ``(key, value)`` to ``groups`` (sorted unique tuples), replacing the tuples."""
    added: defaultdict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        added[key].append(value)
    for key, values in added.items():
        groups[key] = _sorted_union(groups.get(key, ()), values)


def _entity_pair_weight(
    a: str,
    b: str,
    facts: Mapping[str, FactRecord],
    entities: Mapping[str, EntityRecord],
    entity_facts: Mapping[str, tuple[str, ...]],
    synonyms: Mapping[tuple[str, str], float],
) -> float:
    """The merged projection weight of ``{a, b}``: its facts plus its synonym scores, summed
    as :func:`_build_projection` and the CSR build sum them (facts first)."""
    n = 0
    for fid in entity_facts.get(a, ()):
        f = facts[fid]
        if {f.subject_id, f.object_id} == {a, b} and f.subject_id in entities:
            n += f.object_id in entities
    weight = float(n)
    for key in ((a, b), (b, a)) if a != b else ((a, a),):
        score = synonyms.get(key, 0.0)
        if score > 0.0:
            weight += score
    return weight


# ---- snapshots -----------------------------------------------------------------------------------

SNAPSHOT_FORMAT = "hippograph-projection-snapshot"
SNAPSHOT_VERSION = 1
"""The snapshot file layout; a file of another version is ignored (and replaced). Bump it when
the rows' columns or their meaning change."""


class SnapshotError(GraphError):
    """A snapshot file cannot be used: unreadable, corrupt, another version or database."""


@dataclass(frozen=True)
class Snapshot:
    """A whole graph's records and the fingerprint read before them, as a file stores them."""

    database: str
    state: GraphState
    records: GraphRecords


def graph_records(graph: LoadedGraph) -> GraphRecords:
    """The records of ``graph``: ``build_graph(graph.state, graph_records(graph))`` equals it
    (:func:`graph_differences`), whether it was loaded in full or patched by deltas.

    Raises:
        ValueError: ``graph`` is a live view (it has no :class:`DeltaBasis`).
    """
    basis = graph.basis
    if basis is None:
        raise ValueError("a live view has no records of its own; snapshot the whole graph")
    mentions = tuple((p, e) for p, es in graph.passage_entities.items() for e in es)
    synonyms = tuple((a, b, score) for (a, b), score in basis.synonyms.items())
    return GraphRecords(
        passages=tuple(graph.passages.values()),
        passage_keys=basis.passage_keys,
        extracted_by=basis.extracted_by,
        entities=tuple(graph.entities.values()),
        checked={e: e not in basis.unchecked for e in graph.entities},
        facts=tuple(graph.facts.values()),
        mentions=mentions,
        synonyms=synonyms,
        rows=sum(map(len, (graph.passages, graph.entities, graph.facts, mentions, synonyms))),
    )


def _snapshot_document(database: str, state: GraphState, records: GraphRecords) -> dict[str, Any]:
    """The JSON document of a snapshot: a header and the rows of the five load queries."""
    keys, extracted_by, checked = records.passage_keys, records.extracted_by, records.checked
    by_passage: defaultdict[str, list[str]] = defaultdict(list)
    for pid, eid in records.mentions:
        by_passage[pid].append(eid)
    return {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "database": database,
        "state": asdict(state),
        "passages": [
            [
                p.id,
                p.document_id,
                keys[p.id][1],
                p.title,
                p.text,
                _wire_time(p.timestamp),
                p.source,
                p.archived,
                extracted_by.get(p.id),
            ]
            for p in records.passages
        ],
        "entities": [
            [e.id, e.name, e.canonical, list(e.aliases), checked.get(e.id, False)]
            for e in records.entities
        ],
        "facts": [
            [
                f.id,
                f.subject,
                f.predicate,
                f.object,
                f.statement,
                f.subject_id,
                f.object_id,
                _wire_time(f.valid_at),
                _wire_time(f.invalid_at),
                _wire_time(f.observed_at),
                f.confidence,
                list(f.passage_ids),
                [],
                f.superseded_by,
                _wire_time(f.expired_at),
                f.archived,
            ]
            for f in records.facts
        ],
        "mentions": [[pid, eids] for pid, eids in by_passage.items()],
        "synonyms": [[a, b, score] for a, b, score in records.synonyms],
    }


def write_snapshot(path: Path, database: str, state: GraphState, records: GraphRecords) -> bool:
    """Store a whole graph's ``records`` and the ``state`` read before them in ``path``.

    JSON (times as in the load queries' wire form), written to a temporary file in the same
    directory and renamed over ``path``, so a reader sees the old file or the new one, never a
    part. A failure is logged and returns False: the snapshot only saves time.
    """
    tmp: Path | None = None
    try:
        with _gc_paused():
            document = _snapshot_document(database, state, records)
        text = json.dumps(document, separators=(",", ":"))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError) as e:
        logger.warning("could not write the projection snapshot %s: %s", path, e)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return False
    return True


def _state_from_json(values: Mapping[str, Any]) -> GraphState:
    state = GraphState(
        **{**values, "extracted": tuple((str(v), int(n)) for v, n in values["extracted"])}
    )
    for name in _COUNTED_FIELDS + ("documents", "supersedes", "archived"):
        if type(getattr(state, name)) is not int:
            raise TypeError(f"state.{name} is not an integer")
    return state


def read_snapshot(path: Path, database: str) -> Snapshot | None:
    """The snapshot stored in ``path`` (None: there is no file).

    Raises:
        SnapshotError: the file cannot be read or parsed, or it is of another format version or
            another database.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SnapshotError(f"cannot read {path}: {e}") from e
    try:
        with _gc_paused():
            doc = json.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
                raise SnapshotError(f"{path} is not a projection snapshot")
            if doc.get("version") != SNAPSHOT_VERSION:
                raise SnapshotError(
                    f"{path} is format version {doc.get('version')!r}, not {SNAPSHOT_VERSION}"
                )
            if doc.get("database") != database:
                raise SnapshotError(
                    f"{path} is of database {doc.get('database')!r}, not {database!r}"
                )
            records = _records(
                doc["passages"], doc["entities"], doc["facts"], doc["mentions"], doc["synonyms"]
            )
            return Snapshot(database, _state_from_json(doc["state"]), records)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as e:
        raise SnapshotError(f"{path} is corrupt: {e!r}") from e


def remove_snapshot(path: Path) -> None:
    """Delete the snapshot in ``path`` if there is one (a failure is logged)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as e:
        logger.warning("could not delete the projection snapshot %s: %s", path, e)


def _snapshot_graph(path: Path, database: str) -> tuple[LoadedGraph | None, str]:
    """The graph stored in ``path``, or None and why not (a corrupt file is logged)."""
    try:
        snapshot = read_snapshot(path, database)
        if snapshot is None:
            return None, f"no snapshot at {path}"
        return build_graph(snapshot.state, snapshot.records), ""
    except (SnapshotError, ValueError, KeyError) as e:
        logger.warning("ignoring the projection snapshot (it will be replaced): %s", e)
        return None, f"snapshot ignored: {e}"


# ---- loading -------------------------------------------------------------------------------------


def load_graph(
    driver: Driver,
    database: str,
    *,
    reason: str = "first load",
    snapshot_path: Path | None = None,
) -> LoadedGraph:
    """Read everything retrieval needs and build the PPR projection (and the live view).

    With ``snapshot_path``, the graph stored there by an earlier load (another process's) is
    the starting point: used as it is when its fingerprint equals the graph's, refreshed as
    :func:`refresh_graph` does otherwise (the delta merged, or everything read when the delta
    cannot explain the change); a missing or unusable file means a full load. Whenever
    anything but the fingerprint was read, the file is (re)written with the result.
    :attr:`LoadedGraph.refresh` says which path was taken.

    Raises:
        GraphQueryError: a query failed.
    """
    t0 = time.perf_counter()
    state = read_state(driver, database)
    if snapshot_path is not None:
        base, why = _snapshot_graph(snapshot_path, database)
        if base is not None and base.state == state:
            stats = RefreshStats(RefreshPath.SNAPSHOT, 0, time.perf_counter() - t0, snapshot=True)
            return replace(base, refresh=stats)
        if base is not None:
            graph = refresh_graph(driver, database, base, state=state)
            write_snapshot(snapshot_path, database, graph.state, graph_records(graph))
            stats = replace(graph.refresh, seconds=time.perf_counter() - t0, snapshot=True)
            return replace(graph, refresh=stats)
        reason = f"{reason} ({why})"
    records = read_records(driver, database)
    graph = build_graph(state, records)
    if snapshot_path is not None:
        write_snapshot(snapshot_path, database, state, records)
    stats = RefreshStats(RefreshPath.FULL, records.rows, time.perf_counter() - t0, reason)
    return replace(graph, refresh=stats)


def refresh_graph(
    driver: Driver, database: str, base: LoadedGraph, *, state: GraphState | None = None
) -> LoadedGraph:
    """The graph as it is now, patched from ``base`` when only additions happened.

    Returns ``base`` itself when the fingerprint (``state``, read if not given) is unchanged;
    otherwise a new graph whose :attr:`LoadedGraph.refresh` says whether the delta was merged
    or the graph reloaded in full, and why. ``base`` is never modified.

    Raises:
        GraphQueryError: a query failed.
    """
    t0 = time.perf_counter()
    state = read_state(driver, database) if state is None else state
    if state == base.state:
        return base
    rows = 0
    try:
        delta = read_delta(driver, database, base)
        rows = delta.rows
        graph = merge_delta(base, delta, state)
    except DeltaRejected as e:
        reason = str(e)
    else:
        stats = RefreshStats(RefreshPath.INCREMENTAL, rows, time.perf_counter() - t0)
        return replace(graph, refresh=stats)
    records = read_records(driver, database)
    graph = build_graph(state, records)
    stats = RefreshStats(RefreshPath.FULL, rows + records.rows, time.perf_counter() - t0, reason)
    return replace(graph, refresh=stats)


def record_access(
    driver: Driver,
    database: str,
    *,
    passage_ids: Sequence[str],
    fact_ids: Sequence[str],
    now: datetime | None = None,
) -> tuple[int, int]:
    """Count one retrieval of each passage and fact: ``retrieval_count + 1``,
    ``last_accessed_at = now`` (one batched write). Returns (passages, facts) updated.

    Raises:
        GraphQueryError: the write failed.
    """
    if not passage_ids and not fact_ids:
        return 0, 0
    try:
        records, _, _ = driver.execute_query(
            q.RECORD_ACCESS,
            passage_ids=list(dict.fromkeys(passage_ids)),
            fact_ids=list(dict.fromkeys(fact_ids)),
            now=now or datetime.now(UTC),
            database_=database,
            routing_="w",
        )
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"recording access failed: {e}") from e
    (record,) = records
    return int(record["passages"]), int(record["facts"])


def graph_differences(a: LoadedGraph, b: LoadedGraph, *, limit: int = 10) -> list[str]:
    """How two retrieval views differ (empty: equal records, maps, views and projections).

    Records and the record maps' order are compared exactly; projections by node ids and kinds
    and by edge weights (to 1e-12 relative: node numbering may differ, see the module
    docstring). For tests and checks; O(graph).
    """
    out: list[str] = []
    for name in ("passages", "entities", "facts"):
        x, y = getattr(a, name), getattr(b, name)
        if list(x.items()) != list(y.items()):
            diff = sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
            out.append(
                f"{name}: {len(diff)} differ, order aside {diff[:limit]}"
                if diff
                else f"{name}: order differs"
            )
    for name in ("passage_entities", "entity_passages", "entity_facts", "passage_facts"):
        x, y = dict(getattr(a, name)), dict(getattr(b, name))
        if x != y:
            diff = sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
            out.append(f"{name}: {len(diff)} keys differ {diff[:limit]}")
    if a.consolidated != b.consolidated:
        out.append(f"consolidated: {a.consolidated} != {b.consolidated}")
    sa, sb = a.projection.snapshot(), b.projection.snapshot()
    nodes_a = {n: sa.kind_of(n) for n in sa.node_index}
    nodes_b = {n: sb.kind_of(n) for n in sb.node_index}
    if nodes_a != nodes_b:
        diff = sorted(nodes_a.keys() ^ nodes_b.keys())
        out.append(f"projection nodes: {len(diff)} differ {diff[:limit]}")
    edges_a = {frozenset((u, v)): w for u, v, w in sa.edges()}
    edges_b = {frozenset((u, v)): w for u, v, w in sb.edges()}
    bad = [
        tuple(sorted(k))
        for k in edges_a.keys() | edges_b.keys()
        if abs(edges_a.get(k, 0.0) - edges_b.get(k, 0.0))
        > 1e-12 * max(edges_a.get(k, 0.0), edges_b.get(k, 0.0))
    ]
    if bad:
        out.append(f"projection edges: {len(bad)} differ {sorted(bad)[:limit]}")
    if (a.live is None) != (b.live is None):
        out.append(f"live view: {a.live is not None} != {b.live is not None}")
    elif a.live is not None and b.live is not None:
        out += [f"live {d}" for d in graph_differences(a.live, b.live, limit=limit)]
    return out


class ProjectionCache:
    """The last :class:`LoadedGraph`, refreshed when the graph's fingerprint changes.

    Takes a driver; does no I/O until :meth:`current`. Thread-safe: one refresh at a time;
    readers keep using the graph they got. A refresh merges the delta when it can and reloads
    in full otherwise (:func:`refresh_graph`); the graph returned says which in
    :attr:`LoadedGraph.refresh`.

    With ``snapshot_path`` (a file in the project's data directory, one per database), the
    first load starts from the graph an earlier process stored there, and every load that read
    the graph in full stores it there (see the module docstring, **Snapshots**).
    """

    def __init__(
        self,
        driver: Driver,
        database: str,
        *,
        refresh_interval_s: float = 1.0,
        snapshot_path: Path | None = None,
    ) -> None:
        self._driver = driver
        self._database = database
        self._refresh_interval_s = refresh_interval_s
        self._snapshot_path = snapshot_path
        self._lock = threading.Lock()
        self._graph: LoadedGraph | None = None
        self._checked_at = 0.0

    def current(self) -> LoadedGraph:
        """The loaded graph, refreshed first if the graph in Neo4j has changed."""
        with self._lock:
            now = time.monotonic()
            graph = self._graph
            if graph is not None and now - self._checked_at < self._refresh_interval_s:
                return graph
            path = self._snapshot_path
            if graph is None:
                graph = load_graph(self._driver, self._database, snapshot_path=path)
            else:
                previous = graph
                graph = refresh_graph(self._driver, self._database, previous)
                if (
                    path is not None
                    and graph is not previous
                    and graph.refresh.path is RefreshPath.FULL
                ):
                    write_snapshot(path, self._database, graph.state, graph_records(graph))
            self._graph = graph
            self._checked_at = time.monotonic()
            return graph

    def invalidate(self) -> None:
        """Force a full reload on the next :meth:`current` (the snapshot file deleted too)."""
        with self._lock:
            self._graph = None
            if self._snapshot_path is not None:
                remove_snapshot(self._snapshot_path)
