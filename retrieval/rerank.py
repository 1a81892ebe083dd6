"""Score fusion, PPR passage scoring and the iterative rerank rounds.

One round: personalise PPR with the seed entities (normalised to sum 1) plus every candidate
passage's normalised dense score times ``passage_seed_weight`` (HippoRAG 2), run it, and fuse
the top ``ppr_pool`` passages' PPR mass (optionally divided by ``degree ** ppr_degree_power``;
off by default: on MuSiQue train it cost 17-23 points of Recall@5) with their dense, BM25 and
fact-match scores (:func:`fuse`). A rerank
round then takes the facts the top passages state that join a seed to a new entity, keeps
those most similar to the query, and adds their new endpoints (the *bridge* entities) to the
seeds with ``bridge_weight`` of the seed mass (see :func:`_bridges`); then it runs again;
rounds stop when the top-k is unchanged or after ``rerank_rounds``.

Bridges are distinct entities: each new entity counts once, through its fact most similar to
the query, so a hub joined to the anchors by several facts (the company that built, launched
and renamed a product) cannot take every bridge slot.

The *hop* (:func:`hop_question`, :func:`_hop_passages`): the query's similarity to a bridge
entity's other facts says little, because the query is mostly about what is already resolved
("Where was the designer of the Kestrel drone born?" is closest to "Elias Brandt designed the
Kestrel", not to "Elias Brandt was born in Tartu"). So for each bridge the resolved part is
rewritten: the query words naming an anchor or realised by the bridge fact's predicate are
replaced by the bridge's name ("Where was the Elias Brandt born?"), that question is embedded,
and the bridge's facts that do not lead back to an anchor are scored against it. The passages
stating the best one (cosine >= ``hop_min_similarity``) become passage seeds of the next
round with ``hop_weight`` of the bridge's weight times the cosine: the passage that answers
the rest of the question about the bridge entity. Off when ``hop_weight`` is 0 or no
embedder is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from graph.ppr import PPRResult, personalized_pagerank
from graph.projection import NodeKind
from graph.projection_loader import LoadedGraph
from retrieval.config import Fusion, RetrievalConfig
from retrieval.lexical import STOPWORDS
from retrieval.results import ScoreComponents

_WORD = re.compile(r"\w+", re.UNICODE)


def max_normalise(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores divided by the largest (all zero when none is positive)."""
    top = max(scores.values(), default=0.0)
    if top <= 0.0:
        return dict.fromkeys(scores, 0.0)
    return {k: max(v, 0.0) / top for k, v in scores.items()}


