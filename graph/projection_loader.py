"""Load the retrieval view of the graph from Neo4j: a PPR projection plus the records around it.

:func:`load_graph` reads passages, entities, mentions, facts and synonym edges in five queries
and returns a frozen :class:`LoadedGraph`: a :class:`~graph.projection.GraphProjection` over
entity and passage nodes (edges: one ``fact`` edge of weight 1 per fact between its subject and
object entities, ``mention`` edges of weight 1 between a passage and each entity it mentions,
``synonym`` edges weighted by their cosine score) and the passage, entity and fact records
retrieval needs to score and explain results.

Consolidation marks are read as stored: a fact's ``superseded_by`` comes from its incoming
``SUPERSEDES`` links (the earliest newer fact), ``expired_at`` and ``archived`` from its
properties, a passage's ``archived`` likewise. :attr:`LoadedGraph.consolidated` says whether
the graph carries any such mark (then retrieval trusts them instead of inferring supersession);
:meth:`LoadedGraph.view` gives the graph without archived facts and passages (the default of
retrieval), built once per load.

:func:`record_access` is the one write retrieval does: ``retrieval_count + 1`` and
``last_accessed_at`` on the passages and facts a query returned.

:class:`ProjectionCache` keeps the last load and reuses it while a cheap fingerprint of the
graph (:func:`read_state`: node and relationship counts, the newest creation times, and the
number and newest time of SUPERSEDES links and archived nodes) is unchanged, checking at most
once per ``refresh_interval_s``. When the fingerprint changes the whole view is reloaded.
Limitation: the reload is full, not incremental (about 5 queries and a vectorised CSR build;
fine at tens of thousands of passages, not at millions); and an edit that leaves every count
and creation time unchanged (a passage text rewritten in place into facts that already exist)
is not noticed until some other change or :meth:`ProjectionCache.invalidate`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from graph import retrieval_cypher as q
from graph.errors import GraphQueryError
from graph.projection import EdgeKind, GraphProjection, NodeKind

__all__ = [
    "EntityRecord",
    "FactRecord",
    "GraphState",
    "LoadedGraph",
    "PassageRecord",
    "ProjectionCache",
    "load_graph",
    "read_state",
    "record_access",
]


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


@dataclass(frozen=True, eq=False)
class LoadedGraph:
    """The retrieval view of one version of the graph. Never mutated after :func:`load_graph`."""

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

    @property
    def is_empty(self) -> bool:
        return not self.passages

    def view(self, *, include_archived: bool = False) -> LoadedGraph:
        """The graph retrieval should search: without archived items unless asked for."""
        return self if include_archived or self.live is None else self.live


def _native(value: Any) -> datetime | None:
    """A neo4j ``DateTime`` (or ``datetime``) as a timezone-aware ``datetime``."""
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    if not isinstance(native, datetime):
        return None
    return native if native.tzinfo is not None else native.replace(tzinfo=UTC)


def _run(driver: Driver, database: str, query: str) -> list[Any]:
    try:
        records, _, _ = driver.execute_query(query, database_=database, routing_="r")
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"loading the retrieval projection failed: {e}") from e
    return list(records)


def read_state(driver: Driver, database: str) -> GraphState:
    """The graph's current fingerprint (one query)."""
    (record,) = _run(driver, database, q.GRAPH_STATE)
    return GraphState(**dict(record))


