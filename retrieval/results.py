"""Typed, JSON-serialisable results of :meth:`retrieval.retriever.Retriever.retrieve`.

``result.model_dump(mode="json")`` is the wire form; ``RetrievalResult.model_validate`` reads it
back.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ResultReason(StrEnum):
    """Why a result is empty or was not produced by the configured method."""

    EMPTY_GRAPH = "empty_graph"  # the graph holds no passage: nothing to retrieve
    NO_ENTITY_LINKED = "no_entity_linked"  # no seed entity: fell back to dense retrieval
    NO_MATCH = "no_match"  # the method ran but no passage scored above zero


class LinkKind(StrEnum):
    """How a query was linked to a seed entity."""

    EXACT = "exact"
    ALIAS = "alias"
    FUZZY = "fuzzy"
    EMBEDDING = "embedding"
    FACT = "fact"
    BRIDGE = "bridge"  # introduced by a top passage in an iterative rerank round


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScoreComponents(_Model):
    """Each signal's contribution: raw scores and the fused score (weighted, normalised)."""

    ppr: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0
    fact_match: float = 0.0
    fused: float = 0.0


class PassageExplanation(_Model):
    """Why a passage is in the result."""

    seeds: list[str] = Field(default_factory=list, description="seed entity names it mentions")
    bridges: list[str] = Field(
        default_factory=list, description="entities it mentions that link it to a seed"
    )
    path: list[str] = Field(
        default_factory=list, description="seed -> ... -> passage, as entity names"
    )
    facts: list[str] = Field(default_factory=list, description="ids of the top facts it states")
    title_seed: bool = Field(
        default=False, description="its title is a name in the query, so it was seeded directly"
    )
    hop_question: str | None = Field(
        default=None,
        description="the question rewritten about a bridge entity that this passage answers "
        "('Where was the Elias Brandt born?'), which seeded it in a rerank round",
    )
    components: ScoreComponents = Field(default_factory=ScoreComponents)


class RetrievedPassage(_Model):
    id: str
    text: str
    score: float
    rank: int
    title: str | None = None
    source: str | None = None
    document_id: str
    timestamp: datetime | None = None
    explanation: PassageExplanation = Field(default_factory=PassageExplanation)


class SupportingFact(_Model):
    id: str
    subject: str
    predicate: str
    object: str
    statement: str
    valid_at: datetime | None = None
    invalid_at: datetime | None = None
    observed_at: datetime | None = None
    expired_at: datetime | None = Field(
        default=None, description="when consolidation retired it (transaction time)"
    )
    score: float = 0.0
    passage_ids: list[str] = Field(default_factory=list, description="provenance")
    superseded: bool = False
    superseded_by: str | None = Field(
        default=None, description="id of the fact that replaced it (SUPERSEDES), if known"
    )

    @property
    def current(self) -> bool:
        return not self.superseded


class SeedEntity(_Model):
    id: str
    name: str
    weight: float
    links: list[LinkKind] = Field(default_factory=list)
    matched: str | None = Field(default=None, description="the query text it was linked from")


class TimelineEntry(_Model):
    """One fact in time order; ``time`` is ``valid_at``, else ``observed_at``, else unset."""

    fact_id: str
    time: datetime | None
    time_kind: str = Field(description="valid_at, observed_at or undated")
    statement: str
    subject: str
    predicate: str
    object: str
    invalid_at: datetime | None = None
    superseded: bool = False
    superseded_by: str | None = None


class RetrievalResult(_Model):
    query: str
    config: str = Field(description="preset or config name")
    as_of: datetime | None = None
    passages: list[RetrievedPassage] = Field(default_factory=list)
    facts: list[SupportingFact] = Field(default_factory=list)
    seeds: list[SeedEntity] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    reason: ResultReason | None = None
    cues: list[str] = Field(default_factory=list, description="temporal cues found in the query")
    timings_ms: dict[str, float] = Field(default_factory=dict)
