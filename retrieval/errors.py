"""The ``retrieval`` package's exceptions: one root, :class:`RetrievalError`."""

from __future__ import annotations


class RetrievalError(Exception):
    """Root of every error raised by the ``retrieval`` package."""


class InvalidQueryError(RetrievalError):
    """The query or its arguments are not valid (empty text, bad ``top_k``, unknown preset)."""


class RetrievalBackendError(RetrievalError):
    """A store the retriever reads (Neo4j, FAISS, the embedder) failed."""