def _freeze(groups: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({k: tuple(dict.fromkeys(v)) for k, v in groups.items()})


def load_graph(driver: Driver, database: str) -> LoadedGraph:
    """Read everything retrieval needs and build the PPR projection (and the live view).

    Raises:
        GraphQueryError: a query failed.
    """
    state = read_state(driver, database)
    passages = {
        r["id"]: PassageRecord(
            id=r["id"],
            document_id=r["document_id"],
            title=r["title"],
            text=r["text"] or "",
            timestamp=_native(r["timestamp"]),
            source=r["source"],
            archived=bool(r["archived"]),
        )
        for r in _run(driver, database, q.PASSAGES)
    }
    entities = {
        r["id"]: EntityRecord(
            id=r["id"],
            name=r["name"] or r["canonical"] or r["id"],
            canonical=r["canonical"] or "",
            aliases=tuple(r["aliases"] or ()),
        )
        for r in _run(driver, database, q.ENTITIES)
    }
    facts: dict[str, FactRecord] = {}
    for r in _run(driver, database, q.FACTS):
        f = r["fact"]
        facts[f["id"]] = FactRecord(
            id=f["id"],
            subject=f.get("subject") or "",
            predicate=f.get("predicate") or "",
            object=f.get("object") or "",
            statement=f.get("statement") or "",
            subject_id=r["subject_id"],
            object_id=r["object_id"],
            valid_at=_native(f.get("valid_at")),
            invalid_at=_native(f.get("invalid_at")),
            observed_at=_native(f.get("observed_at")),
            confidence=float(f.get("confidence", 1.0) or 0.0),
            passage_ids=tuple(p for p in r["passage_ids"] if p in passages),
            superseded_by=next(iter(r["newer"]), None) or f.get("superseded_by"),
            expired_at=_native(f.get("expired_at")),
            archived=bool(f.get("archived")),
        )
    mentions = [
        (r["passage_id"], r["entity_id"])
        for r in _run(driver, database, q.MENTIONS)
        if r["passage_id"] in passages and r["entity_id"] in entities
    ]
    synonyms = [
        (r["a"], r["b"], float(r["score"] or 0.0))
        for r in _run(driver, database, q.SYNONYMS)
        if r["a"] in entities and r["b"] in entities
    ]
    consolidated = any(f.consolidation_marked for f in facts.values()) or any(
        p.archived for p in passages.values()
    )
    live = None
    if any(p.archived for p in passages.values()) or any(f.archived for f in facts.values()):
        live_passages = {k: p for k, p in passages.items() if not p.archived}
        live_facts = {
            k: replace(f, passage_ids=tuple(p for p in f.passage_ids if p in live_passages))
            for k, f in facts.items()
            if not f.archived
        }
        live = _assemble(
            state, live_passages, entities, live_facts, mentions, synonyms, consolidated, None
        )
    return _assemble(state, passages, entities, facts, mentions, synonyms, consolidated, live)


def _assemble(
    state: GraphState,
    passages: dict[str, PassageRecord],
    entities: dict[str, EntityRecord],
    facts: dict[str, FactRecord],
    mentions: list[tuple[str, str]],
    synonyms: list[tuple[str, str, float]],
    consolidated: bool,
    live: LoadedGraph | None,
) -> LoadedGraph:
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
    )


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


def _build_projection(
    passages: Mapping[str, PassageRecord],
    entities: Mapping[str, EntityRecord],
    facts: Mapping[str, FactRecord],
    passage_entities: Mapping[str, list[str]],
    synonyms: list[tuple[str, str, float]],
) -> GraphProjection:
    nodes = [(e, NodeKind.ENTITY) for e in entities] + [(p, NodeKind.PASSAGE) for p in passages]
    fact_pairs = Counter(
        (f.subject_id, f.object_id)
        for f in facts.values()
        if f.subject_id in entities and f.object_id in entities
    )
    edges: list[tuple[str, str, float, EdgeKind]] = [
        (s, o, float(n), EdgeKind.FACT) for (s, o), n in fact_pairs.items()
    ]
    edges += [
        (pid, eid, 1.0, EdgeKind.MENTION) for pid, eids in passage_entities.items() for eid in eids
    ]
    edges += [(a, b, score, EdgeKind.SYNONYM) for a, b, score in synonyms if score > 0.0]
    return GraphProjection.from_edges(nodes, edges)


class ProjectionCache:
    """The last :class:`LoadedGraph`, reloaded when the graph's fingerprint changes.

    Takes a driver; does no I/O until :meth:`current`. Thread-safe: one reload at a time;
    readers keep using the graph they got.
    """

    def __init__(self, driver: Driver, database: str, *, refresh_interval_s: float = 1.0) -> None:
        self._driver = driver
        self._database = database
        self._refresh_interval_s = refresh_interval_s
        self._lock = threading.Lock()
        self._graph: LoadedGraph | None = None
        self._checked_at = 0.0

    def current(self) -> LoadedGraph:
        """The loaded graph, reloading it first if the graph in Neo4j has changed."""
        with self._lock:
            now = time.monotonic()
            graph = self._graph
            if graph is not None and now - self._checked_at < self._refresh_interval_s:
                return graph
            if graph is None or read_state(self._driver, self._database) != graph.state:
                graph = load_graph(self._driver, self._database)
                self._graph = graph
            self._checked_at = time.monotonic()
            return graph

    def invalidate(self) -> None:
        """Force a reload on the next :meth:`current`."""
        with self._lock:
            self._graph = None
