"""The retrieval API: :class:`Retriever` and its one query method, :meth:`Retriever.retrieve`.

::

    with Retriever.connect(get_settings()) as retriever:
        result = retriever.retrieve("Where was the designer of the Kestrel drone born?")
        result = retriever.retrieve("Who was CTO of Halvard Robotics?", as_of=date(2020, 6, 1))
        baseline = retriever.retrieve(question, config=Preset.DENSE)

Consolidation is respected: archived facts and passages are not searched unless
``config.include_archived``; superseded facts come back flagged as history from the stored
marks (see :mod:`retrieval.timeline`). With ``record_access`` the returned passages and facts
are counted as recalled, which strengthens them against forgetting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from neo4j import Driver

from graph.driver import connect as connect_driver
from graph.errors import GraphError
from graph.projection_loader import LoadedGraph, ProjectionCache, record_access
from pipelines.embeddings import NumpyEmbeddings, embedder_from_settings
from pipelines.errors import IngestError
from pipelines.extraction.spacy_extractor import load_spacy_model
from pipelines.settings import Settings
from pipelines.vectorstore import VectorCollection, VectorStore
from retrieval import rerank, seeding, timeline
from retrieval.config import Preset, RetrievalConfig, Signal, preset_config
from retrieval.errors import InvalidQueryError, RetrievalBackendError
from retrieval.lexical import BM25Index, build_index, top_scores
from retrieval.results import (
    LinkKind,
    PassageExplanation,
    ResultReason,
    RetrievalResult,
    RetrievedPassage,
    ScoreComponents,
    SeedEntity,
    SupportingFact,
)
from retrieval.temporal import TemporalCues, as_aware, parse_temporal_cues

_MAX_PATH_NODES = 2000  # bound on the breadth-first search behind an explanation path

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class _Indexes:
    """What is derived from one loaded graph: BM25, name lookups and the matching vectors."""

    graph: LoadedGraph
    bm25: BM25Index
    links: seeding.LinkIndex
    store: VectorStore


class Retriever:
    """Answers queries from the knowledge graph and the vector store. No I/O when constructed.

    Parameters
    ----------
    driver
        A Neo4j driver (the caller closes it, unless it came from :meth:`connect`).
    database
        The Neo4j database.
    store
        The FAISS collections; with ``vector_dir`` set instead, they are (re)opened from that
        directory whenever the graph changes.
    embedder
        Must be the embedder the collections were built with.
    spacy_model
        The spaCy pipeline used to find entity mentions in queries (loaded on first query).
    refresh_interval_s
        How often, at most, the graph is checked for changes.
    snapshot_path
        Where the loaded graph is kept between processes (see
        :func:`graph.projection_loader.load_graph`): a new process whose graph has not changed
        builds the projection from this file instead of reading the whole graph, and one whose
        graph grew reads only the delta. None: always load from Neo4j.
    """

    def __init__(
        self,
        driver: Driver,
        *,
        database: str = "neo4j",
        embedder: NumpyEmbeddings,
        store: VectorStore | None = None,
        vector_dir: Path | None = None,
        spacy_model: str = "en_core_web_sm",
        refresh_interval_s: float = 1.0,
        snapshot_path: Path | None = None,
    ) -> None:
        if (store is None) == (vector_dir is None):
            raise ValueError("give exactly one of store and vector_dir")
        self._driver = driver
        self._database = database
        self._cache = ProjectionCache(
            driver, database, refresh_interval_s=refresh_interval_s, snapshot_path=snapshot_path
        )
        self._embedder = embedder
        self._store = store
        self._vector_dir = vector_dir
        self._spacy_model = spacy_model
        self._lock = threading.Lock()
        self._indexes: dict[bool, _Indexes] = {}  # by include_archived

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        driver: Driver,
        store: VectorStore | None = None,
        embedder: NumpyEmbeddings | None = None,
    ) -> Retriever:
        """A retriever on ``driver`` configured by ``settings`` (vectors from its vector_dir;
        the projection snapshot in ``cache_dir/projection/<database>.json``)."""
        return cls(
            driver,
            database=settings.neo4j_database,
            embedder=embedder if embedder is not None else embedder_from_settings(settings),
            store=store,
            vector_dir=None if store is not None else settings.vector_dir,
            spacy_model=settings.spacy_model,
            snapshot_path=settings.cache_dir / "projection" / f"{settings.neo4j_database}.json",
        )

    @classmethod
    @contextmanager
    def connect(cls, settings: Settings) -> Iterator[Retriever]:
        """A retriever with its own driver, closed on exit."""
        driver = connect_driver(settings)
        try:
            yield cls.from_settings(settings, driver=driver)
        finally:
            driver.close()

    # ---- the API -------------------------------------------------------------------------

    def retrieve(
        self,
        query: str,
        *,
        top_k: int = 5,
        as_of: datetime | date | str | None = None,
        config: Preset | str | RetrievalConfig = Preset.PPR_RERANK_TIMELINE,
        record_access: bool | None = None,
    ) -> RetrievalResult:
        """The ``top_k`` passages for ``query``, with facts, seeds, timeline and explanations.

        ``as_of`` (or an "as of <date>" cue in the query) keeps only facts that had started and
        were known at that time (those ended by then are flagged superseded) and, with
        ``config.as_of_filters_passages``, passages written by then. ``record_access``
        (default: ``config.record_access``) counts the returned passages and facts as recalled
        in one write after the result is built; a failed write is logged, never raised.
        Returns an empty result with ``reason`` set for an empty graph; falls back to dense
        retrieval (``reason="no_entity_linked"``) when a graph preset finds no seed entity.

        Raises
        ------
        InvalidQueryError
            Empty query, ``top_k < 1``, an unknown preset or an unreadable ``as_of``.
        RetrievalBackendError
            Neo4j, the vector store or the embedder failed.
        """
        cfg, when = self._validate(query, top_k, as_of, config)
        clock = _Clock()
        cues = parse_temporal_cues(query)
        when = when or cues.as_of
        try:
            indexes = self._current(include_archived=cfg.include_archived)
            clock.lap("load")
            result = self._retrieve(query, top_k, when, cues, cfg, indexes, clock)
        except (GraphError, IngestError) as e:
            raise RetrievalBackendError(f"retrieval failed: {e}") from e
        if cfg.record_access if record_access is None else record_access:
            self._record_access(result)
        return result

    def _record_access(self, result: RetrievalResult) -> None:
        """Count the result's passages and facts as recalled; a failure only logs a warning."""
        try:
            record_access(
                self._driver,
                self._database,
                passage_ids=[p.id for p in result.passages],
                fact_ids=[f.id for f in result.facts],
            )
        except GraphError as e:
            logger.warning("could not record access for query %r: %s", result.query, e)

    # ---- internals -----------------------------------------------------------------------

    @staticmethod
    def _validate(
        query: str,
        top_k: int,
        as_of: datetime | date | str | None,
        config: Preset | str | RetrievalConfig,
    ) -> tuple[RetrievalConfig, datetime | None]:
        if not isinstance(query, str) or not query.strip():
            raise InvalidQueryError("the query is empty")
        if top_k < 1:
            raise InvalidQueryError(f"top_k must be at least 1, got {top_k}")
        try:
            cfg = preset_config(config)
            when = as_aware(as_of) if as_of is not None else None
        except ValueError as e:
            raise InvalidQueryError(str(e)) from e
        return cfg, when

    def _current(self, *, include_archived: bool = False) -> _Indexes:
        graph = self._cache.current().view(include_archived=include_archived)
        with self._lock:
            indexes = self._indexes.get(include_archived)
            if indexes is None or indexes.graph is not graph:
                store = self._store
                if store is None:
                    assert self._vector_dir is not None
                    store = VectorStore.open(self._vector_dir)
                bm25 = build_index(
                    {p.id: f"{p.title or ''}\n{p.text}" for p in graph.passages.values()}
                )
                indexes = _Indexes(graph, bm25, seeding.build_link_index(graph), store)
                self._indexes[include_archived] = indexes
            return indexes

    def _retrieve(
        self,
        query: str,
        top_k: int,
        as_of: datetime | None,
        cues: TemporalCues,
        cfg: RetrievalConfig,
        ix: _Indexes,
        clock: _Clock,
    ) -> RetrievalResult:
        graph = ix.graph
        base = RetrievalResult(query=query, config=cfg.name, as_of=as_of, cues=list(cues.found))
        if graph.is_empty:
            return base.model_copy(
                update={"reason": ResultReason.EMPTY_GRAPH, "timings_ms": clock.ms()}
            )
        allowed = _known_passages(graph, as_of) if cfg.as_of_filters_passages else None
        mentions: list[seeding.Mention] = []
        if Signal.GRAPH in cfg.signals:
            mentions = seeding.query_mentions(load_spacy_model(self._spacy_model)(query))
        need_vectors = cfg.signals & {Signal.DENSE, Signal.GRAPH}
        vectors = (
            self._embedder.embed_array([query, *(m.text for m in mentions)])
            if need_vectors
            else None
        )
        clock.lap("embed")
        dense = (
            _dense(_collection(ix.store, "passage"), vectors[0], cfg.dense_pool, graph, allowed)
            if vectors is not None
            else {}
        )
        lexical = (
            _filter(top_scores(ix.bm25, query, cfg.lexical_pool), allowed)
            if Signal.LEXICAL in cfg.signals
            else {}
        )
        clock.lap("dense_lexical")
        seeds = seeding.Seeds({}, {})
        reason = None
        if Signal.GRAPH in cfg.signals and vectors is not None:
            seeds = seeding.link_query(
                graph,
                ix.links,
                mentions,
                query_vector=vectors[0],
                mention_vectors=vectors[1:],
                entity_vectors=_collection(ix.store, "entity"),
                fact_vectors=_collection(ix.store, "fact"),
                config=cfg,
            )
            clock.lap("seeding")
        ranking: rerank.GraphRanking | None = None
        if Signal.GRAPH in cfg.signals and seeds.entities and vectors is not None:
            ranking = rerank.graph_rank(
                graph,
                seeds.weights,
                anchors=_anchors(seeds),
                dense=dense,
                lexical=lexical,
                fact_match=rerank.fact_match_scores(graph, seeds.fact_scores),
                allowed=allowed,
                top_k=top_k,
                fact_similarity=_fact_similarity(_collection(ix.store, "fact"), vectors[0]),
                config=cfg,
                passage_seeds=seeds.passages,
                query=query,
                hop_similarity=_hop_similarity(self._embedder, _collection(ix.store, "fact")),
            )
            components = ranking.components
            clock.lap("ppr_rerank")
        elif Signal.GRAPH in cfg.signals:
            reason = ResultReason.NO_ENTITY_LINKED
            components = rerank.fuse(ppr={}, dense=dense, lexical={}, fact_match={}, config=cfg)
        else:
            components = rerank.fuse(
                ppr={}, dense=dense, lexical=lexical, fact_match={}, config=cfg
            )
        order = [p for p in rerank.ranked(components) if components[p].fused > 0.0][:top_k]
        if not order and reason is None:
            reason = ResultReason.NO_MATCH
        facts, superseded = _supporting_facts(graph, order, components, seeds, cues, as_of, cfg)
        seed_list = _seed_list(graph, seeds, ranking)
        titled = seeds.passages if ranking is not None else {}
        hops = {
            pid: hop.question
            for hop in (ranking.hops.values() if ranking is not None else ())
            for pid in hop.passage_ids
        }
        passages = [
            _passage(graph, pid, rank, components[pid], seed_list, facts, titled, hops)
            for rank, pid in enumerate(order, start=1)
        ]
        entries = []
        if cfg.timeline:
            anchors = _anchors(seeds)
            named = [s.id for s in seed_list if s.id in anchors][:5]
            entries = timeline.build_timeline(
                graph,
                entity_ids=named,
                top_fact_ids=[f.id for f in facts[:5]],
                cues=cues,
                as_of=as_of,
                superseded=superseded,
                limit=cfg.timeline_limit,
            )
        clock.lap("facts_timeline")
        return base.model_copy(
            update={
                "passages": passages,
                "facts": facts,
                "seeds": seed_list,
                "timeline": entries,
                "reason": reason,
                "timings_ms": clock.ms(),
            }
        )


