"""Retrieval configuration as data: a frozen :class:`RetrievalConfig` and named presets.

An evaluation runs presets side by side with ``retriever.retrieve(q, config=Preset.DENSE)``,
``config=Preset.PPR``, ... or with any ``RetrievalConfig`` (``preset_config(p).model_copy(
update={...})`` for a variant).

Seeding weights (see :mod:`retrieval.seeding`): an entity named in the query and matched
exactly by canonical name gets ``exact_weight`` (1.0), by alias ``alias_weight`` (0.9), by
fuzzy name ``fuzzy_weight`` times the similarity (0.8 x ratio >= ``fuzzy_min_ratio``), by
embedding ``embedding_weight`` times the cosine (0.6 x cos >= ``entity_min_similarity``); a
fact whose embedding is close to the query's (top ``fact_top_k``, cosine >=
``fact_min_similarity``) gives its subject and object ``fact_weight`` times the cosine (0.5, as
HippoRAG 2's query-to-triple linking). Each entity's total is divided by ``1 + log(1 + n)``
for ``n`` passages mentioning it (HippoRAG's node specificity, softened). Passages are seeded
by their dense score times ``passage_seed_weight`` (0.05, HippoRAG 2's passage node weight),
and a passage whose title is a name the query mentions is seeded with ``title_weight`` (1.0,
like an exact name match) times the exact weight: the document is about that entity. It
fixed HotpotQA's comparison questions ("Who was born earlier, A or B?"), where the passages
titled A and B lost to passages that merely mention A or B: PPR + rerank Recall@2/@5 .615/.845
to .705/.863 on HotpotQA dev, .510/.680 to .532/.688 on MuSiQue train with the cached
GPT-3.5 triples; within noise with spaCy triples (MuSiQue train .511/.717 to .504/.723, dev
.534/.682 to .525/.688). Not adopted (within noise on MuSiQue train, both extractors): the hub
discount on title seeds, ``passage_seed_weight`` 0.02, ``bridge_weight`` 0.25 or 1.0,
``bridge_facts`` 5, damping 0.6, ``fact_weight`` 1.0, ``fact_match_weight`` 0.2; fusing BM25
into the graph presets (``lexical_weight`` 0.1-0.3) cost 1-3 points of Recall@5.

Fusion (:func:`retrieval.rerank.fuse`): each signal (PPR mass, dense cosine, BM25, fact match)
is normalised over its own candidate pool (``fusion``: max, min-max or reciprocal rank) and
summed with the ``*_weight`` fusion weights. The graph presets rank by raw PPR mass, as
HippoRAG 2 does (no division by passage degree), plus ``0.2`` of the max-normalised dense
cosine; the hybrid baseline sums min-max-normalised dense and ``0.3`` BM25. These were chosen
on the 100 MuSiQue training questions and checked on the MuSiQue and HotpotQA dev sets
(``benchmarks/results/multihop_*.json``). Measured and not adopted: dividing PPR mass by
degree (17-23 points of Recall@5 lost on MuSiQue train, same weights), reciprocal rank fusion
(below min-max for the hybrid, below raw PPR for the graph), HippoRAG's ``1/n`` seed
specificity instead of ``1/(1+ln(1+n))``, fact-only seeding, and down-weighting common-noun
query mentions (``generic_mention_weight`` < 1).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from graph.ppr import PPRMethod


class Preset(StrEnum):
    """Named retrieval configurations, from the baselines to the full pipeline."""

    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"
    PPR = "ppr"
    PPR_RERANK = "ppr_rerank"
    PPR_RERANK_TIMELINE = "ppr_rerank_timeline"


class Signal(StrEnum):
    """How passages are scored before fusion."""

    DENSE = "dense"
    LEXICAL = "lexical"
    GRAPH = "graph"  # PPR over the projection, fused with dense, lexical and fact match


class Fusion(StrEnum):
    """How the signals' scores are combined (see :func:`retrieval.rerank.fuse`)."""

    MAX = "max"  # weighted sum of max-normalised scores
    MINMAX = "minmax"  # weighted sum of min-max-normalised scores over each signal's pool
    RRF = "rrf"  # weighted reciprocal rank fusion (Cormack et al., 2009)


