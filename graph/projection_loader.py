"""Load the retrieval view of the graph from Neo4j: a PPR projection plus the records around it.

:func:`load_graph` reads passages, entities, mentions, facts and synonym edges in five queries
and returns a frozen :class:`LoadedGraph`: a :class:`~graph.projection.GraphProjection` over
entity and passage nodes (edges: one ``fact`` edge of weight 1 per fact between its subject and
object entities, ``mention`` edges of weight 1 between a passage and each entity it mentions,
``synonym`` edges weighted by their cosine score) and the passage, entity and fact records
retrieval needs to score and explain results. Records come in a canonical order (passages by
document and index, entities and facts by id; every id tuple in the derived maps sorted), so
two loads of the same graph are equal item by item, order included.

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

Limitations: the delta's time filters use range indexes (``Document.ingested_at``,
``Entity.created_at``, ``Fact.created_at``; see :mod:`graph.schema`), but it still re-reads the
passages not extracted yet and the entities not checked for synonyms; the incremental graph's
projection numbers its nodes in a different order than a fresh load (same nodes, edges and
weights; a node pair with two SYNONYM edges may differ in the last bit of its weight). As
before, an edit that leaves every count and creation time unchanged (a passage text rewritten
in place into facts that already exist; a document replaced by exactly as many passages,
mentions and facts, extracted by the same version) is not noticed until some other change or
:meth:`ProjectionCache.invalidate`; with the incremental path such a change that coincides
with an ingestion of new documents in the same refresh interval is not noticed either.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias

from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from graph import retrieval_cypher as q
from graph.errors import GraphError, GraphQueryError
from graph.projection import EdgeKind, GraphProjection, NodeKind

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
    "build_graph",
    "graph_differences",
    "load_graph",
    "merge_delta",
    "read_delta",
    "read_records",
    "read_state",
    "record_access",
    "refresh_graph",
]

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


def _run(driver: Driver, database: str, query: str, **params: Any) -> list[Any]:
    try:
        records, _, _ = driver.execute_query(
            query, parameters_=params, database_=database, routing_="r"
        )
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"loading the retrieval projection failed: {e}") from e
    return list(records)


def read_state(driver: Driver, database: str) -> GraphState:
    """The graph's current fingerprint (one query)."""
    (record,) = _run(driver, database, q.GRAPH_STATE)
    values = dict(record)
    values["extracted"] = tuple((str(v), int(n)) for v, n in values["extracted"])
    return GraphState(**values)


# ---- reading ---------------------------------------------------------------------------------


def _records(
    passage_rows: Sequence[Any],
    entity_rows: Sequence[Any],
    fact_rows: Sequence[Any],
    mention_rows: Sequence[Any],
    synonym_rows: Sequence[Any],
) -> GraphRecords:
    passages = tuple(
        PassageRecord(
            id=r["id"],
            document_id=r["document_id"],
            title=r["title"],
            text=r["text"] or "",
            timestamp=_native(r["timestamp"]),
            source=r["source"],
            archived=bool(r["archived"]),
        )
        for r in passage_rows
    )
    facts = []
    for r in fact_rows:
        f = r["fact"]
        facts.append(
            FactRecord(
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
                passage_ids=tuple(r["passage_ids"]),
                superseded_by=next(iter(r["newer"]), None) or f.get("superseded_by"),
                expired_at=_native(f.get("expired_at")),
                archived=bool(f.get("archived")),
            )
        )
    return GraphRecords(
        passages=passages,
        passage_keys={
            r["id"]: (r["document_id"], int(r["index"] or 0), r["id"]) for r in passage_rows
        },
        extracted_by={r["id"]: r["extracted_by"] for r in passage_rows},
        entities=tuple(
            EntityRecord(
                id=r["id"],
                name=r["name"] or r["canonical"] or r["id"],
                canonical=r["canonical"] or "",
                aliases=tuple(r["aliases"] or ()),
            )
            for r in entity_rows
        ),
        checked={r["id"]: bool(r["checked"]) for r in entity_rows},
        facts=tuple(facts),
        mentions=tuple((r["passage_id"], r["entity_id"]) for r in mention_rows),
        synonyms=tuple((r["a"], r["b"], float(r["score"] or 0.0)) for r in synonym_rows),
        rows=sum(
            len(rows) for rows in (passage_rows, entity_rows, fact_rows, mention_rows, synonym_rows)
        ),
    )


def read_records(driver: Driver, database: str) -> GraphRecords:
    """Every record the retrieval view needs (five queries).

    Raises:
        GraphQueryError: a query failed.
    """
    return _records(
        _run(driver, database, q.PASSAGES),
        _run(driver, database, q.ENTITIES),
        _run(driver, database, q.FACTS),
        _run(driver, database, q.MENTIONS),
        _run(driver, database, q.SYNONYMS),
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
    passage_rows = _run(
        driver,
        database,
        q.PASSAGES_DELTA,
        since=base.state.documents_max,
        passage_ids=sorted(basis.pending),
    )
    passage_ids = [r["id"] for r in passage_rows]
    entity_rows = _run(
        driver,
        database,
        q.ENTITIES_DELTA,
        since=base.state.entities_max,
        entity_ids=sorted(basis.unchecked),
        passage_ids=passage_ids,
    )
    fact_rows = _run(
        driver, database, q.FACTS_DELTA, since=base.state.facts_max, passage_ids=passage_ids
    )
    mention_rows = _run(driver, database, q.MENTIONS_DELTA, passage_ids=passage_ids)
    added = {r["id"] for r in entity_rows} - base.entities.keys()
    synonym_rows = _run(
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
    edges += [(a, b, s, EdgeKind.SYNONYM) for (a, b), s in synonyms.items() if s > 0.0]
    return GraphProjection.from_edges(nodes, edges)


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


# ---- loading -------------------------------------------------------------------------------------


def load_graph(driver: Driver, database: str, *, reason: str = "first load") -> LoadedGraph:
    """Read everything retrieval needs and build the PPR projection (and the live view).

    Raises:
        GraphQueryError: a query failed.
    """
    t0 = time.perf_counter()
    state = read_state(driver, database)
    records = read_records(driver, database)
    graph = build_graph(state, records)
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
    """

    def __init__(self, driver: Driver, database: str, *, refresh_interval_s: float = 1.0) -> None:
        self._driver = driver
        self._database = database
        self._refresh_interval_s = refresh_interval_s
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
            if graph is None:
                graph = load_graph(self._driver, self._database)
            else:
                graph = refresh_graph(self._driver, self._database, graph)
            self._graph = graph
            self._checked_at = time.monotonic()
            return graph

    def invalidate(self) -> None:
        """Force a full reload on the next :meth:`current`."""
        with self._lock:
            self._graph = None