# ---- helpers ---------------------------------------------------------------------------------


class _Clock:
    """Milliseconds per step of one query (kept on the result, not on the retriever)."""

    def __init__(self) -> None:
        self._start = self._last = time.perf_counter()
        self._laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self._laps[name] = self._laps.get(name, 0.0) + (now - self._last) * 1000.0
        self._last = now

    def ms(self) -> dict[str, float]:
        out = {k: round(v, 3) for k, v in self._laps.items()}
        out["total"] = round((time.perf_counter() - self._start) * 1000.0, 3)
        return out


def _collection(store: VectorStore, name: str) -> VectorCollection | None:
    return store.collection(name) if name in store else None


def _known_passages(graph: LoadedGraph, as_of: datetime | None) -> frozenset[str] | None:
    if as_of is None:
        return None
    return frozenset(
        p.id for p in graph.passages.values() if p.timestamp is None or p.timestamp <= as_of
    )


def _filter(scores: Mapping[str, float], allowed: Set[str] | None) -> dict[str, float]:
    return {k: v for k, v in scores.items() if allowed is None or k in allowed}


def _dense(
    passages: VectorCollection | None,
    vector: np.ndarray,
    k: int,
    graph: LoadedGraph,
    allowed: Set[str] | None,
) -> dict[str, float]:
    if passages is None or not len(passages):
        return {}
    (row,) = passages.search(vector[None, :], k)
    return _filter({p: max(s, 0.0) for p, s in row if p in graph.passages}, allowed)


