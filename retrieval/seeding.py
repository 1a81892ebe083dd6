"""Link a query to graph entities (the PPR seeds), with weights and the reason for each.

Four name signals and one fact signal (weights in :mod:`retrieval.config`):

1. *exact*: a query mention (a spaCy entity, a noun chunk without determiners, a run of proper
   nouns) whose canonical form is an entity's canonical name;
2. *alias*: ... is the canonical form of one of an entity's aliases;
3. *fuzzy*: ... is close to an entity's canonical name (``difflib`` ratio), comparing only the
   entities that share a word with the mention (an inverted index, so not all entities);
4. *embedding*: the mention's embedding is near an entity's in the ``entity`` FAISS collection;
5. *fact*: the query's embedding is near a fact's (``fact`` collection), as in HippoRAG 2:
   the fact's subject and object become seeds weighted by the similarity.

An entity's weights add up over signals and mentions, and the total is divided by
``1 + ln(1 + n)`` for the ``n`` passages mentioning it, so that hubs weigh less.

Passages can be seeds too: a passage whose title *is* a name the query mentions (canonical
form, ignoring a trailing parenthesised qualifier such as "(film)") is about that entity, the
way a document's title field is weighted above its body in BM25F [1]_. It is seeded with
``title_weight`` times ``exact_weight``, with no hub discount (one title, one topic), and is
normalised together with the seed entities. Only named mentions (not common nouns) count; a
query with title matches but no seed entity still falls back to dense retrieval.

References
----------
.. [1] S. Robertson, H. Zaragoza and M. Taylor, "Simple BM25 extension to multiple weighted
   fields", CIKM 2004.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from spacy.tokens import Doc

from graph.projection_loader import LoadedGraph
from pipelines.extraction.spacy_patterns import NON_ENTITY_LABELS, clean_name
from pipelines.models import canonical_name
from pipelines.vectorstore import VectorCollection
from retrieval.config import RetrievalConfig
from retrieval.lexical import STOPWORDS
from retrieval.results import LinkKind, SeedEntity

_SKIP_POS = frozenset({"DET", "PRON", "ADP", "PUNCT", "CCONJ", "SCONJ", "AUX", "PART"})
_NAME_POS = frozenset({"PROPN", "NUM"})
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")  # "Pothos (genus)" -> "Pothos"


@dataclass(frozen=True, eq=False)
class LinkIndex:
    """Name lookups over one loaded graph's entities, and its passages by title."""

    by_canonical: Mapping[str, tuple[str, ...]]
    by_alias: Mapping[str, tuple[str, ...]]
    by_word: Mapping[str, tuple[str, ...]]
    canonical: Mapping[str, str]
    by_title: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


def title_keys(title: str | None) -> set[str]:
    """Canonical forms a passage title answers to: itself, and without a final "(...)"."""
    if not title:
        return set()
    keys = {canonical_name(title), canonical_name(_QUALIFIER.sub("", title))}
    return {k for k in keys if k and k not in STOPWORDS}


