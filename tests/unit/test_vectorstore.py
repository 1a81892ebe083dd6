"""FAISS collections: add, replace, remove, search, save and load, and their errors."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import faiss
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


# ------------------------------------------------------------------------------ approximate index
#
# 5,000 clustered 32-d unit vectors (40 Gaussian clusters, spread 1.2: overlapping enough that
# probing a few lists misses some neighbours) with the threshold at 2,000. Conversion at 2,000
# gives 51 lists (2,000 / 39) probing 8; growth to 3,978 retrains to 102 lists probing 12.
# Measured on seeds 0-2: recall@10 0.968-0.977, recall@1 0.985-0.990 against exact search.

ANN_MIN = 2_000


@functools.cache
def clustered(n: int = 5_200, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    x = centres[rng.integers(40, size=n)] + 1.2 * rng.standard_normal((n, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    x.flags.writeable = False
    return x


def keys(start: int, stop: int) -> list[str]:
    return [f"e{i}" for i in range(start, stop)]


def grown(n: int = 5_000, batch: int = 500, ann_min_vectors: int = ANN_MIN) -> VectorCollection:
    """The first ``n`` clustered vectors, ``batch`` per add (rows 5,000 on are for queries)."""
    data = clustered()
    collection = VectorCollection("entity", data.shape[1], ann_min_vectors=ann_min_vectors)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        collection.add(keys(start, stop), data[start:stop])
    return collection


def brute_force(queries: np.ndarray, n: int, k: int) -> list[list[str]]:
    order = np.argsort(-(queries @ clustered()[:n].T), axis=1)[:, :k]
    return [[f"e{i}" for i in row] for row in order]


def recall(hits: list[list[tuple[str, float]]], truth: list[list[str]]) -> float:
    pairs = zip(hits, truth, strict=True)
    found = [len({key for key, _ in row} & set(true)) / len(true) for row, true in pairs]
    return float(np.mean(found))


def test_small_collections_stay_exact_and_convert_at_the_threshold() -> None:
    data = clustered()
    collection = VectorCollection("entity", 32, ann_min_vectors=ANN_MIN)
    collection.add(keys(0, ANN_MIN - 1), data[: ANN_MIN - 1])
    assert not collection.approximate
    assert collection.nlist is None and collection.nprobe is None
    queries = data[5_000:5_050]
    truth = brute_force(queries, ANN_MIN - 1, 10)
    assert [[key for key, _ in row] for row in collection.search(queries, 10)] == truth

    collection.add(["e1999"], data[1999:2000])
    assert collection.approximate
    assert (collection.nlist, collection.nprobe) == (ANN_MIN // 39, 8)
    assert len(collection) == ANN_MIN and collection.ids() == keys(0, ANN_MIN)
    assert VectorCollection("entity", 32).ann_min_vectors == 50_000  # the default


def test_approximate_search_recall_against_exact_search() -> None:
    collection = grown()
    assert collection.approximate and collection.nprobe < collection.nlist  # really approximate
    queries = clustered()[5_000:]
    hits = collection.search(queries, 10)
    assert all(len(row) == 10 for row in hits)
    assert all(
        [s for _, s in row] == sorted((s for _, s in row), reverse=True) for row in hits
    )  # best first
    assert recall(hits, brute_force(queries, 5_000, 10)) >= 0.93
    assert recall([row[:1] for row in hits], brute_force(queries, 5_000, 1)) >= 0.95
    exact = collection.search(queries, 10, exact=True)
    assert recall(exact, brute_force(queries, 5_000, 10)) == 1.0


def test_every_stored_vector_is_its_own_nearest_neighbour() -> None:
    collection = grown()
    data = clustered()[:5_000]
    hits = collection.search(data, 1)
    assert [row[0][0] for row in hits] == keys(0, 5_000)
    assert [row[0][1] for row in hits] == pytest.approx([1.0] * 5_000, abs=1e-5)


def test_add_replace_remove_and_reconstruct_after_conversion() -> None:
    collection = grown()
    data = clustered()
    np.testing.assert_array_equal(collection.vectors(["e7", "e4321"]), data[[7, 4321]])

    collection.add(["e7"], data[5_100:5_101])  # replace: new vector, same place
    assert len(collection) == 5_000 and collection.ids()[7] == "e7"
    np.testing.assert_array_equal(collection.vector("e7"), data[5_100])
    assert collection.search(data[5_100:5_101], 1)[0][0][0] == "e7"
    (old,) = collection.search(data[7:8], 5)
    assert ("e7", pytest.approx(1.0, abs=1e-5)) not in old

    assert collection.remove(["e42", "e43", "missing"]) == 2
    assert len(collection) == 4_998 and "e42" not in collection
    with pytest.raises(KeyError, match="e42"):
        collection.vector("e42")
    (hits,) = collection.search(data[42:43], 10)
    assert "e42" not in {key for key, _ in hits}
    collection.add(["e42"], data[42:43])
    assert collection.search(data[42:43], 1)[0][0][0] == "e42"

    collection.add(["new"], data[5_150:5_151])
    assert collection.search(data[5_150:5_151], 1)[0][0][0] == "new"
    assert collection.approximate


def test_growth_retrains_and_keeps_every_vector_findable() -> None:
    data = clustered()
    collection = grown(n=3_900)
    assert collection.nlist == 51
    collection.add(
        keys(3_900, 5_000), data[3_900:5_000]
    )  # passes 3,978 = 2 x 51 x 39: twice the lists
    assert (collection.nlist, collection.nprobe) == (5_000 // 39, 16)
    assert [row[0][0] for row in collection.search(data[:5_000], 1)] == keys(0, 5_000)
    assert recall(collection.search(data[5_000:], 10), brute_force(data[5_000:], 5_000, 10)) >= 0.9


def test_shrinking_below_half_the_threshold_returns_to_exact_search() -> None:
    collection = grown(n=2_500)
    collection.remove(keys(1_000, 2_500))
    assert collection.approximate  # 1,000 is not below half of 2,000: no flapping
    collection.remove(["e999"])
    assert not collection.approximate and len(collection) == 999
    queries = clustered()[5_000:5_050]
    hits = collection.search(queries, 5)
    assert [[key for key, _ in row] for row in hits] == brute_force(queries, 999, 5)


def test_approximate_save_load_round_trip_gives_identical_results(tmp_path: Path) -> None:
    collection = grown()
    collection.remove(["e3"])
    collection.save(tmp_path)
    loaded = VectorCollection.load(tmp_path, "entity", ann_min_vectors=ANN_MIN)
    assert loaded.approximate
    assert (loaded.nlist, loaded.nprobe) == (collection.nlist, collection.nprobe)
    assert loaded.ids() == collection.ids() and "e3" not in loaded
    queries = clustered()[5_000:]
    assert loaded.search(queries, 10) == collection.search(queries, 10)
    np.testing.assert_array_equal(
        loaded.vectors(["e0", "e4999"]), collection.vectors(["e0", "e4999"])
    )
    loaded.add(["e3"], clustered()[3:4])  # ids stay unique after a load
    assert loaded.search(clustered()[3:4], 1)[0][0][0] == "e3"
    assert loaded.remove(["e0"]) == 1


def test_the_same_vectors_give_the_same_index(tmp_path: Path) -> None:
    grown().save(tmp_path / "a")
    grown().save(tmp_path / "b")
    assert (tmp_path / "a" / "entity.faiss").read_bytes() == (
        tmp_path / "b" / "entity.faiss"
    ).read_bytes()


def test_flat_files_load_as_they_are_and_convert_on_the_next_change(tmp_path: Path) -> None:
    big_threshold = grown(n=2_500, ann_min_vectors=10_000)
    assert not big_threshold.approximate
    big_threshold.save(tmp_path)
    loaded = VectorStore.load(tmp_path, ann_min_vectors=ANN_MIN)["entity"]
    assert loaded.ann_min_vectors == ANN_MIN and not loaded.approximate
    loaded.add(["extra"], clustered()[5_000:5_001])
    assert loaded.approximate and len(loaded) == 2_501


def test_store_passes_the_threshold_to_its_collections(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "vectors", dim=32, ann_min_vectors=ANN_MIN)
    created = store.collection(Collection.ENTITY)
    assert created.ann_min_vectors == ANN_MIN
    created.add(keys(0, ANN_MIN), clustered()[:ANN_MIN])
    assert created.approximate
    store.save()
    assert VectorStore.open(tmp_path / "vectors", ann_min_vectors=7)["entity"].ann_min_vectors == 7
    with pytest.raises(VectorStoreError, match="ann_min_vectors must be at least 1"):
        VectorCollection("entity", 32, ann_min_vectors=0)


def test_unsupported_index_type_is_a_clear_error(tmp_path: Path) -> None:
    filled().save(tmp_path)
    index = tmp_path / "passage.faiss"
    faiss.write_index(faiss.IndexFlatIP(4), str(index))
    manifest_path = tmp_path / "passage.ids.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["faiss_sha256"] = hashlib.sha256(index.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(VectorStoreError, match="expected IndexIDMap2 or IndexIVFFlat"):
        VectorStore.load(tmp_path)