_NAME_LINKS = frozenset({LinkKind.EXACT, LinkKind.ALIAS, LinkKind.FUZZY})


def _anchors(seeds: seeding.Seeds) -> frozenset[str]:
    """Seeds linked by name; else the seeds within half of the strongest weight."""
    named = frozenset(e for e, s in seeds.entities.items() if _NAME_LINKS & set(s.links))
    if named:
        return named
    top = max((s.weight for s in seeds.entities.values()), default=0.0)
    return frozenset(e for e, s in seeds.entities.items() if s.weight >= top / 2)


def _hop_similarity(
    embedder: NumpyEmbeddings, facts: VectorCollection | None
) -> rerank.HopSimilarity:
    """Embed the rewritten hop questions in one batch; cosine to each one's own facts."""

    def similarity(
        questions: Sequence[str], fact_ids: Sequence[Sequence[str]]
    ) -> list[dict[str, float]]:
        if facts is None or not questions:
            return [{} for _ in questions]
        vectors = embedder.embed_array(list(questions))
        out = []
        for vector, ids in zip(vectors, fact_ids, strict=True):
            known = [f for f in ids if f in facts]
            sims = (facts.vectors(known) @ vector).tolist() if known else []
            out.append(dict(zip(known, sims, strict=True)))
        return out

    return similarity


