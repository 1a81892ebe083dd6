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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass

from graph.ppr import PPRResult, personalized_pagerank
from graph.projection import NodeKind
from graph.projection_loader import LoadedGraph
from retrieval.config import Fusion, RetrievalConfig
from retrieval.results import ScoreComponents


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


@dataclass(frozen=True)
class GraphRanking:
    components: dict[str, ScoreComponents]
    seeds: dict[str, float]
    bridges: dict[str, float]
    rounds: int


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
) -> GraphRanking:
    """PPR + fusion, then up to ``config.rerank_rounds`` bridge-entity rounds.

    ``passage_seeds`` (passages titled by a name in the query) stay seeded in every round.
    """
    current = dict(seeds)
    anchored = {e: w for e, w in seeds.items() if e in anchors}
    bridges: dict[str, float] = {}
    titled = dict(passage_seeds or {})
    components = _round(graph, current, titled, dense, lexical, fact_match, allowed, config)
    rounds = 0
    for _ in range(config.rerank_rounds):
        top = ranked(components)[:top_k]
        added = _bridges(
            graph, components, top[: config.rerank_top_passages], anchored, fact_similarity, config
        )
        if not added:
            break
        rounds += 1
        for eid, w in added.items():
            bridges[eid] = bridges.get(eid, 0.0) + w
            current[eid] = current.get(eid, 0.0) + w
            anchored[eid] = anchored.get(eid, 0.0) + w
        fact_match = _hop_fact_match(graph, added, fact_match, fact_similarity)
        components = _round(graph, current, titled, dense, lexical, fact_match, allowed, config)
        if ranked(components)[:top_k] == top:
            break
    return GraphRanking(components, current, bridges, rounds)


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
    components: Mapping[str, ScoreComponents],
    top: list[str],
    anchors: Mapping[str, float],
    fact_similarity: FactSimilarity,
    config: RetrievalConfig,
) -> dict[str, float]:
    """Entities one fact away from an anchor, through the facts the top passages state.

    Anchors are the seeds linked by name plus earlier rounds' bridges. The candidate facts join
    an anchor to another entity (which may be a weak seed already); the ``bridge_facts`` most
    similar to the query (cosine >= ``fact_min_similarity``) hand out ``bridge_weight`` of the
    anchors' mass, in proportion to similarity times the new entity's specificity.
    """
    candidates = {
        f
        for p in top
        for f in graph.passage_facts.get(p, ())
        if (graph.facts[f].subject_id in anchors) != (graph.facts[f].object_id in anchors)
    }
    if not candidates:
        return {}
    sims = fact_similarity(sorted(candidates))
    chosen = sorted(
        (f for f in candidates if sims.get(f, 0.0) >= config.fact_min_similarity),
        key=lambda f: (-sims[f], f),
    )[: config.bridge_facts]
    raw: dict[str, float] = {}
    for fid in chosen:
        fact = graph.facts[fid]
        eid = fact.object_id if fact.subject_id in anchors else fact.subject_id
        specificity = 1.0 / (1.0 + math.log1p(len(graph.entity_passages.get(eid, ()))))
        raw[eid] = max(raw.get(eid, 0.0), sims[fid] * specificity)
    total = sum(raw.values())
    if total <= 0.0:
        return {}
    scale = sum(anchors.values()) * config.bridge_weight
    return {e: scale * w / total for e, w in raw.items()}
