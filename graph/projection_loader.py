"""Load the retrieval view of the graph from Neo4j: a PPR projection plus the records around it.

:func:`load_graph` reads passages, entities, mentions, facts and synonym edges in five queries
and returns a frozen :class:`LoadedGraph`: a :class:`~graph.projection.GraphProjection` over
entity and passage nodes (edges: one ``fact`` edge of weight 1 per fact between its subject and
object entities, ``mention`` edges of weight 1 between a passage and each entity it mentions,
``synonym`` edges weighted by their cosine score) and the passage, entity and fact records
retrieval needs to score and explain results.

:class:`ProjectionCache` keeps the last load and reuses it while a cheap fingerprint of the
graph (:func:`read_state`: node and relationship counts and the newest creation times) is
unchanged, checking at most once per ``refresh_interval_s``. When the fingerprint changes the
whole view is reloaded. Limitation: the reload is full, not incremental (about 5 queries and
a vectorised CSR build; fine at tens of thousands of passages, not at millions); and an edit
that leaves every count and creation time unchanged (a passage text rewritten in place into
facts that already exist) is not noticed until some other change or :meth:`ProjectionCache.
invalidate`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    documents_max: str | None = None
    entities_max: str | None = None
    facts_max: str | None = None


@dataclass(frozen=True)
class PassageRecord:
    id: str
    document_id: str
    title: str | None
    text: str
    timestamp: datetime | None
    source: str | None


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
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def is_empty(self) -> bool:
        return not self.passages


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
    """Read everything retrieval needs and build the PPR projection.

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
        )
    passage_entities: defaultdict[str, list[str]] = defaultdict(list)
    entity_passages: defaultdict[str, list[str]] = defaultdict(list)
    for r in _run(driver, database, q.MENTIONS):
        if r["passage_id"] in passages and r["entity_id"] in entities:
            passage_entities[r["passage_id"]].append(r["entity_id"])
            entity_passages[r["entity_id"]].append(r["passage_id"])
    entity_facts: defaultdict[str, list[str]] = defaultdict(list)
    passage_facts: defaultdict[str, list[str]] = defaultdict(list)
    for fact in facts.values():
        entity_facts[fact.subject_id].append(fact.id)
        entity_facts[fact.object_id].append(fact.id)
        for pid in fact.passage_ids:
            passage_facts[pid].append(fact.id)
    synonyms = [
        (r["a"], r["b"], float(r["score"] or 0.0))
        for r in _run(driver, database, q.SYNONYMS)
        if r["a"] in entities and r["b"] in entities
    ]
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
    )


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