def _fact_similarity(facts: VectorCollection | None, vector: np.ndarray) -> rerank.FactSimilarity:
    def similarity(fact_ids: Sequence[str]) -> dict[str, float]:
        known = [f for f in fact_ids if facts is not None and f in facts]
        if facts is None or not known:
            return {}
        return dict(zip(known, (facts.vectors(known) @ vector).tolist(), strict=True))

    return similarity


def _seed_list(
    graph: LoadedGraph, seeds: seeding.Seeds, ranking: rerank.GraphRanking | None
) -> list[SeedEntity]:
    out = dict(seeds.entities)
    if ranking is not None:
        for eid, w in ranking.bridges.items():
            if eid not in out:
                out[eid] = SeedEntity(
                    id=eid, name=graph.entities[eid].name, weight=w, links=[LinkKind.BRIDGE]
                )
    return sorted(out.values(), key=lambda s: (-s.weight, s.id))


def _supporting_facts(
    graph: LoadedGraph,
    order: list[str],
    components: Mapping[str, ScoreComponents],
    seeds: seeding.Seeds,
    cues: TemporalCues,
    as_of: datetime | None,
    cfg: RetrievalConfig,
) -> tuple[list[SupportingFact], dict[str, str]]:
    """Facts stated by the top passages or close to the query, scored, with supersession."""
    best = max((components[p].fused for p in order), default=0.0) or 1.0
    passage_score = {p: components[p].fused / best for p in order}
    candidates = {f for p in order for f in graph.passage_facts.get(p, ())} | set(seeds.fact_scores)
    facts = timeline.visible_facts(graph, candidates, as_of)
    ends = {e for f in facts for e in (f.subject_id, f.object_id)}
    local = timeline.visible_facts(graph, timeline.neighbourhood_facts(graph, ends), as_of)
    superseded = timeline.supersession_status(graph, local, as_of=as_of, now=datetime.now(UTC))
    scored = []
    for f in facts:
        score = 0.5 * seeds.fact_scores.get(f.id, 0.0)
        score += 0.5 * max((passage_score.get(p, 0.0) for p in f.passage_ids), default=0.0)
        if f.subject_id in seeds.entities or f.object_id in seeds.entities:
            score += 0.2
        if f.id in superseded and cues.latest:
            score *= 0.5
        if cues.filters_time and not cues.admits(timeline.fact_time(f)):
            score *= 0.5
        scored.append((score, f))
    scored.sort(key=lambda x: (-x[0], x[1].id))
    out = [
        SupportingFact(
            id=f.id,
            subject=f.subject,
            predicate=f.predicate,
            object=f.object,
            statement=f.statement,
            valid_at=f.valid_at,
            invalid_at=f.invalid_at,
            observed_at=f.observed_at,
            expired_at=f.expired_at,
            score=round(score, 6),
            passage_ids=list(f.passage_ids),
            superseded=f.id in superseded,
            superseded_by=superseded.get(f.id) or None,
        )
        for score, f in scored[: cfg.facts_limit]
    ]
    return out, superseded


