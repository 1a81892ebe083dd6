"""FAISS collections: add, replace, remove, search, save and load, and their errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.vectorstore import Collection, VectorCollection, VectorStore, VectorStoreError


def unit(*values: float) -> list[float]:
    v = np.asarray(values, dtype=np.float32)
    return (v / np.linalg.norm(v)).tolist()


def filled(dim: int = 4) -> VectorCollection:
    collection = VectorCollection("passage", dim)
    collection.add(["p1", "p2", "p3"], [unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(1, 1, 0, 0)])
    return collection


# ------------------------------------------------------------------------------ in memory


def test_search_returns_ids_and_inner_product_scores_best_first() -> None:
    collection = filled()
    (hits,) = collection.search([unit(1, 0, 0, 0)], k=3)
    assert [key for key, _ in hits] == ["p1", "p3", "p2"]
    assert [score for _, score in hits] == pytest.approx([1.0, 2**-0.5, 0.0], abs=1e-6)
    assert len(collection.search(np.eye(4, dtype=np.float32)[:2], k=1)) == 2


def test_k_larger_than_the_collection_and_empty_collections() -> None:
    collection = filled()
    (hits,) = collection.search([unit(0, 1, 0, 0)], k=10)
    assert len(hits) == 3
    empty = VectorCollection("entity", 4)
    assert empty.search([unit(1, 0, 0, 0), unit(0, 1, 0, 0)], k=5) == [[], []]
    assert len(empty) == 0 and empty.ids() == []


def test_re_adding_an_id_replaces_its_vector() -> None:
    collection = filled()
    collection.add(["p1"], [unit(0, 0, 1, 0)])
    assert len(collection) == 3
    assert collection.ids() == ["p1", "p2", "p3"]  # replacing keeps the place
    (hits,) = collection.search([unit(0, 0, 1, 0)], k=1)
    assert hits == [("p1", pytest.approx(1.0, abs=1e-6))]
    np.testing.assert_allclose(collection.vector("p1"), unit(0, 0, 1, 0), atol=1e-6)
    (hits,) = collection.search([unit(1, 0, 0, 0)], k=3)
    assert dict(hits)["p1"] == pytest.approx(0.0, abs=1e-6)


def test_repeated_id_in_one_call_keeps_the_last_vector() -> None:
    collection = VectorCollection("fact", 2)
    collection.add(["f", "g", "f"], [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    assert len(collection) == 2
    np.testing.assert_allclose(collection.vector("f"), [0.6, 0.8], atol=1e-6)


def test_remove() -> None:
    collection = filled()
    assert collection.remove(["p1", "unknown", "p1"]) == 1
    assert len(collection) == 2 and "p1" not in collection
    assert collection.ids() == ["p2", "p3"]
    (hits,) = collection.search([unit(1, 0, 0, 0)], k=3)
    assert [key for key, _ in hits] == ["p3", "p2"]
    assert collection.remove([]) == 0
    collection.add(["p1"], [unit(1, 0, 0, 0)])  # can come back
    assert collection.search([unit(1, 0, 0, 0)], k=1)[0][0][0] == "p1"


@pytest.mark.parametrize(
    ("ids", "vectors", "message"),
    [
        (["a"], [[1.0, 0.0, 0.0]], "holds 4-d vectors"),
        (["a", "b"], [[1.0, 0.0, 0.0, 0.0]], "2 ids for 1 vectors"),
        (["a"], [[float("nan"), 0.0, 0.0, 0.0]], "NaN"),
        ([1], [[1.0, 0.0, 0.0, 0.0]], "not a string"),
    ],
)
def test_bad_additions_are_rejected(
    ids: list[str], vectors: list[list[float]], message: str
) -> None:
    collection = filled()
    with pytest.raises(VectorStoreError, match=message):
        collection.add(ids, vectors)
    assert len(collection) == 3


def test_bad_queries_are_rejected() -> None:
    collection = filled()
    with pytest.raises(VectorStoreError, match="holds 4-d vectors"):
        collection.search([[1.0, 0.0]], k=1)
    with pytest.raises(VectorStoreError, match="k must be positive"):
        collection.search([unit(1, 0, 0, 0)], k=0)


def test_store_collections_by_name_and_dimension() -> None:
    store = VectorStore()
    passages = store.collection(Collection.PASSAGE, dim=4)
    assert store.collection("passage") is passages
    assert "passage" in store and len(store) == 1
    with pytest.raises(VectorStoreError, match="expected 8"):
        store.collection("passage", dim=8)
    with pytest.raises(VectorStoreError, match="give dim"):
        store["entity"]
    with pytest.raises(VectorStoreError, match="invalid collection name"):
        VectorCollection("../escape", 4)


# ------------------------------------------------------------------------------ on disk


def test_save_load_round_trip(tmp_path: Path) -> None:
    store = VectorStore()
    passages = store.collection("passage", dim=4)
    passages.add(["p1", "p2", "p3"], [unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(1, 1, 0, 0)])
    passages.remove(["p2"])
    store.collection("entity", dim=2).add(["e:berlin"], [[1.0, 0.0]])
    store.save(tmp_path / "vectors")
    files = sorted(p.name for p in (tmp_path / "vectors").iterdir())
    assert files == ["entity.faiss", "entity.ids.json", "passage.faiss", "passage.ids.json"]

    loaded = VectorStore.load(tmp_path / "vectors")
    assert list(loaded) == ["entity", "passage"]
    again = loaded["passage"]
    assert again.ids() == ["p1", "p3"] and again.dim == 4
    query = [unit(1, 0.2, 0, 0)]
    assert again.search(query, k=2) == passages.search(query, k=2)
    np.testing.assert_array_equal(again.vector("p3"), passages.vector("p3"))
    # New ids after a load never reuse the int64 ids of removed ones.
    again.add(["p4"], [unit(0, 0, 0, 1)])
    assert again.search([unit(0, 0, 0, 1)], k=1)[0][0][0] == "p4"
    assert again.search([unit(1, 0, 0, 0)], k=1)[0][0][0] == "p1"
    manifest = json.loads((tmp_path / "vectors" / "passage.ids.json").read_text())
    assert manifest["dim"] == 4 and dict(manifest["ids"]).keys() == {"p1", "p3"}


def test_save_overwrites_atomically_without_leftovers(tmp_path: Path) -> None:
    collection = filled()
    collection.save(tmp_path)
    collection.add(["p9"], [unit(0, 0, 1, 1)])
    collection.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passage.faiss", "passage.ids.json"]
    assert len(VectorCollection.load(tmp_path, "passage")) == 4


def test_open_missing_directory_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "not-yet")
    assert len(store) == 0
    assert not (tmp_path / "not-yet").exists()
    with pytest.raises(VectorStoreError, match="does not exist"):
        VectorStore.load(tmp_path / "not-yet")


def test_opened_store_saves_to_its_directory_and_creates_collections_with_its_dim(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "vectors"
    store = VectorStore.open(folder, dim=3)
    store.collection(Collection.ENTITY).add(["e1", "e2"], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    store.save()
    reopened = VectorStore.open(folder, dim=3)
    assert reopened.directory == folder
    np.testing.assert_array_equal(
        reopened["entity"].vectors(["e2", "e1"]), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    )
    with pytest.raises(KeyError, match="e9"):
        reopened["entity"].vectors(["e1", "e9"])
    with pytest.raises(VectorStoreError, match="pass one to save"):
        VectorStore().save()


def test_load_checks_the_dimension(tmp_path: Path) -> None:
    filled().save(tmp_path)
    assert VectorStore.open(tmp_path, dim=4)["passage"].dim == 4
    with pytest.raises(VectorStoreError, match="holds 4-d vectors, expected 384"):
        VectorStore.open(tmp_path, dim=384)


def test_missing_files_are_clear_errors(tmp_path: Path) -> None:
    filled().save(tmp_path)
    (tmp_path / "passage.faiss").unlink()
    with pytest.raises(VectorStoreError, match=r"passage\.faiss is missing"):
        VectorStore.load(tmp_path)
    filled().save(tmp_path)
    (tmp_path / "passage.ids.json").unlink()
    with pytest.raises(VectorStoreError, match="without an id map: passage.faiss"):
        VectorStore.load(tmp_path)


def test_corrupt_index_file_is_a_clear_error(tmp_path: Path) -> None:
    filled().save(tmp_path)
    index = tmp_path / "passage.faiss"
    index.write_bytes(index.read_bytes()[:50])
    with pytest.raises(VectorStoreError, match="corrupt or from different saves"):
        VectorStore.load(tmp_path)


def test_unreadable_index_with_matching_checksum_is_a_clear_error(tmp_path: Path) -> None:
    filled().save(tmp_path)
    index = tmp_path / "passage.faiss"
    index.write_bytes(b"garbage that is not a faiss index")
    manifest_path = tmp_path / "passage.ids.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["faiss_sha256"] = hashlib.sha256(index.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(VectorStoreError, match="not a readable FAISS index"):
        VectorStore.load(tmp_path)


def test_index_and_id_map_from_different_saves_are_detected(tmp_path: Path) -> None:
    old = filled()
    old.save(tmp_path / "old")
    old.add(["p4"], [unit(0, 0, 0, 1)])
    old.save(tmp_path / "new")
    (tmp_path / "new" / "passage.faiss").replace(tmp_path / "old" / "passage.faiss")
    with pytest.raises(VectorStoreError, match="different saves"):
        VectorStore.load(tmp_path / "old")


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"format": 1}',
        '{"format": 99, "dim": 4, "next_id": 0, "faiss_sha256": "", "ids": []}',
    ],
)
def test_corrupt_id_map_is_a_clear_error(tmp_path: Path, content: str) -> None:
    filled().save(tmp_path)
    (tmp_path / "passage.ids.json").write_text(content)
    with pytest.raises(VectorStoreError, match=r"passage\.ids\.json"):
        VectorStore.load(tmp_path)
