"""Consolidation in Neo4j: supersede outdated facts, merge duplicates, forget, delete sources.

The decisions are pure functions in :mod:`pipelines.consolidation`; this module loads what they
need, applies their answers and reports counts. Every step is idempotent: a second
:func:`consolidate` over an unchanged graph changes nothing.

Nothing is overwritten. A superseded fact keeps its node, gets ``invalid_at`` (when it stopped
holding in the world), ``expired_at`` (when hippograph retired it), ``superseded_by`` and a
``(newer)-[:SUPERSEDES]->(older)`` link; an archived item gets ``archived = true`` and
``archived_at``. Only :func:`forget_source` and an explicit
:class:`~pipelines.consolidation.RetentionPolicy` delete anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from neo4j import Driver, ManagedTransaction, NotificationMinimumSeverity, Session
from neo4j.exceptions import DriverError, Neo4jError

from graph import consolidation_cypher as q
from graph import cypher
from graph.errors import GraphQueryError
from graph.reader import VECTOR_KINDS, GraphReader
from graph.writer import batched, to_native
from pipelines.consolidation import (
    ConsolidationConfig,
    DecayConfig,
    FactRecord,
    MemoryItem,
    Phase,
    PredicateRules,
    RetentionPolicy,
    build_predicate_rules,
    current_value_conflicts,
    decide_supersessions,
    names_match,
    plan_forgetting,
)
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore

__all__ = [
    "ConsolidationOptions",
    "ConsolidationReport",
    "OrphanReport",
    "SourceDeletion",
    "consolidate",
    "find_orphans",
    "forget_source",
    "merge_duplicate_entities",
    "merge_duplicate_facts",
    "predicate_rules",
    "prune_vectors",
    "resolve_conflicts",
    "restore",
    "apply_forgetting",
    "single_value_conflicts",
]

_BATCH = 500


@dataclass(frozen=True)
class ConsolidationOptions:
    """Everything a consolidation run may be configured with (all frozen, all defaulted).

    Attributes:
        conflicts: one-value predicates, aliases, the learned signal.
        decay: the forgetting curve.
        retention: what may be deleted for good (default: nothing).
        merge_min_score: SYNONYM score needed (with name evidence) to merge two entities.
        merge_entities: run entity deduplication.
        forget: run archiving.
    """

    conflicts: ConsolidationConfig = field(default_factory=ConsolidationConfig)
    decay: DecayConfig = field(default_factory=DecayConfig)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    merge_min_score: float = 0.9
    merge_entities: bool = True
    forget: bool = True


@dataclass(frozen=True)
class ConsolidationReport:
    """What one :func:`consolidate` run did (or, with ``dry_run``, would do)."""

    facts_superseded: int = 0
    facts_unsuperseded: int = 0
    ambiguous_conflicts: int = 0
    entities_merged: int = 0
    facts_merged: int = 0
    facts_archived: int = 0
    passages_archived: int = 0
    restored: int = 0
    facts_deleted: int = 0
    passages_deleted: int = 0
    entities_deleted: int = 0
    vectors_removed: int = 0
    single_valued_predicates: tuple[str, ...] = ()
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def changes(self) -> int:
        """Number of changes to the graph (0: the run was a no-op)."""
        return (
            self.facts_superseded
            + self.facts_unsuperseded
            + self.entities_merged
            + self.facts_merged
            + self.facts_archived
            + self.passages_archived
            + self.restored
            + self.facts_deleted
            + self.passages_deleted
            + self.entities_deleted
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["single_valued_predicates"] = list(self.single_valued_predicates)
        data["changes"] = self.changes
        return data


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _session(driver: Driver, database: str) -> Session:
    # Properties such as ``archived`` or ``retrieval_count`` are optional: a graph that never
    # had them is normal, so the server's "property key does not exist" notices are noise.
    return driver.session(
        database=database, notifications_min_severity=NotificationMinimumSeverity.OFF
    )


def _read(driver: Driver, database: str, query: str, **params: Any) -> list[Any]:
    def work(tx: ManagedTransaction) -> list[Any]:
        return list(tx.run(query, params))

    try:
        with _session(driver, database) as session:
            return session.execute_read(work)
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"consolidation query failed: {e}") from e


def _write(driver: Driver, database: str, work: Callable[[ManagedTransaction], Any]) -> Any:
    try:
        with _session(driver, database) as session:
            return session.execute_write(work)
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"consolidation write failed: {e}") from e


# --- conflicts ------------------------------------------------------------------------------


def predicate_rules(
    driver: Driver,
    database: str,
    config: ConsolidationConfig | None = None,
    *,
    similarity: Callable[[str, str], float] | None = None,
) -> PredicateRules:
    """The one-value predicates of this graph: configured ones plus the learned signal."""
    rows = _read(driver, database, q.PREDICATE_TRIPLES)
    triples = [(r["predicate"], r["subject_id"], r["object_id"]) for r in rows]
    return build_predicate_rules(
        {t[0] for t in triples}, config, triples=triples, similarity=similarity
    )


def _candidate_facts(driver: Driver, database: str, rules: PredicateRules) -> list[FactRecord]:
    rows = _read(driver, database, q.PREDICATE_TRIPLES)
    predicates = rules.single_valued_predicates({r["predicate"] for r in rows})
    if not predicates:
        return []
    records = _read(driver, database, q.CANDIDATE_FACTS, predicates=predicates)
    return [
        FactRecord(
            id=r["id"],
            subject_id=r["subject_id"],
            predicate=r["predicate"],
            object_id=r["object_id"],
            valid_at=to_native(r["valid_at"]),
            observed_at=to_native(r["observed_at"]),
            invalid_at=to_native(r["stated_invalid_at"]),
        )
        for r in records
    ]


@dataclass(frozen=True)
class ConflictOutcome:
    superseded: int
    unsuperseded: int
    ambiguous: int
    predicates: tuple[str, ...]


def resolve_conflicts(
    driver: Driver,
    database: str,
    config: ConsolidationConfig | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    similarity: Callable[[str, str], float] | None = None,
) -> ConflictOutcome:
    """Bring the SUPERSEDES links in line with :func:`decide_supersessions` over all facts.

    Computes the wanted links from scratch and applies only the difference, so arrival order
    does not matter (a late old document ends in the same state) and a second run is a no-op.
    Facts whose replacement disappeared (deleted with its source) hold again.
    """
    now = _now(now)
    rules = predicate_rules(driver, database, config, similarity=similarity)
    facts = _candidate_facts(driver, database, rules)
    decision = decide_supersessions(facts, rules)
    wanted = {s.older_id: s for s in decision.supersessions}
    existing: dict[str, set[str]] = {}
    stored_end: dict[str, datetime | None] = {}
    for r in _read(driver, database, q.EXISTING_SUPERSESSIONS):
        links = existing.setdefault(r["older"], set())
        stored_end[r["older"]] = to_native(r["invalid_at"])
        if r["newer"] is not None:
            links.add(r["newer"])
    stated = {f.id: f.invalid_at for f in facts}
    stale_links = [
        {"newer": newer, "older": older}
        for older, newers in existing.items()
        for newer in newers
        if older not in wanted or wanted[older].newer_id != newer
    ]
    to_clear = sorted(older for older in existing if older not in wanted)
    to_apply = [
        {
            "newer": s.newer_id,
            "older": s.older_id,
            "invalid_at": s.invalid_at,
            "predicate": s.predicate,
            "key": str(s.key),
        }
        for s in decision.supersessions
        if existing.get(s.older_id) != {s.newer_id}
        or (stated.get(s.older_id) is None and stored_end.get(s.older_id) != s.invalid_at)
    ]
    if not dry_run and (stale_links or to_clear or to_apply):

        def work(tx: ManagedTransaction) -> None:
            for links in batched(stale_links, _BATCH):
                tx.run(q.DELETE_SUPERSEDES, rows=list(links)).consume()
            for ids in batched(to_clear, _BATCH):
                tx.run(q.CLEAR_SUPERSESSION, ids=list(ids)).consume()
            for rows in batched(to_apply, _BATCH):
                tx.run(q.APPLY_SUPERSEDES, rows=list(rows), now=now).consume()

        _write(driver, database, work)
    single = sorted({rules.canonical(f.predicate) for f in facts})
    return ConflictOutcome(
        superseded=len(to_apply),
        unsuperseded=len(to_clear),
        ambiguous=len(decision.ambiguous),
        predicates=tuple(single),
    )


def single_value_conflicts(
    driver: Driver,
    database: str,
    config: ConsolidationConfig | None = None,
    *,
    now: datetime | None = None,
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Groups where a one-value predicate has several current values (should be empty after
    :func:`consolidate`, except for ambiguous same-time conflicts)."""
    rules = predicate_rules(driver, database, config)
    facts = _candidate_facts(driver, database, rules)
    superseded = [r["id"] for r in _read(driver, database, q.SUPERSEDED_IDS)]
    return current_value_conflicts(facts, rules, superseded, _now(now))