def _passage(
    graph: LoadedGraph,
    pid: str,
    rank: int,
    components: ScoreComponents,
    seeds: list[SeedEntity],
    facts: list[SupportingFact],
    title_seeds: Mapping[str, float],
    hops: Mapping[str, str],
) -> RetrievedPassage:
    record = graph.passages[pid]
    seed_ids = {s.id for s in seeds if LinkKind.BRIDGE not in s.links}
    mentioned = graph.passage_entities.get(pid, ())
    path = _path_to_seed(graph, pid, seed_ids)
    bridge_names = [graph.entities[e].name for e in path[1:-1]]
    return RetrievedPassage(
        id=pid,
        text=record.text,
        score=round(components.fused, 6),
        rank=rank,
        title=record.title,
        source=record.source,
        document_id=record.document_id,
        timestamp=record.timestamp,
        explanation=PassageExplanation(
            seeds=[graph.entities[e].name for e in mentioned if e in seed_ids],
            bridges=bridge_names,
            path=[graph.entities[e].name for e in path],
            facts=[f.id for f in facts if pid in f.passage_ids],
            title_seed=pid in title_seeds,
            hop_question=hops.get(pid),
            components=components,
        ),
    )


def _path_to_seed(graph: LoadedGraph, pid: str, seeds: Set[str]) -> list[str]:
    """Entity ids on a shortest path seed -> ... -> (entity mentioned by) the passage.

    Breadth-first from the passage through entities (fact and synonym edges), visiting at most
    :data:`_MAX_PATH_NODES` nodes; empty when no seed is that close.
    """
    if not seeds:
        return []
    snap = graph.projection.snapshot()
    parents: dict[str, str | None] = {e: None for e in graph.passage_entities.get(pid, ())}
    queue = deque(parents)
    while queue and len(parents) < _MAX_PATH_NODES:
        node = queue.popleft()
        if node in seeds:
            path = [node]
            while (parent := parents[path[-1]]) is not None:
                path.append(parent)
            return path
        for nxt in snap.neighbors(node):
            if nxt not in parents and nxt in graph.entities:
                parents[nxt] = node
                queue.append(nxt)
    return []
