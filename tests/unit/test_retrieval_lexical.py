"""BM25 against a hand-computed reference (Robertson & Zaragoza, Lucene idf)."""

from __future__ import annotations

import math

import pytest

from retrieval.lexical import bm25_okapi, build_index, tokenize, top_scores

DOCS = {"d1": "kestrel drone kestrel", "d2": "heron drone", "d3": "sentinel"}


def reference(doc: str, query: list[str], k1: float = 1.5, b: float = 0.75) -> float:
    docs = [tokenize(t) for t in DOCS.values()]
    avgdl = sum(map(len, docs)) / len(docs)
    words = tokenize(DOCS[doc])
    score = 0.0
    for term in query:
        df = sum(term in d for d in docs)
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        tf = words.count(term)
        score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(words) / avgdl))
    return score


def test_bm25_matches_the_hand_computed_formula() -> None:
    index = build_index(DOCS)
    scores = bm25_okapi(index, ["kestrel", "drone"])
    for i, doc in enumerate(index.doc_ids):
        assert scores[i] == pytest.approx(reference(doc, ["kestrel", "drone"]))
    # d1 by hand: avgdl = 2, |d1| = 3; idf(kestrel) = ln(1 + 2.5/1.5), idf(drone) = ln(1 + 1.5/2.5)
    norm = 1.5 * (1 - 0.75 + 0.75 * 3 / 2)
    by_hand = math.log(1 + 2.5 / 1.5) * 2 * 2.5 / (2 + norm) + math.log(1 + 1.5 / 2.5) * 2.5 / (
        1 + norm
    )
    assert scores[0] == pytest.approx(by_hand)


def test_top_scores_ranks_and_drops_zero_scores() -> None:
    index = build_index(DOCS)
    assert list(top_scores(index, "Where is the Kestrel drone?", 3)) == ["d1", "d2"]
    assert top_scores(index, "unrelated words", 3) == {}


def test_empty_index_scores_nothing() -> None:
    assert bm25_okapi(build_index({}), ["x"]).shape == (0,)
