"""BM25 over passages: a tokenizer, an in-memory inverted index and one pure scoring function.

The index is built from the loaded passages (:func:`build_index`, O(total tokens)) and kept
with the loaded graph; it is not persisted.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


@dataclass(frozen=True, eq=False)
class BM25Index:
    """Postings per term: document positions and term frequencies, plus document lengths."""

    doc_ids: tuple[str, ...]
    doc_lengths: npt.NDArray[np.float64]
    postings: Mapping[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]

    @property
    def num_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def avg_length(self) -> float:
        return float(self.doc_lengths.mean()) if self.num_docs else 0.0


def build_index(docs: Mapping[str, str]) -> BM25Index:
    """An index of ``{doc_id: text}``."""
    doc_ids = tuple(docs)
    lengths = np.zeros(len(doc_ids), dtype=np.float64)
    rows: dict[str, tuple[list[int], list[float]]] = {}
    for i, doc_id in enumerate(doc_ids):
        counts = Counter(tokenize(docs[doc_id]))
        lengths[i] = sum(counts.values())
        for term, tf in counts.items():
            positions, freqs = rows.setdefault(term, ([], []))
            positions.append(i)
            freqs.append(float(tf))
    postings = {
        term: (np.asarray(p, dtype=np.int64), np.asarray(f, dtype=np.float64))
        for term, (p, f) in rows.items()
    }
    return BM25Index(doc_ids, lengths, MappingProxyType(postings))


def bm25_okapi(
    index: BM25Index, query_terms: Sequence[str], *, k1: float = 1.5, b: float = 0.75
) -> npt.NDArray[np.float64]:
    r"""Okapi BM25 score of every document for ``query_terms`` (repeated terms count again).

    .. math::

        \mathrm{score}(D, Q) = \sum_{t \in Q} \mathrm{idf}(t)
            \frac{f(t, D)\,(k_1 + 1)}{f(t, D) + k_1 (1 - b + b\,|D| / \mathrm{avgdl})},
        \qquad \mathrm{idf}(t) = \ln\left(1 + \frac{N - n_t + 0.5}{n_t + 0.5}\right)

    with the non-negative idf of Lucene (and bm25s's ``"lucene"`` method), so that a term in
    more than half the documents still counts a little rather than negatively.

    References
    ----------
    .. [1] S. Robertson and H. Zaragoza, "The Probabilistic Relevance Framework: BM25 and
       Beyond", Foundations and Trends in Information Retrieval 3(4), 2009.
    .. [2] X. H. Lù, "BM25S: Orders of magnitude faster lexical search via eager sparse
       scoring", arXiv:2407.03618, 2024.
    """
    scores = np.zeros(index.num_docs, dtype=np.float64)
    if index.num_docs == 0:
        return scores
    n = index.num_docs
    norm = k1 * (1.0 - b + b * index.doc_lengths / max(index.avg_length, 1e-9))
    for term in query_terms:
        posting = index.postings.get(term)
        if posting is None:
            continue
        positions, tf = posting
        idf = math.log(1.0 + (n - positions.shape[0] + 0.5) / (positions.shape[0] + 0.5))
        scores[positions] += idf * tf * (k1 + 1.0) / (tf + norm[positions])
    return scores


def top_scores(index: BM25Index, query: str, k: int) -> dict[str, float]:
    """The ``k`` best documents with a positive BM25 score for the query text."""
    scores = bm25_okapi(index, tokenize(query))
    if k <= 0 or not scores.size:
        return {}
    order = np.argsort(-scores, kind="stable")[:k]
    return {index.doc_ids[i]: float(scores[i]) for i in order.tolist() if scores[i] > 0.0}
