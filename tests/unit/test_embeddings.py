"""The local MiniLM embedder (real ONNX model, small inputs), dedupe, cache and wrappers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from pipelines.embeddings import (
    MINILM_DIMENSION,
    EmbeddingCache,
    LangChainEmbedder,
    MiniLMEmbeddings,
    NumpyEmbeddings,
    Vectors,
    as_numpy_embedder,
    embedder_from_settings,
)
from pipelines.errors import EmbeddingError
from pipelines.settings import Settings


class Spy:
    """Records the texts an embedder actually computes (not served from dedupe or cache)."""

    def __init__(self, embedder: NumpyEmbeddings, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[list[str]] = []
        original = embedder._embed_distinct

        def recording(texts: list[str]) -> Vectors:
            self.calls.append(list(texts))
            return original(texts)

        monkeypatch.setattr(embedder, "_embed_distinct", recording)

    @property
    def texts(self) -> list[str]:
        return [text for call in self.calls for text in call]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbeddings:
    return MiniLMEmbeddings(batch_size=4)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ------------------------------------------------------------------------------ the model


def test_vectors_are_384_d_float32_and_unit_length(minilm: MiniLMEmbeddings) -> None:
    vectors = minilm.embed_array(["Halvard Robotics builds drones.", "", "Kestrel"])
    assert vectors.shape == (3, MINILM_DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()


def test_semantic_similarity_matches_known_behaviour(minilm: MiniLMEmbeddings) -> None:
    food, bread, horse, drums, gorilla_drums = minilm.embed_array(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "A man is riding a horse.",
            "A monkey is playing drums.",
            "Someone in a gorilla costume is playing a set of drums.",
        ]
    )
    # Reference all-MiniLM-L6-v2 (sentence-transformers) gives 0.755 and 0.644 for these pairs.
    assert cosine(food, bread) == pytest.approx(0.755, abs=0.02)
    assert cosine(drums, gorilla_drums) == pytest.approx(0.644, abs=0.02)
    assert cosine(food, drums) < 0.2
    assert cosine(food, bread) > cosine(food, horse) > cosine(food, drums)


def test_results_do_not_depend_on_batch_company_or_padding(minilm: MiniLMEmbeddings) -> None:
    short = "Tomas Varga founded Halvard Robotics."
    long = " ".join(["The drone inspected the wind turbine blades for cracks."] * 12)
    alone = minilm.embed_array([short])[0]
    together = minilm.embed_array([long, short, "x", "Another sentence about Berlin."])
    np.testing.assert_allclose(together[1], alone, atol=1e-5)
    assert cosine(together[0], alone) < 0.9


def test_truncation_at_max_tokens(minilm: MiniLMEmbeddings) -> None:
    head = "alpha beta gamma " * 100  # 300 words, one token each: past 256, short of 512
    tail = " completely different ending about cooking pasta in a small kitchen"
    a, b = minilm.embed_array([head, head + tail])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the tail is cut at 256 tokens
    c, d = MiniLMEmbeddings(max_tokens=512).embed_array([head, head + tail])
    assert not np.allclose(c, d, atol=1e-4)  # with room for it, the tail counts


def test_langchain_interface(minilm: MiniLMEmbeddings) -> None:
    assert isinstance(minilm, Embeddings)
    docs = minilm.embed_documents(["one text", "two texts"])
    query = minilm.embed_query("one text")
    assert len(docs) == 2 and all(len(v) == MINILM_DIMENSION for v in docs)
    assert isinstance(query[0], float)
    np.testing.assert_allclose(query, docs[0], atol=1e-6)


def test_each_distinct_string_is_embedded_once_per_call(
    minilm: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(minilm, monkeypatch)
    vectors = minilm.embed_array(["Berlin", "Porto", "Berlin", "Berlin", "Porto", "Oslo"])
    assert spy.texts == ["Berlin", "Porto", "Oslo"]
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[1], vectors[4])
    assert vectors.shape == (6, MINILM_DIMENSION)


def test_empty_input_and_bad_input(minilm: MiniLMEmbeddings) -> None:
    assert minilm.embed_array([]).shape == (0, MINILM_DIMENSION)
    with pytest.raises(EmbeddingError, match="input 1"):
        minilm.embed_array(["fine", None])  # type: ignore[list-item]


def test_constructor_does_no_io_and_bad_model_fails_on_first_use(tmp_path: Path) -> None:
    missing = tmp_path / "missing.onnx"
    embedder = MiniLMEmbeddings(model_path=missing, cache=EmbeddingCache(tmp_path / "c.sqlite"))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(EmbeddingError, match="missing.onnx"):
        embedder.embed_array(["hello"])
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not an onnx model")
    with pytest.raises(EmbeddingError, match="cannot load ONNX model"):
        MiniLMEmbeddings(model_path=corrupt).embed_array(["hello"])


# ------------------------------------------------------------------------------ cache


def test_cache_hit_skips_the_model_across_instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cache" / "embeddings.sqlite"
    texts = ["Sofia Reyes became CEO.", "Halvard moved to Copenhagen."]
    with EmbeddingCache(path) as cache:
        first = MiniLMEmbeddings(cache=cache)
        spy_first = Spy(first, monkeypatch)
        expected = first.embed_array(texts)
        assert spy_first.texts == texts
        assert len(cache) == 2
    with EmbeddingCache(path) as reopened:
        second = MiniLMEmbeddings(cache=reopened)
        spy_second = Spy(second, monkeypatch)
        again = second.embed_array([texts[1], "A new sentence.", texts[0]])
        assert spy_second.texts == ["A new sentence."]
        np.testing.assert_array_equal(again[0], expected[1])
        np.testing.assert_array_equal(again[2], expected[0])
        assert len(reopened) == 3


def test_cache_keys_include_the_model_name(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    cache.put_many("model-a", ["text"], np.ones((1, 3), dtype=np.float32))
    assert set(cache.get_many("model-a", ["text"])) == {"text"}
    assert cache.get_many("model-b", ["text"]) == {}
    assert EmbeddingCache.key("m", "t") != EmbeddingCache.key("m", "t ")
    cache.close()


def test_cache_is_bounded(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite", max_entries=3)
    texts = [f"text {n}" for n in range(5)]
    for n, text in enumerate(texts):
        cache.put_many("m", [text], np.full((1, 4), n, dtype=np.float32))
    assert len(cache) == 3
    kept = cache.get_many("m", texts)
    assert set(kept) == set(texts[2:])  # the oldest entries went first
    np.testing.assert_array_equal(kept["text 4"], np.full(4, 4, dtype=np.float32))
    cache.close()


def test_corrupt_cache_file_is_moved_aside_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a sqlite database at all" * 100)
    cache = EmbeddingCache(path)
    assert cache.get_many("m", ["a"]) == {}
    cache.put_many("m", ["a"], np.ones((1, 2), dtype=np.float32))
    assert set(cache.get_many("m", ["a"])) == {"a"}
    assert (tmp_path / "c.sqlite.corrupt").exists()
    cache.close()


# ------------------------------------------------------------------------------ other models


class CountingFake(Embeddings):
    """A deterministic LangChain model: a 3-d vector from the text's length and vowels."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen.extend(texts)
        return [[float(len(t)), float(sum(c in "aeiou" for c in t)), 1.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [0.0, 0.0, 2.0]


def test_any_langchain_model_gets_numpy_output_dedupe_and_cache(tmp_path: Path) -> None:
    fake = CountingFake()
    wrapped = as_numpy_embedder(fake, cache=EmbeddingCache(tmp_path / "c.sqlite"))
    assert isinstance(wrapped, LangChainEmbedder)
    assert wrapped.model_name == "CountingFake"
    vectors = wrapped.embed_array(["aa", "bbb", "aa"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors[1], np.array([3, 0, 1]) / np.sqrt(10), atol=1e-6)
    wrapped.embed_array(["bbb", "aa"])
    assert fake.seen == ["aa", "bbb"]
    assert wrapped.embed_query("anything") == [0.0, 0.0, 1.0]


def test_long_calls_are_embedded_and_cached_in_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    wrapped = LangChainEmbedder(CountingFake(), model_name="fake", cache=cache)
    monkeypatch.setattr(LangChainEmbedder, "_SLICE", 2)
    spy = Spy(wrapped, monkeypatch)
    vectors = wrapped.embed_array(["a", "bb", "a", "ccc", "dddd", "eeeee"])
    assert spy.calls == [["a", "bb"], ["ccc", "dddd"], ["eeeee"]]
    assert len(cache) == 5
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_as_numpy_embedder_keeps_numpy_embedders(minilm: MiniLMEmbeddings) -> None:
    assert as_numpy_embedder(minilm) is minilm


def test_embedder_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        embedding_model="minilm-int8",
        embedding_batch_size=7,
        embedding_max_tokens=128,
    )
    embedder = embedder_from_settings(settings)
    assert (embedder.batch_size, embedder.max_tokens) == (7, 128)
    assert embedder.cache is not None
    assert embedder.cache.path == settings.cache_dir / "embeddings.sqlite"
    assert not settings.cache_dir.exists()  # nothing opened yet
    assert embedder_from_settings(settings, use_cache=False).cache is None
    with pytest.raises(EmbeddingError, match="unknown local embedding model"):
        embedder_from_settings(Settings(data_dir=tmp_path, embedding_model="bge-large"))