# --- deduplication --------------------------------------------------------------------------


def merge_duplicate_entities(
    driver: Driver, database: str, *, min_score: float = 0.9, dry_run: bool = False
) -> int:
    """Merge entities that are confidently one: SYNONYM score >= ``min_score`` *and* name
    evidence (:func:`~pipelines.consolidation.names_match`), and no conflicting NER labels.

    The entity kept is the better connected one, then the one with the shorter name; the
    other's names become aliases, its id goes to ``merged_ids``, and every relationship moves
    to the kept entity. Merging moves SYNONYM edges too, which can make new pairs, so rounds
    repeat until none is left (a second run then merges nothing). Returns the number of
    entities merged away.
    """
    total = 0
    for _ in range(_MAX_MERGE_ROUNDS):
        merged = _merge_round(driver, database, min_score, dry_run)
        total += merged
        if dry_run or not merged:
            break
    return total


_MAX_MERGE_ROUNDS = 10


def _merge_round(driver: Driver, database: str, min_score: float, dry_run: bool) -> int:
    rows = _read(driver, database, q.SYNONYM_CANDIDATES, min_score=min_score)
    generic = {"CONCEPT", "NOUN_CHUNK", None}
    gone: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for r in rows:
        if r["a"] in gone or r["b"] in gone:
            continue
        labels = {r["a_label"], r["b_label"]}
        if not labels & generic and len(labels) > 1:
            continue
        if not names_match(r["a_name"] or r["a_canonical"], r["b_name"] or r["b_canonical"]):
            continue
        rank_a = (-r["a_degree"], len(r["a_canonical"] or ""), r["a"])
        rank_b = (-r["b_degree"], len(r["b_canonical"] or ""), r["b"])
        keep, drop = (r["a"], r["b"]) if rank_a <= rank_b else (r["b"], r["a"])
        gone.update((keep, drop))  # one merge per entity per round
        pairs.append((keep, drop))
    if dry_run or not pairs:
        return len(pairs)

    def work(tx: ManagedTransaction) -> None:
        for keep, drop in pairs:
            tx.run(q.MERGE_ENTITY, keep=keep, drop=drop).consume()

    _write(driver, database, work)
    return len(pairs)