def build_link_index(graph: LoadedGraph) -> LinkIndex:
    """Canonical-name, alias, word and title indexes: O(total name and title length)."""
    by_canonical: defaultdict[str, list[str]] = defaultdict(list)
    by_alias: defaultdict[str, list[str]] = defaultdict(list)
    by_word: defaultdict[str, list[str]] = defaultdict(list)
    canonical: dict[str, str] = {}
    for entity in graph.entities.values():
        name = entity.canonical or canonical_name(entity.name)
        canonical[entity.id] = name
        by_canonical[name].append(entity.id)
        for alias in {canonical_name(a) for a in entity.aliases} - {name}:
            by_alias[alias].append(entity.id)
        for word in set(name.split()) - STOPWORDS:
            by_word[word].append(entity.id)
    by_title: defaultdict[str, list[str]] = defaultdict(list)
    for passage in graph.passages.values():
        for key in title_keys(passage.title):
            by_title[key].append(passage.id)

    def freeze(d: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
        return MappingProxyType({k: tuple(v) for k, v in d.items()})

    return LinkIndex(
        freeze(by_canonical),
        freeze(by_alias),
        freeze(by_word),
        MappingProxyType(canonical),
        freeze(by_title),
    )


@dataclass(frozen=True)
class Mention:
    """A candidate entity name in a query; ``named`` when it is a name, not a common noun.

    A mention is *named* when spaCy tags it as an entity or it holds a proper noun or a number
    ("Liang Ji", "1989"); otherwise it is a generic noun phrase ("the actor", "child") whose
    matches weigh ``generic_mention_weight`` of a name's (see :func:`link_query`).
    """

    text: str
    named: bool


def query_mentions(doc: Doc) -> list[Mention]:
    """Candidate entity names in a parsed query, longest first, deduplicated by canonical form."""
    spans: list[tuple[str, bool]] = [
        (e.text, True) for e in doc.ents if e.label_ not in NON_ENTITY_LABELS
    ]
    for chunk in doc.noun_chunks:
        words = [t for t in chunk if t.pos_ not in _SKIP_POS]
        if words:
            named = any(t.pos_ in _NAME_POS or t.ent_type_ for t in words)
            spans.append((doc[words[0].i : words[-1].i + 1].text, named))
            if words[-1].pos_ == "PROPN":
                spans.append((words[-1].text, True))
    run: list[str] = []
    for token in [*doc, None]:
        if token is not None and token.pos_ == "PROPN":
            run.append(token.text)
        elif run:
            spans.append((" ".join(run), True))
            run = []
    seen: dict[str, Mention] = {}
    for span, named in spans:
        key = canonical_name(clean_name(span))
        if not key or key in STOPWORDS:
            continue
        if key not in seen:
            seen[key] = Mention(clean_name(span), named)
        elif named and not seen[key].named:
            seen[key] = Mention(seen[key].text, True)
    return sorted(seen.values(), key=lambda m: len(m.text), reverse=True)


@dataclass
class _Seed:
    weight: float = 0.0
    links: set[LinkKind] = field(default_factory=set)
    matched: str | None = None

    def add(self, weight: float, link: LinkKind, matched: str) -> None:
        self.weight += weight
        self.links.add(link)
        self.matched = self.matched or matched


@dataclass(frozen=True)
class Seeds:
    """Seed entities and title-linked seed passages with weights, and the query-to-fact
    similarities found on the way."""

    entities: Mapping[str, SeedEntity]
    fact_scores: Mapping[str, float]
    passages: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def weights(self) -> dict[str, float]:
        return {e: s.weight for e, s in self.entities.items()}


def link_query(
    graph: LoadedGraph,
    index: LinkIndex,
    mentions: Sequence[Mention],
    *,
    query_vector: npt.NDArray[np.float32],
    mention_vectors: npt.NDArray[np.float32],
    entity_vectors: VectorCollection | None,
    fact_vectors: VectorCollection | None,
    config: RetrievalConfig,
) -> Seeds:
    """Seed entities for a query (see the module docstring for the signals and weights)."""
    seeds: defaultdict[str, _Seed] = defaultdict(_Seed)
    titled: dict[str, float] = {}
    for mention in mentions:
        scale = 1.0 if mention.named else config.generic_mention_weight
        _link_name(seeds, index, mention.text, scale, config)
        if mention.named and config.title_weight > 0.0:
            _link_title(titled, index, mention.text, config)
    if entity_vectors is not None and len(entity_vectors) and mention_vectors.shape[0]:
        hits = entity_vectors.search(mention_vectors, config.entity_top_k or 1)
        for mention, row in zip(mentions, hits, strict=True):
            scale = 1.0 if mention.named else config.generic_mention_weight
            for eid, score in row[: config.entity_top_k]:
                if score >= config.entity_min_similarity and eid in graph.entities:
                    seeds[eid].add(
                        scale * config.embedding_weight * score, LinkKind.EMBEDDING, mention.text
                    )
    fact_scores: dict[str, float] = {}
    if fact_vectors is not None and len(fact_vectors) and config.fact_top_k:
        (row,) = fact_vectors.search(query_vector[None, :], config.fact_top_k)
        for fid, score in row:
            fact = graph.facts.get(fid)
            if fact is None or score < config.fact_min_similarity:
                continue
            fact_scores[fid] = score
            for eid in (fact.subject_id, fact.object_id):
                seeds[eid].add(config.fact_weight * score, LinkKind.FACT, fact.statement)
    entities = {}
    for eid, seed in seeds.items():
        n = len(graph.entity_passages.get(eid, ()))
        if config.log_specificity:
            weight = seed.weight / (1.0 + math.log1p(n))
        else:
            weight = seed.weight / max(n, 1) ** config.specificity_power
        if weight > 0.0 and eid in graph.entities:
            entities[eid] = SeedEntity(
                id=eid,
                name=graph.entities[eid].name,
                weight=weight,
                links=sorted(seed.links),
                matched=seed.matched,
            )
    passages = {p: w for p, w in titled.items() if p in graph.passages}
    return Seeds(
        MappingProxyType(entities), MappingProxyType(fact_scores), MappingProxyType(passages)
    )


def _link_title(
    titled: dict[str, float], index: LinkIndex, mention: str, config: RetrievalConfig
) -> None:
    """Seed the passages titled by ``mention`` (a named mention), as :func:`link_query` says."""
    for pid in index.by_title.get(canonical_name(mention), ()):
        titled[pid] = max(titled.get(pid, 0.0), config.title_weight * config.exact_weight)


def _link_name(
    seeds: defaultdict[str, _Seed],
    index: LinkIndex,
    mention: str,
    scale: float,
    config: RetrievalConfig,
) -> None:
    key = canonical_name(mention)
    exact = index.by_canonical.get(key, ())
    for eid in exact:
        seeds[eid].add(scale * config.exact_weight, LinkKind.EXACT, mention)
    alias = [e for e in index.by_alias.get(key, ()) if e not in exact]
    for eid in alias:
        seeds[eid].add(scale * config.alias_weight, LinkKind.ALIAS, mention)
    if exact or alias:
        return
    candidates = {e for w in set(key.split()) - STOPWORDS for e in index.by_word.get(w, ())}
    for eid in candidates:
        ratio = SequenceMatcher(None, key, index.canonical[eid]).ratio()
        if ratio >= config.fuzzy_min_ratio:
            seeds[eid].add(scale * config.fuzzy_weight * ratio, LinkKind.FUZZY, mention)