def minmax_normalise(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores mapped linearly onto [0, 1] over the pool (all 1 when they are all equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high <= low:
        return dict.fromkeys(scores, 1.0 if high > 0.0 else 0.0)
    return {k: (v - low) / (high - low) for k, v in scores.items()}


def reciprocal_ranks(scores: Mapping[str, float], k: int) -> dict[str, float]:
    r"""``k / (k + rank)`` of every positively scored item (rank 1 is the best; ties by id).

    Reciprocal rank fusion [1]_ sums :math:`1 / (k + r)` over the rankings; the factor ``k``
    here only rescales it so that a first place is worth about 1, like the other normalisations.

    References
    ----------
    .. [1] G. V. Cormack, C. L. A. Clarke and S. Buettcher, "Reciprocal rank fusion outperforms
       Condorcet and individual rank learning methods", SIGIR 2009.
    """
    order = sorted((p for p, v in scores.items() if v > 0.0), key=lambda p: (-scores[p], p))
    return {p: k / (k + rank) for rank, p in enumerate(order, start=1)}


def _normalise(scores: Mapping[str, float], config: RetrievalConfig) -> dict[str, float]:
    if config.fusion is Fusion.RRF:
        return reciprocal_ranks(scores, config.rrf_k)
    if config.fusion is Fusion.MINMAX:
        return minmax_normalise(scores)
    return max_normalise(scores)


def fuse(
    *,
    ppr: Mapping[str, float],
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    fact_match: Mapping[str, float],
    config: RetrievalConfig,
) -> dict[str, ScoreComponents]:
    """Weighted sum of normalised signals over every passage any signal scored.

    Each signal is normalised over its own candidate pool as ``config.fusion`` says (max,
    min-max or reciprocal rank). The components keep the raw scores; ``fused`` is the sum.
    """
    weights = (
        config.ppr_weight,
        config.dense_weight,
        config.lexical_weight,
        config.fact_match_weight,
    )
    signals = (ppr, dense, lexical, fact_match)
    norm = [_normalise(s, config) if w > 0.0 else {} for s, w in zip(signals, weights, strict=True)]
    out: dict[str, ScoreComponents] = {}
    for pid in set().union(*signals):
        fused = sum(w * n.get(pid, 0.0) for w, n in zip(weights, norm, strict=True))
        out[pid] = ScoreComponents(
            ppr=ppr.get(pid, 0.0),
            dense=dense.get(pid, 0.0),
            lexical=lexical.get(pid, 0.0),
            fact_match=fact_match.get(pid, 0.0),
            fused=fused,
        )
    return out


def ranked(components: Mapping[str, ScoreComponents]) -> list[str]:
    """Passage ids by fused score, best first; ties by id."""
    return sorted(components, key=lambda p: (-components[p].fused, p))


def fact_match_scores(graph: LoadedGraph, fact_scores: Mapping[str, float]) -> dict[str, float]:
    """Per passage, the best query-fact similarity among the facts it states."""
    out: dict[str, float] = {}
    for fid, score in fact_scores.items():
        for pid in graph.facts[fid].passage_ids:
            out[pid] = max(out.get(pid, 0.0), score)
    return out


def ppr_passage_scores(
    graph: LoadedGraph,
    seeds: Mapping[str, float],
    dense: Mapping[str, float],
    config: RetrievalConfig,
    passage_seeds: Mapping[str, float] | None = None,
) -> tuple[dict[str, float], PPRResult]:
    """PPR mass of every reached passage, seeded by entities, passages titled by a query name
    (``passage_seeds``, normalised together with the entities) and (lightly) dense passages."""
    named = {**(passage_seeds or {}), **seeds}
    total = sum(named.values())
    personal = {n: w / total for n, w in named.items() if w > 0.0}
    for pid, score in max_normalise(dense).items():
        if score > 0.0:
            personal[pid] = personal.get(pid, 0.0) + config.passage_seed_weight * score
    result = personalized_pagerank(
        graph.projection.snapshot(),
        personal,
        damping=config.damping,
        method=config.ppr_method,
        epsilon=config.ppr_epsilon,
    )
    scores = dict(result.top_k(len(result), NodeKind.PASSAGE))
    if config.ppr_degree_normalise:
        snap = result.snapshot
        scores = {
            p: s / max(float(snap.degree[snap.node_index[p]]), 1.0) ** config.ppr_degree_power
            for p, s in scores.items()
        }
    return scores, result


FactSimilarity = Callable[[Sequence[str]], Mapping[str, float]]
"""Cosine similarity of the query to each of the given facts."""

HopSimilarity = Callable[[Sequence[str], Sequence[Sequence[str]]], list[dict[str, float]]]
"""For each rewritten question, the cosine of its embedding to each of its facts."""


@dataclass(frozen=True)
class Hop:
    """The next hop asked about a bridge entity: the rewritten question and its answer fact."""

    bridge_id: str
    question: str
    fact_id: str
    similarity: float
    passage_ids: tuple[str, ...]


@dataclass(frozen=True)
class GraphRanking:
    components: dict[str, ScoreComponents]
    seeds: dict[str, float]
    bridges: dict[str, float]
    rounds: int
    hops: dict[str, Hop] = field(default_factory=dict)
    """Per bridge entity id, the hop that seeded its answer passage (see :func:`hop_question`)."""


def graph_rank(
    graph: LoadedGraph,
    seeds: Mapping[str, float],
    *,
    anchors: Set[str],
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    fact_match: Mapping[str, float],
    allowed: Set[str] | None,
    top_k: int,
    fact_similarity: FactSimilarity,
    config: RetrievalConfig,
    passage_seeds: Mapping[str, float] | None = None,
    query: str = "",
    hop_similarity: HopSimilarity | None = None,
) -> GraphRanking:
    """PPR + fusion, then up to ``config.rerank_rounds`` bridge-entity rounds.

    ``passage_seeds`` (passages titled by a name in the query) stay seeded in every round.
    With ``query`` and ``hop_similarity`` each round also seeds the passages answering the
    rewritten question about each new bridge (module docstring).
    """
    current = dict(seeds)
    anchored = {e: w for e, w in seeds.items() if e in anchors}
    bridges: dict[str, float] = {}
    hops: dict[str, Hop] = {}
    titled = dict(passage_seeds or {})
    components = _round(graph, current, titled, dense, lexical, fact_match, allowed, config)
    rounds = 0
    frontier: Mapping[str, float] = anchored
    for _ in range(config.rerank_rounds):
        top = ranked(components)[:top_k]
        picked = _bridges(
            graph,
            top[: config.rerank_top_passages],
            anchored,
            frontier,
            fact_similarity,
            config,
        )
        if not picked:
            break
        rounds += 1
        added = {eid: w for eid, (w, _) in picked.items()}
        if hop_similarity is not None and query and config.hop_weight > 0.0:
            new_hops = _hops(graph, query, picked, anchored, hop_similarity, allowed, config)
            for hop in new_hops:
                hops.setdefault(hop.bridge_id, hop)
                seed = config.hop_weight * added[hop.bridge_id] * hop.similarity
                for pid in hop.passage_ids:
                    titled[pid] = titled.get(pid, 0.0) + seed / len(hop.passage_ids)
        for eid, w in added.items():
            bridges[eid] = bridges.get(eid, 0.0) + w
            current[eid] = current.get(eid, 0.0) + w
            anchored[eid] = anchored.get(eid, 0.0) + w
        frontier = added
        fact_match = _hop_fact_match(graph, added, fact_match, fact_similarity)
        components = _round(graph, current, titled, dense, lexical, fact_match, allowed, config)
        if ranked(components)[:top_k] == top:
            break
    return GraphRanking(components, current, bridges, rounds, hops)


def _stem_match(a: str, b: str) -> bool:
    """Whether two lower-case words share a stem: "designer"/"design", "married"/"marry".

    A crude suffix-tolerant match (no stemmer ships offline): a common prefix of at least 4
    letters that leaves at most 2 letters of the shorter word.
    """
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 4 and common >= shorter - 2


def hop_question(
    query: str, anchor_names: Sequence[str], predicate: str, bridge_name: str
) -> str | None:
    """``query`` with the part a bridge fact resolves replaced by the bridge's name, or None.

    The resolved part is the query words naming an anchor (``anchor_names``) or realised by the
    bridge fact's ``predicate`` ("designer" by "design"). Unless some word that names no anchor
    is realised by the predicate, the fact does not answer a relation the query asks about
    ("Kestrel is an inspection drone" for "the designer of the Kestrel"): no hop, None.
    The span from the first to the last resolved word is replaced when it is short (at most
    three other words inside: "the designer of the Kestrel drone" -> "Elias Brandt");
    otherwise each resolved word is dropped and the name is put where the first one was.
    Stopwords never count as resolved.
    """

    def keys(texts: Iterable[str]) -> list[str]:
        words = (w.lower() for text in texts for w in _WORD.findall(text))
        return [w for w in words if w not in STOPWORDS]

    names, relation = keys(anchor_names), keys([predicate])
    words = list(_WORD.finditer(query))
    lowered = [m.group().lower() for m in words]
    named = [
        i
        for i, w in enumerate(lowered)
        if w not in STOPWORDS and any(_stem_match(w, k) for k in names)
    ]
    related = [
        i
        for i, w in enumerate(lowered)
        if w not in STOPWORDS and i not in named and any(_stem_match(w, k) for k in relation)
    ]
    if not related:
        return None
    hit = sorted(set(related) | set(named))
    first, last = hit[0], hit[-1]
    if (last - first + 1) - len(hit) <= 3:
        start, end = words[first].start(), words[last].end()
        return f"{query[:start]}{bridge_name}{query[end:]}"
    out, pos = [], 0
    for n, i in enumerate(hit):
        m = words[i]
        out.append(query[pos : m.start()])
        if n == 0:
            out.append(bridge_name)
        pos = m.end()
    out.append(query[pos:])
    text = re.sub(r"\s{2,}", " ", "".join(out))
    return re.sub(r"\s+([?.!,;:])", r"\1", text).strip()


def _hops(
    graph: LoadedGraph,
    query: str,
    picked: Mapping[str, tuple[float, str]],
    anchors: Mapping[str, float],
    hop_similarity: HopSimilarity,
    allowed: Set[str] | None,
    config: RetrievalConfig,
) -> list[Hop]:
    """Per new bridge, its fact answering the rewritten question (module docstring)."""
    asks: list[tuple[str, str, list[str]]] = []
    for eid, (_, via) in picked.items():
        fact = graph.facts[via]
        names = [graph.entities[a].name for a in anchors]
        question = hop_question(query, names, fact.predicate, graph.entities[eid].name)
        if question is None:
            continue
        onward = [
            f
            for f in graph.entity_facts.get(eid, ())
            if f != via
            and graph.facts[f].subject_id not in anchors
            and graph.facts[f].object_id not in anchors
        ]
        if onward:
            asks.append((eid, question, onward))
    if not asks:
        return []
    sims = hop_similarity([q for _, q, _ in asks], [f for _, _, f in asks])
    hops = []
    for (eid, question, _), scores in zip(asks, sims, strict=True):
        for fid in sorted(scores, key=lambda f: (-scores[f], f)):
            if scores[fid] < config.hop_min_similarity:
                break
            passages = tuple(
                p for p in graph.facts[fid].passage_ids if allowed is None or p in allowed
            )
            if passages:
                hops.append(Hop(eid, question, fid, scores[fid], passages))
                break
    return hops


def _hop_fact_match(
    graph: LoadedGraph,
    bridges: Mapping[str, float],
    fact_match: Mapping[str, float],
    fact_similarity: FactSimilarity,
) -> dict[str, float]:
    """The next hop's fact match: per bridge entity, its fact most similar to the query.

    The passages stating that fact get its similarity as fact match (if higher), so the
    passage that answers the rest of the question about the bridge entity is lifted.
    """
    out = dict(fact_match)
    for eid in bridges:
        sims = fact_similarity(graph.entity_facts.get(eid, ()))
        if not sims:
            continue
        best = max(sims, key=lambda f: (sims[f], f))
        for pid in graph.facts[best].passage_ids:
            out[pid] = max(out.get(pid, 0.0), sims[best])
    return out


def _round(
    graph: LoadedGraph,
    seeds: Mapping[str, float],
    passage_seeds: Mapping[str, float],
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    fact_match: Mapping[str, float],
    allowed: Set[str] | None,
    config: RetrievalConfig,
) -> dict[str, ScoreComponents]:
    ppr, _ = ppr_passage_scores(graph, seeds, dense, config, passage_seeds)
    if allowed is not None:
        ppr = {p: s for p, s in ppr.items() if p in allowed}
    ppr = dict(sorted(ppr.items(), key=lambda x: (-x[1], x[0]))[: config.ppr_pool])
    return fuse(ppr=ppr, dense=dense, lexical=lexical, fact_match=fact_match, config=config)


def _bridges(
    graph: LoadedGraph,
    top: list[str],
    anchors: Mapping[str, float],
    frontier: Mapping[str, float],
    fact_similarity: FactSimilarity,
    config: RetrievalConfig,
) -> dict[str, tuple[float, str]]:
    """Entities one fact beyond the frontier, through the facts the top passages state.

    Anchors are the seeds linked by name plus earlier rounds' bridges; the frontier is the
    anchors in the first round and the previous round's bridges after it, so each round goes
    one hop further instead of re-offering the first round's rejected facts. The candidate
    facts join a frontier entity to an entity that is no anchor (it may be a weak seed
    already); each such entity is scored
    by its candidate fact most similar to the query (cosine >= ``fact_min_similarity``), and
    the ``bridge_facts`` best entities share ``bridge_weight`` of the anchors' mass, in
    proportion to that similarity times the entity's specificity. Returns, per bridge entity,
    its weight and the fact that introduced it.
    """
    candidates = {
        f
        for p in top
        for f in graph.passage_facts.get(p, ())
        if (graph.facts[f].subject_id in frontier and graph.facts[f].object_id not in anchors)
        or (graph.facts[f].object_id in frontier and graph.facts[f].subject_id not in anchors)
    }
    if not candidates:
        return {}
    sims = fact_similarity(sorted(candidates))
    best: dict[str, tuple[float, str]] = {}
    for fid in sorted(candidates):
        sim = sims.get(fid, 0.0)
        if sim < config.fact_min_similarity:
            continue
        fact = graph.facts[fid]
        eid = fact.object_id if fact.subject_id in anchors else fact.subject_id
        if eid not in best or sim > best[eid][0]:
            best[eid] = (sim, fid)
    chosen = sorted(best, key=lambda e: (-best[e][0], e))[: config.bridge_facts]
    raw = {
        eid: best[eid][0] / (1.0 + math.log1p(len(graph.entity_passages.get(eid, ()))))
        for eid in chosen
    }
    total = sum(raw.values())
    if total <= 0.0:
        return {}
    scale = sum(frontier.values()) * config.bridge_weight
    return {e: (scale * w / total, best[e][1]) for e, w in raw.items()}