def merge_duplicate_facts(driver: Driver, database: str, *, dry_run: bool = False) -> int:
    """Fold facts that became the same claim (same subject and object entity, predicate and
    ``valid_at``) into one, keeping every source. Returns the number folded away.

    Facts that differ only in a missing ``valid_at`` are *not* merged: "lived in Berlin (2021)"
    and an undated "lives in Berlin" written in 2024 may be two stays, and an id hashes its
    ``valid_at``. Conflict resolution treats them as the same value restated, so neither
    supersedes the other and a change of value in between supersedes the earlier one only.
    """
    groups = [list(r["ids"]) for r in _read(driver, database, q.DUPLICATE_FACTS)]
    pairs = [(ids[0], other) for ids in groups for other in ids[1:]]
    if dry_run or not pairs:
        return len(pairs)

    def work(tx: ManagedTransaction) -> None:
        for keep, drop in pairs:
            tx.run(q.MERGE_FACT, keep=keep, drop=drop).consume()

    _write(driver, database, work)
    return len(pairs)


# --- forgetting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ForgettingOutcome:
    facts_archived: int = 0
    passages_archived: int = 0
    restored: int = 0
    facts_deleted: int = 0
    passages_deleted: int = 0
    entities_deleted: int = 0


def _memory_items(driver: Driver, database: str, protected_facts: set[str]) -> list[MemoryItem]:
    items: list[MemoryItem] = []
    for r in _read(driver, database, q.FACT_MEMORY):
        items.append(
            MemoryItem(
                id=r["id"],
                kind="fact",
                mentions=r["mentions"],
                retrievals=r["retrievals"],
                learned_at=to_native(r["learned_at"]),
                observed_at=to_native(r["observed_at"]),
                last_accessed_at=to_native(r["last_accessed_at"]),
                archived_at=to_native(r["archived_at"]),
                protected=r["id"] in protected_facts,
            )
        )
    for r in _read(driver, database, q.PASSAGE_MEMORY):
        items.append(
            MemoryItem(
                id=r["id"],
                kind="passage",
                mentions=max(r["mentions"], 1),
                retrievals=r["retrievals"],
                learned_at=to_native(r["learned_at"]),
                observed_at=to_native(r["observed_at"]),
                last_accessed_at=to_native(r["last_accessed_at"]),
                archived_at=to_native(r["archived_at"]),
                protected=bool(protected_facts.intersection(r["fact_ids"])),
                supports=tuple(r["fact_ids"]),
            )
        )
    return items


