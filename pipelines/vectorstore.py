"""Exact inner-product vector search over named collections, on FAISS, saved without pickle.

Each collection ("passage", "entity", "fact", ...) is a FAISS ``IndexIDMap2(IndexFlatIP(dim))``
whose int64 ids map to hippograph's string ids. Adding an id that is already present replaces
its vector. With L2-normalised vectors (as :mod:`pipelines.embeddings` produces) the score is
cosine similarity.

On disk a collection is two files in one directory: ``<name>.faiss`` (``faiss.write_index``)
and ``<name>.ids.json`` (the id map, the dimension and the SHA-256 of the ``.faiss`` file, which
ties the pair together). Each file is written to a temporary name and moved into place with
``os.replace``; the checksum turns a torn pair into a clear error on load.
"""

from __future__ import annotations

import hashlib
import json
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
    """One named set of vectors with string ids, searched exactly by inner product.

    Build an empty one with ``VectorCollection(name, dim)`` (no I/O) or read one with
    :meth:`load`.
    """

    def __init__(
        self,
        name: str,
        dim: int,
        *,
        index: Any | None = None,
        ids: dict[str, int] | None = None,
        next_id: int = 0,
    ) -> None:
        _check_name(name)
        if dim < 1:
            raise VectorStoreError(f"collection {name!r}: dimension must be positive, got {dim}")
        self.name = name
        self.dim = dim
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

        Within one call a repeated id keeps its last vector.
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
        return len(labels)

    # ---------------------------------------------------------------------------- search

    def search(self, query_vectors: ArrayLike, k: int) -> list[list[SearchHit]]:
        """The ``k`` best ``(id, score)`` per query, best first (fewer if the store is small)."""
        queries = self._matrix(query_vectors, "query vectors")
        if k < 1:
            raise VectorStoreError(f"k must be positive, got {k}")
        k = min(k, len(self))
        if k == 0:
            return [[] for _ in range(queries.shape[0])]
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
    def load(cls, directory: str | Path, name: str, *, dim: int | None = None) -> VectorCollection:
        """Read the collection ``name`` from ``directory``.

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
        stored = faiss.vector_to_array(index.id_map).tolist()
        if index.ntotal != len(ids) or set(stored) != set(ids.values()):
            raise VectorStoreError(f"{index_path} and {ids_path.name} hold different ids")
        return cls(name, stored_dim, index=index, ids=ids, next_id=int(manifest["next_id"]))


class VectorStore:
    """Named vector collections (:class:`VectorCollection`) saved together in one directory.

    ``VectorStore()`` is empty and does no I/O. :meth:`open` reads a directory if it has
    collections (an empty store otherwise) and :meth:`load` insists that it exists; a store
    from either remembers its directory as the default for :meth:`save`, and ``dim`` as the
    dimension of collections it creates.
    """

    def __init__(
        self,
        collections: Iterable[VectorCollection] = (),
        *,
        directory: str | Path | None = None,
        dim: int | None = None,
    ) -> None:
        self._collections: dict[str, VectorCollection] = {c.name: c for c in collections}
        self.directory = Path(directory) if directory is not None else None
        self.dim = dim

    @classmethod
    def open(cls, directory: str | Path, *, dim: int | None = None) -> VectorStore:
        """The store saved in ``directory``, or an empty one bound to it if nothing is there."""
        folder = Path(directory)
        if not folder.exists():
            return cls(directory=folder, dim=dim)
        return cls.load(folder, dim=dim)

    @classmethod
    def load(cls, directory: str | Path, *, dim: int | None = None) -> VectorStore:
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
        collections = [VectorCollection.load(folder, name, dim=dim) for name in names]
        return cls(collections, directory=folder, dim=dim)

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
        created = VectorCollection(name, dim)
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
    if not isinstance(index, faiss.IndexIDMap2):
        raise VectorStoreError(f"{path} holds a {type(index).__name__}, expected IndexIDMap2")
    return index
