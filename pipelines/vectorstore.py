"""Inner-product vector search over named collections, on FAISS, saved without pickle.

Each collection ("passage", "entity", "fact", ...) maps hippograph's string ids to FAISS int64
ids. Adding an id that is already present replaces its vector. With L2-normalised vectors (as
:mod:`pipelines.embeddings` produces) the score is cosine similarity.

Retrieval searches the entity and fact collections for every query, and they grow with the
whole graph, so exact search would make every query slower as the graph grows. A collection
therefore uses one of two indexes, chosen by its size alone:

- below ``ann_min_vectors`` vectors (default :data:`DEFAULT_ANN_MIN_VECTORS`): exact search,
  an ``IndexIDMap2(IndexFlatIP(dim))``, exactly as before the approximate index existed;
- from ``ann_min_vectors`` on: an inverted-file index, ``IndexIVFFlat`` (inner product, native
  ids, a hash-table direct map so that ``reconstruct`` and ``remove_ids`` work by id). It has
  ``nlist`` = 4 sqrt(N) lists (at most N/39, so k-means has the 39 points per centroid FAISS
  asks for; at most 16,384), trained by spherical k-means on a seeded sample of at most 64
  vectors per list (the same vectors give the same index), and a query scans ``nprobe`` of
  them: an eighth, at least 8 and at most 128. From 1,024 lists (about 65k vectors) on that
  is 128 lists of about sqrt(N)/4 vectors each, so the query cost grows with the square root
  of the collection, not with the collection. On MiniLM entity and fact vectors it finds 95-98 %
  of the exact top 10 at a fifth to a ninth of the flat latency
  (``benchmarks/bench_vectors.py``).

The index changes only in :meth:`VectorCollection.add` and :meth:`VectorCollection.remove`, so
ingestion pays for it and queries never do: a flat collection that reaches the threshold is
converted, an approximate one is retrained from its own stored vectors when the rule above asks
for twice (or half) its number of lists, i.e. after it grew (or shrank) about fourfold, so the
lists stay balanced at an amortised cost, and it goes back to exact search below half the
threshold. Conversions copy the stored vectors in bounded chunks into the new index; the old one
is dropped afterwards, so no second copy is kept.

On disk a collection is two files in one directory: ``<name>.faiss`` (``faiss.write_index``)
and ``<name>.ids.json`` (the id map, the dimension and the SHA-256 of the ``.faiss`` file, which
ties the pair together). Each file is written to a temporary name and moved into place with
``os.replace``; the checksum turns a torn pair into a clear error on load. Either kind of index
is stored the same way (``faiss.write_index`` keeps the lists, ids, direct map and ``nprobe``),
and loading never converts: files from before the approximate index load as they are.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import ArrayLike, NDArray

from pipelines.errors import IngestError

__all__ = [
    "DEFAULT_ANN_MIN_VECTORS",
    "Collection",
    "SearchHit",
    "VectorCollection",
    "VectorStore",
    "VectorStoreError",
]

_FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FAISS_SUFFIX = ".faiss"
_IDS_SUFFIX = ".ids.json"

DEFAULT_ANN_MIN_VECTORS = 50_000
"""Collections at least this large use the approximate (IVF) index; smaller ones search exactly."""

# The IVF shape (see the module docstring); measured on MiniLM vectors by bench_vectors.py.
_LISTS_PER_SQRT = 4
_MIN_POINTS_PER_LIST = 39  # below this FAISS k-means warns and the centroids are poor
_TRAIN_POINTS_PER_LIST = 64
_MAX_NLIST = 16_384
_PROBED_FRACTION = 8  # probe nlist / 8 lists ...
_MIN_NPROBE = 8
_MAX_NPROBE = 128  # ... up to 128, so the scanned share shrinks as the collection grows
_TRAIN_SEED = 1_234
_COPY_CHUNK = 16_384  # vectors copied per step when an index is rebuilt (25 MB at 384-d)
# faiss's bundled type stubs omit the DirectMap class (present at runtime since faiss 1.6).
_HASHTABLE: int = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]

SearchHit = tuple[str, float]
"""One search result: the string id and its inner-product score."""


class VectorStoreError(IngestError):
    """A vector collection cannot be used: wrong dimension, bad input, missing or corrupt files."""


class Collection(StrEnum):
    """The collections hippograph keeps."""

    PASSAGE = "passage"
    ENTITY = "entity"
    FACT = "fact"


class VectorCollection:
    """One named set of vectors with string ids, searched by inner product.

    Build an empty one with ``VectorCollection(name, dim)`` (no I/O) or read one with
    :meth:`load`. Search is exact while the collection has fewer than ``ann_min_vectors``
    vectors and approximate (IVF) from then on; see the module docstring.
    """

    def __init__(
        self,
        name: str,
        dim: int,
        *,
        index: Any | None = None,
        ids: dict[str, int] | None = None,
        next_id: int = 0,
        ann_min_vectors: int = DEFAULT_ANN_MIN_VECTORS,
    ) -> None:
        _check_name(name)
        if dim < 1:
            raise VectorStoreError(f"collection {name!r}: dimension must be positive, got {dim}")
        if ann_min_vectors < 1:
            raise VectorStoreError(
                f"collection {name!r}: ann_min_vectors must be at least 1, got {ann_min_vectors}"
            )
        self.name = name
        self.dim = dim
        self.ann_min_vectors = ann_min_vectors
        # Typed Any: faiss's SWIG signatures do not show its numpy-accepting wrappers.
        self._index: Any = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._ids: dict[str, int] = dict(ids or {})
        self._labels: dict[int, str] = {label: key for key, label in self._ids.items()}
        self._next_id = max(next_id, max(self._labels, default=-1) + 1)

    # ---------------------------------------------------------------------------- contents

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    @property
    def approximate(self) -> bool:
        """Whether searches use the approximate IVF index (else exact flat search)."""
        return isinstance(self._index, faiss.IndexIVF)

    @property
    def nlist(self) -> int | None:
        """The IVF index's number of lists, ``None`` while search is exact."""
        return int(self._index.nlist) if self.approximate else None

    @property
    def nprobe(self) -> int | None:
        """How many IVF lists a search scans, ``None`` while search is exact."""
        return int(self._index.nprobe) if self.approximate else None

    def ids(self) -> list[str]:
        """The string ids, in the order they were first added (replacing keeps the place)."""
        return sorted(self._ids, key=self._ids.__getitem__)

    def vector(self, key: str) -> NDArray[np.float32]:
        """The stored vector of ``key`` (``KeyError`` if absent)."""
        return self.vectors([key])[0]

    def vectors(self, keys: Sequence[str]) -> NDArray[np.float32]:
        """The stored vectors of ``keys``, one row each (``KeyError`` names an absent id)."""
        out = np.empty((len(keys), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            if key not in self._ids:
                raise KeyError(key)
            out[row] = self._index.reconstruct(self._ids[key])
        return out

    # ---------------------------------------------------------------------------- changes

    def add(self, ids: Sequence[str], vectors: ArrayLike) -> None:
        """Add vectors under string ids; an id already present gets the new vector.

        Within one call a repeated id keeps its last vector. The call that brings the collection
        to ``ann_min_vectors`` also converts it to the approximate index, which takes seconds
        (tens of seconds for a few hundred thousand vectors).
        """
        matrix = self._matrix(vectors, "vectors")
        if len(ids) != matrix.shape[0]:
            raise VectorStoreError(
                f"collection {self.name!r}: {len(ids)} ids for {matrix.shape[0]} vectors"
            )
        last = {key: row for row, key in enumerate(ids)}  # last occurrence wins
        for key in last:
            if not isinstance(key, str):
                raise VectorStoreError(f"collection {self.name!r}: id {key!r} is not a string")
        replaced = [self._ids[key] for key in last if key in self._ids]
        if replaced:
            self._index.remove_ids(np.asarray(replaced, dtype=np.int64))
        labels = [self._label_for(key) for key in last]
        self._index.add_with_ids(matrix[list(last.values())], np.asarray(labels, dtype=np.int64))
        self.rebalance()

    def _label_for(self, key: str) -> int:
        """The int64 label of ``key``, assigning the next free one to a new id."""
        label = self._ids.get(key)
        if label is None:
            label = self._next_id
            self._next_id += 1
            self._ids[key] = label
            self._labels[label] = key
        return label

    def remove(self, ids: Iterable[str]) -> int:
        """Remove these ids (unknown ones are ignored); returns how many were removed."""
        labels = [self._ids.pop(key) for key in dict.fromkeys(ids) if key in self._ids]
        if not labels:
            return 0
        for label in labels:
            del self._labels[label]
        removed = self._index.remove_ids(np.asarray(labels, dtype=np.int64))
        if removed != len(labels):
            raise VectorStoreError(
                f"collection {self.name!r}: index and id map disagree "
                f"({removed} of {len(labels)} removed)"
            )
        self.rebalance()
        return len(labels)

    # ---------------------------------------------------------------------------- index kind

    def rebalance(self) -> None:
        """Convert, retrain or revert the index when the collection's size asks for it.

        Called after every change (see the module docstring for the rule), and by hand for a
        collection written by an older version and loaded as it was (loading never converts);
        save the store afterwards. Exact search is
        left alone until the threshold, so small collections behave exactly as they always did;
        going back to it only below half the threshold keeps a collection that hovers around
        the threshold from being rebuilt again and again.
        """
        n = len(self)
        current = self.nlist
        if current is None:
            if n >= self.ann_min_vectors:
                self._index = self._rebuilt(_ivf_index(self.dim, n, self._training_sample(n)))
        elif n < self.ann_min_vectors // 2 or n == 0:
            self._index = self._rebuilt(faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)))
        else:
            wanted = _nlist_for(n)
            if wanted >= 2 * current or 2 * wanted <= current:
                self._index = self._rebuilt(_ivf_index(self.dim, n, self._training_sample(n)))

    def _sorted_labels(self) -> NDArray[np.int64]:
        return np.fromiter(sorted(self._labels), dtype=np.int64, count=len(self._labels))

    def _training_sample(self, n: int) -> NDArray[np.float32]:
        """A seeded sample of the stored vectors, by label order (same vectors, same sample)."""
        labels = self._sorted_labels()
        size = min(n, _nlist_for(n) * _TRAIN_POINTS_PER_LIST)
        rows = np.sort(np.random.default_rng(_TRAIN_SEED).choice(n, size=size, replace=False))
        return np.asarray(self._index.reconstruct_batch(labels[rows]), dtype=np.float32)

    def _rebuilt(self, index: Any) -> Any:
        """``index`` (empty, trained if it needs it) filled with every stored vector, by label.

        The vectors move in chunks, so the transient extra memory is one chunk plus the new
        index; the caller drops the old index by replacing it.
        """
        labels = self._sorted_labels()
        for start in range(0, len(labels), _COPY_CHUNK):
            chunk = labels[start : start + _COPY_CHUNK]
            index.add_with_ids(self._index.reconstruct_batch(chunk), chunk)
        if index.ntotal != len(labels):
            raise VectorStoreError(
                f"collection {self.name!r}: rebuilt index holds {index.ntotal} vectors, "
                f"expected {len(labels)}"
            )
        return index

    # ---------------------------------------------------------------------------- search

    def search(
        self, query_vectors: ArrayLike, k: int, *, exact: bool = False
    ) -> list[list[SearchHit]]:
        """The ``k`` best ``(id, score)`` per query, best first (fewer if the store is small).

        On an approximate collection a search may miss some true neighbours (and then return
        fewer than ``k``); ``exact=True`` scans every list instead, at the cost of a flat
        search, for checks and benchmarks.
        """
        queries = self._matrix(query_vectors, "query vectors")
        if k < 1:
            raise VectorStoreError(f"k must be positive, got {k}")
        k = min(k, len(self))
        if k == 0:
            return [[] for _ in range(queries.shape[0])]
        if exact and self.approximate:
            every_list = faiss.SearchParametersIVF()
            every_list.nprobe = self._index.nlist
            scores, labels = self._index.search(queries, k, params=every_list)
        else:
            scores, labels = self._index.search(queries, k)
        return [
            [
                (self._labels[label], float(score))
                for label, score in zip(row_labels.tolist(), row_scores.tolist(), strict=True)
                if label >= 0
            ]
            for row_labels, row_scores in zip(labels, scores, strict=True)
        ]

    def _matrix(self, vectors: ArrayLike, what: str) -> NDArray[np.float32]:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim == 1 and matrix.size == self.dim:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise VectorStoreError(
                f"collection {self.name!r} holds {self.dim}-d vectors; "
                f"got {what} of shape {matrix.shape}"
            )
        if not np.isfinite(matrix).all():
            raise VectorStoreError(f"collection {self.name!r}: {what} contain NaN or infinity")
        return np.ascontiguousarray(matrix)

    # ---------------------------------------------------------------------------- files

    def save(self, directory: str | Path) -> None:
        """Write ``<name>.faiss`` and ``<name>.ids.json`` into ``directory``, each atomically."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        index_path = folder / f"{self.name}{_FAISS_SUFFIX}"
        digest = _write_atomic(index_path, lambda tmp: faiss.write_index(self._index, str(tmp)))
        manifest = {
            "format": _FORMAT_VERSION,
            "name": self.name,
            "dim": self.dim,
            "metric": "inner_product",
            "next_id": self._next_id,
            "faiss_sha256": digest,
            "ids": [[key, label] for key, label in self._ids.items()],
        }
        data = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        _write_atomic(folder / f"{self.name}{_IDS_SUFFIX}", lambda tmp: tmp.write_bytes(data))

    @classmethod
    def load(
        cls,
        directory: str | Path,
        name: str,
        *,
        dim: int | None = None,
        ann_min_vectors: int = DEFAULT_ANN_MIN_VECTORS,
    ) -> VectorCollection:
        """Read the collection ``name`` from ``directory``.

        The index comes back as it was saved, exact or approximate; ``ann_min_vectors``
        governs only later changes.

        Raises
        ------
        VectorStoreError
            If a file is missing or corrupt, the two files do not belong together, or the
            stored dimension is not ``dim`` (when given).
        """
        _check_name(name)
        folder = Path(directory)
        ids_path = folder / f"{name}{_IDS_SUFFIX}"
        index_path = folder / f"{name}{_FAISS_SUFFIX}"
        manifest = _read_manifest(ids_path)
        for path in (ids_path, index_path):
            if not path.is_file():
                raise VectorStoreError(f"collection {name!r}: {path} is missing")
        if _sha256(index_path) != manifest["faiss_sha256"]:
            raise VectorStoreError(
                f"{index_path} does not match {ids_path.name} (checksum differs): "
                "the files are corrupt or from different saves"
            )
        index = _read_index(index_path)
        stored_dim = manifest["dim"]
        if index.d != stored_dim:
            raise VectorStoreError(
                f"{index_path}: index is {index.d}-d, {ids_path.name} says {stored_dim}"
            )
        if dim is not None and stored_dim != dim:
            raise VectorStoreError(
                f"collection {name!r} in {folder} holds {stored_dim}-d vectors, expected {dim}"
            )
        ids = _id_map(manifest, ids_path)
        stored = _stored_labels(index).tolist()
        if index.ntotal != len(ids) or set(stored) != set(ids.values()):
            raise VectorStoreError(f"{index_path} and {ids_path.name} hold different ids")
        return cls(
            name,
            stored_dim,
            index=index,
            ids=ids,
            next_id=int(manifest["next_id"]),
            ann_min_vectors=ann_min_vectors,
        )


class VectorStore:
    """Named vector collections (:class:`VectorCollection`) saved together in one directory.

    ``VectorStore()`` is empty and does no I/O. :meth:`open` reads a directory if it has
    collections (an empty store otherwise) and :meth:`load` insists that it exists; a store
    from either remembers its directory as the default for :meth:`save`, and ``dim`` as the
    dimension of collections it creates. ``ann_min_vectors`` is the size from which its
    collections (loaded or created) use the approximate index.
    """

    def __init__(
        self,
        collections: Iterable[VectorCollection] = (),
        *,
        directory: str | Path | None = None,
        dim: int | None = None,
        ann_min_vectors: int = DEFAULT_ANN_MIN_VECTORS,
    ) -> None:
        self._collections: dict[str, VectorCollection] = {c.name: c for c in collections}
        self.directory = Path(directory) if directory is not None else None
        self.dim = dim
        self.ann_min_vectors = ann_min_vectors

    @classmethod
    def open(
        cls,
        directory: str | Path,
        *,
        dim: int | None = None,
        ann_min_vectors: int = DEFAULT_ANN_MIN_VECTORS,
    ) -> VectorStore:
        """The store saved in ``directory``, or an empty one bound to it if nothing is there."""
        folder = Path(directory)
        if not folder.exists():
            return cls(directory=folder, dim=dim, ann_min_vectors=ann_min_vectors)
        return cls.load(folder, dim=dim, ann_min_vectors=ann_min_vectors)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        *,
        dim: int | None = None,
        ann_min_vectors: int = DEFAULT_ANN_MIN_VECTORS,
    ) -> VectorStore:
        """Every collection saved in ``directory`` (checked against ``dim`` when given)."""
        folder = Path(directory)
        if not folder.is_dir():
            raise VectorStoreError(f"vector store directory {folder} does not exist")
        names = sorted(p.name.removesuffix(_IDS_SUFFIX) for p in folder.glob(f"*{_IDS_SUFFIX}"))
        orphans = sorted(
            p.name
            for p in folder.glob(f"*{_FAISS_SUFFIX}")
            if p.name.removesuffix(_FAISS_SUFFIX) not in names
        )
        if orphans:
            raise VectorStoreError(f"{folder}: index files without an id map: {', '.join(orphans)}")
        collections = [
            VectorCollection.load(folder, name, dim=dim, ann_min_vectors=ann_min_vectors)
            for name in names
        ]
        return cls(collections, directory=folder, dim=dim, ann_min_vectors=ann_min_vectors)

    def save(self, directory: str | Path | None = None) -> None:
        """Save every collection into ``directory`` (default: the one the store came from)."""
        target = Path(directory) if directory is not None else self.directory
        if target is None:
            raise VectorStoreError("this store has no directory; pass one to save()")
        for collection in self._collections.values():
            collection.save(target)

    def collection(self, name: str, dim: int | None = None) -> VectorCollection:
        """The collection ``name``, created empty if it does not exist.

        Raises
        ------
        VectorStoreError
            If the dimension (``dim``, else the store's) is unknown for a new collection, or
            differs from an existing one's.
        """
        dim = dim if dim is not None else self.dim
        existing = self._collections.get(name)
        if existing is not None:
            if dim is not None and existing.dim != dim:
                raise VectorStoreError(
                    f"collection {name!r} holds {existing.dim}-d vectors, expected {dim}"
                )
            return existing
        if dim is None:
            raise VectorStoreError(f"no collection {name!r}; give dim to create it")
        created = VectorCollection(name, dim, ann_min_vectors=self.ann_min_vectors)
        self._collections[name] = created
        return created

    def __getitem__(self, name: str) -> VectorCollection:
        return self.collection(name)

    def __contains__(self, name: object) -> bool:
        return name in self._collections

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._collections))

    def __len__(self) -> int:
        return len(self._collections)


# --------------------------------------------------------------------------------------------
# The approximate index
# --------------------------------------------------------------------------------------------


def _nlist_for(n: int) -> int:
    """IVF lists for ``n`` vectors: 4 sqrt(n), at most n/39 and 16,384, at least 1."""
    lists = min(round(_LISTS_PER_SQRT * math.sqrt(n)), n // _MIN_POINTS_PER_LIST, _MAX_NLIST)
    return max(1, lists)


def _nprobe_for(nlist: int) -> int:
    """Lists probed per query: an eighth of them, clamped to [8, 128] (and to ``nlist``)."""
    return min(nlist, max(_MIN_NPROBE, min(_MAX_NPROBE, nlist // _PROBED_FRACTION)))


def _ivf_index(dim: int, n: int, sample: NDArray[np.float32]) -> Any:
    """An empty ``IndexIVFFlat`` for ``n`` inner-product vectors, trained on ``sample``.

    Spherical k-means keeps the centroids unit-length, which suits normalised vectors searched
    by inner product (the lists come out better balanced). The hash-table direct map is what
    lets ``reconstruct`` and ``remove_ids`` find a vector by id without scanning the lists.
    """
    nlist = _nlist_for(n)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True
    index.train(sample)
    index.set_direct_map_type(_HASHTABLE)
    index.nprobe = _nprobe_for(nlist)
    return index


def _stored_labels(index: Any) -> NDArray[np.int64]:
    """The int64 ids held by a flat (``IndexIDMap2``) or IVF index."""
    if isinstance(index, faiss.IndexIDMap2):
        return np.asarray(faiss.vector_to_array(index.id_map), dtype=np.int64)
    lists = index.invlists
    parts = [np.empty(0, dtype=np.int64)]
    for list_no in range(index.nlist):
        size = lists.list_size(list_no)
        if size:
            parts.append(faiss.rev_swig_ptr(lists.get_ids(list_no), size).copy())
    return np.concatenate(parts)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise VectorStoreError(f"invalid collection name {name!r}: use letters, digits, _ -")


def _write_atomic(path: Path, write: Callable[[Path], object]) -> str:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it, move it into place.

    Returns the SHA-256 of what was written.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        digest = _sha256(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError as e:
        raise VectorStoreError(f"{path} is missing") from e
    except (OSError, ValueError) as e:
        raise VectorStoreError(f"{path} is not a readable id map: {e}") from e
    required = {"format", "dim", "next_id", "faiss_sha256", "ids"}
    if not isinstance(manifest, dict) or not required <= manifest.keys():
        raise VectorStoreError(f"{path} is not a hippograph id map (missing fields)")
    if not isinstance(manifest["dim"], int) or not isinstance(manifest["next_id"], int):
        raise VectorStoreError(f"{path}: 'dim' and 'next_id' must be integers")
    if manifest["format"] != _FORMAT_VERSION:
        raise VectorStoreError(f"{path}: unsupported format version {manifest['format']!r}")
    return manifest


def _id_map(manifest: dict[str, Any], path: Path) -> dict[str, int]:
    try:
        ids = {str(key): int(label) for key, label in manifest["ids"]}
    except (TypeError, ValueError) as e:
        raise VectorStoreError(f"{path}: malformed id list: {e}") from e
    if len(ids) != len(manifest["ids"]) or len(set(ids.values())) != len(ids):
        raise VectorStoreError(f"{path}: duplicate ids in the id list")
    return ids


def _read_index(path: Path) -> Any:
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as e:
        raise VectorStoreError(f"{path} is not a readable FAISS index: {e}") from e
    if isinstance(index, faiss.IndexIDMap2):
        return index
    if not isinstance(index, faiss.IndexIVFFlat):
        raise VectorStoreError(
            f"{path} holds a {type(index).__name__}, expected IndexIDMap2 or IndexIVFFlat"
        )
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise VectorStoreError(f"{path}: the IVF index does not use inner product")
    if index.direct_map.type != _HASHTABLE:
        raise VectorStoreError(
            f"{path}: the IVF index has no hash-table direct map, so its vectors cannot be "
            "read or removed by id"
        )
    return index