def _current_single_values(
    driver: Driver, database: str, config: ConsolidationConfig | None, now: datetime
) -> set[str]:
    rules = predicate_rules(driver, database, config)
    facts = _candidate_facts(driver, database, rules)
    superseded = {r["id"] for r in _read(driver, database, q.SUPERSEDED_IDS)}
    return {
        f.id
        for f in facts
        if f.id not in superseded
        and (f.invalid_at is None or f.invalid_at > now)
        and rules.phase(f.predicate) is not Phase.FORMER
    }


def apply_forgetting(
    driver: Driver,
    database: str,
    *,
    config: ConsolidationConfig | None = None,
    decay: DecayConfig | None = None,
    retention: RetentionPolicy | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> ForgettingOutcome:
    """Archive weak facts and passages, restore reinforced ones, and delete long-archived ones
    only when ``retention`` says so. Current values of one-value predicates (and the passages
    stating them) are protected unless ``retention.archive_current_values``."""
    now = _now(now)
    decay = decay or DecayConfig()
    retention = retention or RetentionPolicy()
    protected = _current_single_values(driver, database, config, now)
    plan = plan_forgetting(_memory_items(driver, database, protected), now, decay, retention)
    restore_ids = [i for ids in plan.restore.values() for i in ids]
    outcome = ForgettingOutcome(
        facts_archived=len(plan.archive.get("fact", ())),
        passages_archived=len(plan.archive.get("passage", ())),
        restored=len(restore_ids),
        facts_deleted=len(plan.delete.get("fact", ())),
        passages_deleted=len(plan.delete.get("passage", ())),
    )
    if dry_run:
        return outcome
    deleted_entities = 0

    def work(tx: ManagedTransaction) -> int:
        for kind, ids in plan.archive.items():
            for chunk in batched(list(ids), _BATCH):
                tx.run(q.ARCHIVE[kind], ids=list(chunk), now=now).consume()
        for chunk in batched(restore_ids, _BATCH):
            tx.run(q.RESTORE, ids=list(chunk), now=now).consume()
        fact_ids: set[str] = set()
        entity_ids: set[str] = set()
        for chunk in batched(list(plan.delete.get("passage", ())), _BATCH):
            for rec in tx.run(q.DELETE_PASSAGES, ids=list(chunk)):
                fact_ids.update(rec["fact_ids"])
                entity_ids.update(rec["entity_ids"])
        for chunk in batched(list(plan.delete.get("fact", ())), _BATCH):
            for rec in tx.run(q.DELETE_FACTS_WITH_RELATIONS, ids=list(chunk)):
                entity_ids.update(e for e in rec["ends"] if e)
        return _prune_counts(tx, fact_ids, entity_ids)[1]

    if plan.archive or restore_ids or plan.delete:
        deleted_entities = _write(driver, database, work)
    return ForgettingOutcome(**{**asdict(outcome), "entities_deleted": deleted_entities})


def restore(
    driver: Driver, database: str, ids: Sequence[str], *, now: datetime | None = None
) -> list[str]:
    """Un-archive facts or passages by id; returns the ids restored (already-live ids are
    skipped). A restored fact's archived sources are restored with it. Restoring counts as a
    recall, so the next run does not archive them again."""
    when = _now(now)

    def work(tx: ManagedTransaction) -> list[str]:
        restored = [r["id"] for r in tx.run(q.RESTORE, ids=list(ids), now=when)]
        tx.run(q.RESTORE_SOURCES, ids=restored, now=when).consume()
        return sorted(restored)

    result: list[str] = _write(driver, database, work)
    return result


# --- source deletion ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceDeletion:
    """What :func:`forget_source` removed."""

    documents: tuple[str, ...] = ()
    passages: int = 0
    facts: int = 0
    entities: int = 0
    facts_unsuperseded: int = 0
    vectors_removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["documents"] = list(self.documents)
        return data


def _prune_counts(
    tx: ManagedTransaction, fact_ids: Iterable[str], entity_ids: Iterable[str]
) -> tuple[int, int]:
    """The writer's pruning (unsupported facts, then orphan entities), with counts."""
    facts = sorted(set(fact_ids))
    entities = set(entity_ids)
    deleted_facts = 0
    if facts:
        for record in tx.run(cypher.DELETE_UNSUPPORTED_FACTS, fact_ids=facts):
            deleted_facts += 1
            entities.update(e for e in record["ends"] if e)
    deleted_entities = 0
    if entities:
        rec = tx.run(cypher.DELETE_ORPHAN_ENTITIES, entity_ids=sorted(entities)).single()
        deleted_entities = int(rec["deleted"]) if rec else 0
    return deleted_facts, deleted_entities


def forget_source(
    driver: Driver,
    database: str,
    document_id_or_source: str,
    *,
    store: VectorStore | None = None,
    settings: Settings | None = None,
) -> SourceDeletion:
    """Delete a document (by id, or every document of a source path), its passages, the facts
    no other source states and the entities left orphaned, in one transaction.

    Facts the deleted ones had superseded hold again (the next :func:`consolidate` decides
    anew). With ``store`` the vectors of everything deleted are removed too (and saved under
    ``settings.vector_dir`` when ``settings`` is given). Returns an empty result, not an error,
    when nothing matches.
    """
    docs = _read(driver, database, q.MATCH_DOCUMENTS, key=document_id_or_source)
    doc_ids = [r["id"] for r in docs]
    if not doc_ids:
        return SourceDeletion()

    def work(tx: ManagedTransaction) -> tuple[int, int, int, int]:
        passages = 0
        fact_ids: set[str] = set()
        entity_ids: set[str] = set()
        for doc_id in doc_ids:
            for rec in tx.run(q.DELETE_DOCUMENT, document_id=doc_id):
                passages += len(rec["passage_ids"])
                fact_ids.update(rec["fact_ids"])
                entity_ids.update(rec["entity_ids"])
        facts, entities = _prune_counts(tx, fact_ids, entity_ids)
        orphaned = [r["id"] for r in tx.run(q.ORPHANED_SUPERSESSIONS)]
        if orphaned:
            tx.run(q.CLEAR_SUPERSESSION, ids=orphaned).consume()
        return passages, facts, entities, len(orphaned)

    passages, facts, entities, unsuperseded = _write(driver, database, work)
    removed = 0
    if store is not None:
        removed = prune_vectors(driver, database, store)
        if settings is not None:
            store.save(settings.vector_dir)
    return SourceDeletion(
        documents=tuple(doc_ids),
        passages=passages,
        facts=facts,
        entities=entities,
        facts_unsuperseded=unsuperseded,
        vectors_removed=removed,
    )


def prune_vectors(driver: Driver, database: str, store: VectorStore) -> int:
    """Remove vectors whose node no longer exists (no embedding needed); returns how many.

    The caller saves the store. ``graph.ingest.vector_stage`` does the same and also embeds
    what is missing.
    """
    reader = GraphReader(driver, database)
    removed = 0
    for kind in VECTOR_KINDS:
        if kind not in store:
            continue
        collection = store.collection(kind)
        stale = sorted(set(collection.ids()) - reader.ids(kind))
        if stale:
            collection.remove(stale)
            removed += len(stale)
    return removed


# --- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrphanReport:
    """Nodes and relationships left without what should hold them (examples, up to a limit)."""

    passages: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (
            self.passages or self.facts or self.entities or self.relations or self.documents
        )

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in asdict(self).items()}