class RetrievalConfig(BaseModel):
    """Everything that decides how one query is answered. Frozen; build variants by copy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "custom"
    signals: frozenset[Signal] = frozenset({Signal.DENSE, Signal.LEXICAL, Signal.GRAPH})

    # Candidates.
    dense_pool: int = Field(default=50, ge=1, description="passages taken from FAISS")
    lexical_pool: int = Field(default=50, ge=1, description="passages taken from BM25")

    # Seeding.
    exact_weight: float = Field(default=1.0, ge=0)
    alias_weight: float = Field(default=0.9, ge=0)
    fuzzy_weight: float = Field(default=0.8, ge=0)
    fuzzy_min_ratio: float = Field(default=0.88, gt=0, le=1)
    embedding_weight: float = Field(default=0.6, ge=0)
    generic_mention_weight: float = Field(
        default=1.0, ge=0, le=1, description="scale of name links from common-noun mentions"
    )
    entity_top_k: int = Field(default=3, ge=0)
    entity_min_similarity: float = Field(default=0.75, ge=-1, le=1)
    fact_weight: float = Field(default=0.5, ge=0)
    fact_top_k: int = Field(default=5, ge=0)
    fact_min_similarity: float = Field(default=0.45, ge=-1, le=1)
    passage_seed_weight: float = Field(default=0.05, ge=0)
    title_weight: float = Field(
        default=1.0, ge=0, description="seed weight of a passage titled by a named mention"
    )
    specificity_power: float = Field(
        default=1.0, ge=0, le=1, description="hub discount: weight / n_passages ** power"
    )
    log_specificity: bool = True

    # PPR.
    damping: float = Field(default=0.5, ge=0, lt=1)
    ppr_method: PPRMethod = PPRMethod.PUSH
    ppr_epsilon: float = Field(default=1e-7, gt=0)
    ppr_degree_normalise: bool = False
    ppr_degree_power: float = Field(default=1.0, ge=0, le=1)

    # Fusion.
    fusion: Fusion = Fusion.MAX
    rrf_k: int = Field(default=60, ge=1)
    ppr_pool: int = Field(default=50, ge=1, description="PPR passages that enter the fusion")
    ppr_weight: float = Field(default=1.0, ge=0)
    dense_weight: float = Field(default=0.2, ge=0)
    lexical_weight: float = Field(default=0.0, ge=0)
    fact_match_weight: float = Field(default=0.0, ge=0)

    # Iterative rerank.
    rerank_rounds: int = Field(default=0, ge=0, le=10)
    rerank_top_passages: int = Field(default=5, ge=1)
    bridge_facts: int = Field(default=3, ge=1)
    bridge_weight: float = Field(default=0.5, ge=0)
    hop_weight: float = Field(
        default=2.0, ge=0, description="seed of a bridge's answer passage, x bridge weight"
    )
    hop_min_similarity: float = Field(default=0.5, ge=-1, le=1)

    # Timeline.
    timeline: bool = False
    timeline_limit: int = Field(default=30, ge=0)
    facts_limit: int = Field(default=10, ge=0)
    as_of_filters_passages: bool = True

    # Memory.
    include_archived: bool = Field(
        default=False, description="also search facts and passages consolidation archived"
    )
    record_access: bool = Field(
        default=False,
        description="count each returned passage and fact as recalled (retrieval_count, "
        "last_accessed_at); off in presets so evaluations do not change the graph",
    )


_GRAPH = frozenset({Signal.DENSE, Signal.LEXICAL, Signal.GRAPH})

PRESETS: MappingProxyType[Preset, RetrievalConfig] = MappingProxyType(
    {
        Preset.DENSE: RetrievalConfig(
            name=Preset.DENSE, signals=frozenset({Signal.DENSE}), dense_weight=1.0
        ),
        Preset.BM25: RetrievalConfig(
            name=Preset.BM25, signals=frozenset({Signal.LEXICAL}), lexical_weight=1.0
        ),
        Preset.HYBRID: RetrievalConfig(
            name=Preset.HYBRID,
            signals=frozenset({Signal.DENSE, Signal.LEXICAL}),
            fusion=Fusion.MINMAX,
            dense_weight=1.0,
            lexical_weight=0.3,
        ),
        Preset.PPR: RetrievalConfig(name=Preset.PPR, signals=_GRAPH),
        Preset.PPR_RERANK: RetrievalConfig(name=Preset.PPR_RERANK, signals=_GRAPH, rerank_rounds=2),
        Preset.PPR_RERANK_TIMELINE: RetrievalConfig(
            name=Preset.PPR_RERANK_TIMELINE, signals=_GRAPH, rerank_rounds=2, timeline=True
        ),
    }
)
"""The named presets; :data:`Preset.PPR_RERANK_TIMELINE` is the default of ``retrieve``."""


def preset_config(config: Preset | str | RetrievalConfig) -> RetrievalConfig:
    """The configuration of a preset name, or ``config`` itself.

    Raises ``ValueError`` for an unknown preset name.
    """
    if isinstance(config, RetrievalConfig):
        return config
    return PRESETS[Preset(config)]