def find_orphans(driver: Driver, database: str, *, limit: int = 20) -> OrphanReport:
    """Passages without a document, facts no passage states, entities nothing uses, RELATES
    edges of deleted facts, and documents without passages."""
    rec = _read(driver, database, q.ORPHANS, limit=limit)[0]
    return OrphanReport(**{k: tuple(rec[k]) for k in OrphanReport.__dataclass_fields__})


# --- the whole run --------------------------------------------------------------------------


def consolidate(
    driver: Driver,
    settings: Settings,
    *,
    options: ConsolidationOptions | None = None,
    store: VectorStore | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    similarity: Callable[[str, str], float] | None = None,
) -> ConsolidationReport:
    """One consolidation run: merge duplicate entities and facts, resolve conflicts, forget.

    What ``consolidation_job`` and ``hippograph consolidate`` do. With ``store``, vectors of
    deleted nodes are removed and the store is saved under ``settings.vector_dir``. With
    ``dry_run`` nothing is written and the counts say what would change (merges are counted
    but their effect on conflicts is not simulated).
    """
    t0 = time.perf_counter()
    options = options or ConsolidationOptions()
    database = settings.neo4j_database
    now = _now(now)
    merged = facts_merged = 0
    if options.merge_entities:
        merged = merge_duplicate_entities(
            driver, database, min_score=options.merge_min_score, dry_run=dry_run
        )
        facts_merged = merge_duplicate_facts(driver, database, dry_run=dry_run)
    conflicts = resolve_conflicts(
        driver, database, options.conflicts, now=now, dry_run=dry_run, similarity=similarity
    )
    forgetting = ForgettingOutcome()
    if options.forget:
        forgetting = apply_forgetting(
            driver,
            database,
            config=options.conflicts,
            decay=options.decay,
            retention=options.retention,
            now=now,
            dry_run=dry_run,
        )
    removed = 0
    if store is not None and not dry_run:
        removed = prune_vectors(driver, database, store)
        if removed:
            store.save(settings.vector_dir)
    return ConsolidationReport(
        facts_superseded=conflicts.superseded,
        facts_unsuperseded=conflicts.unsuperseded,
        ambiguous_conflicts=conflicts.ambiguous,
        entities_merged=merged,
        facts_merged=facts_merged,
        facts_archived=forgetting.facts_archived,
        passages_archived=forgetting.passages_archived,
        restored=forgetting.restored,
        facts_deleted=forgetting.facts_deleted,
        passages_deleted=forgetting.passages_deleted,
        entities_deleted=forgetting.entities_deleted,
        vectors_removed=removed,
        single_valued_predicates=conflicts.predicates,
        dry_run=dry_run,
        seconds=time.perf_counter() - t0,
    )
