"""Pure helpers of ``benchmarks/bench_query.py``: corpus pooling, sampling and statistics."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from retrieval.evaluation.memory import Session, Turn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bq() -> ModuleType:
    path = ROOT / "benchmarks" / "bench_query.py"
    spec = importlib.util.spec_from_file_location("bench_query", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_query"] = module
    spec.loader.exec_module(module)
    return module


def test_add_paragraphs_dedupes_by_title_and_text(bq: ModuleType) -> None:
    corpus = bq.Corpus("t")
    bq.add_paragraphs(corpus, "a", [("T", "one"), ("T", "two"), ("T", "one")])
    bq.add_paragraphs(corpus, "b", [("T", "two"), ("U", "two"), ("V", "  ")])
    assert [(r["title"], r["text"]) for r in corpus.paragraphs] == [
        ("T", "one"),
        ("T", "two"),
        ("U", "two"),
    ]
    assert corpus.sources == {"a": {"records": 3, "added": 2}, "b": {"records": 3, "added": 1}}
    assert len({r["id"] for r in corpus.paragraphs}) == 3


def test_corpus_key_changes_with_content(bq: ModuleType) -> None:
    a, b = bq.Corpus("t"), bq.Corpus("t")
    bq.add_paragraphs(a, "s", [("T", "one")])
    bq.add_paragraphs(b, "s", [("T", "one")])
    assert a.key() == b.key()
    bq.add_paragraphs(b, "s", [("T", "two")])
    assert a.key() != b.key()


def test_dedupe_sessions_drops_repeats_and_renames_clashes(bq: ModuleType) -> None:
    day = datetime(2023, 5, 1, tzinfo=UTC)
    s1 = Session("s", day, (Turn("s:0", "user", "hi"),))
    s1_again = Session("s", day, (Turn("s:0", "user", "hi"),))
    s1_other = Session("s", day, (Turn("s:0", "user", "bye"),))
    t = Session("t", None, (Turn("t:0", "user", "x"),))
    kept, renamed = bq.dedupe_sessions([s1, s1_again, t, s1_other])
    assert [s.id for s in kept] == ["s", "t", "s#2"]
    assert renamed == 1
    assert kept[2].turns == s1_other.turns


def test_timeqa_pages_reads_literal_strings_and_lists(bq: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "timeqa.json"
    records = [
        {"paras": str(["Page A", "First  para .", "Second ."]), "questions": "[]"},
        {"paras": ["Page B", "Only para ."]},
        {"paras": ["Lonely title"]},  # no text: skipped
        {"paras": ["Page B", "Only para ."]},  # a repeat: once
    ]
    path.write_text(json.dumps(records))
    pages = bq.timeqa_pages(path)
    assert [(p["title"], p["text"]) for p in pages] == [
        ("Page A", "First para .\n\nSecond ."),
        ("Page B", "Only para ."),
    ]


def test_stratified_sample_is_balanced_and_seeded(bq: ModuleType) -> None:
    pools = {
        "a": [bq.Question("a", str(i), f"qa{i}") for i in range(50)],
        "b": [bq.Question("b", str(i), f"qb{i}") for i in range(3)],
        "c": [bq.Question("c", str(i), f"qc{i}") for i in range(50)],
    }
    sample = bq.stratified_sample(pools, 21, seed=1)
    by_source = {s: sum(q.source == s for q in sample) for s in pools}
    assert by_source == {"a": 9, "b": 3, "c": 9}  # "b" runs out, the others share the rest
    assert len({(q.source, q.id) for q in sample}) == 21
    assert sample == bq.stratified_sample(pools, 21, seed=1)
    assert sample != bq.stratified_sample(pools, 21, seed=2)
    assert len(bq.stratified_sample(pools, 1000, seed=1)) == 103


def test_summarise_matches_numpy_percentiles(bq: ModuleType) -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0, 100.0]
    s = bq.summarise(values)
    assert s["n"] == 6
    assert s["p50"] == pytest.approx(np.percentile(values, 50))
    assert s["p95"] == pytest.approx(np.percentile(values, 95))
    assert s["p50"] == pytest.approx(3.5)
    assert s["mean"] == pytest.approx(115 / 6, abs=1e-3)
    assert s["max"] == 100.0
    assert bq.summarise([]) == {"n": 0}


def test_overlap_at(bq: ModuleType) -> None:
    assert bq.overlap_at(["a", "b", "c"], ["c", "b", "a"]) == 1.0
    assert bq.overlap_at(["a", "b"], ["a", "x", "y", "z"]) == 0.25
    assert bq.overlap_at(["a", "b", "c"], ["a", "b", "d"], k=2) == 1.0
    assert bq.overlap_at([], []) == 1.0
    assert bq.overlap_at(["a"], []) == 0.0


def test_exact_variants_differ_from_push_only_in_the_solver(bq: ModuleType) -> None:
    from graph.ppr import PPRMethod
    from retrieval.config import preset_config

    variants = {v.label: v for v in bq.variants()}
    assert set(variants) == {
        "dense",
        "ppr",
        "ppr_rerank",
        "ppr_rerank_timeline",
        "ppr@exact",
        "ppr_rerank@exact",
        "ppr_rerank_timeline@exact",
    }
    for label, v in variants.items():
        if v.push_twin is None:
            continue
        push = preset_config(variants[v.push_twin].config)
        assert v.config.ppr_method == PPRMethod.EXACT
        assert v.config.model_copy(update={"ppr_method": push.ppr_method}) == push, label


def test_slices_take_an_equal_share_of_every_source(bq: ModuleType) -> None:
    corpus = bq.Corpus("t")
    bq.add_paragraphs(corpus, "a", [("A", f"text {i}") for i in range(40)])
    bq.add_paragraphs(corpus, "b", [("B", f"text {i}") for i in range(20)])
    corpus.documents = [
        {"id": f"s{i}", "text": "x" * 250, "metadata": {"source": "conv"}} for i in range(8)
    ]
    parts = bq.slices(corpus, per_slice=25, chunk_chars=100)  # 60 + 8 * 3 = 84 passages
    assert len(parts) == 4
    for paragraphs, documents in parts:
        assert sum(r["title"] == "A" for r in paragraphs) == 10
        assert sum(r["title"] == "B" for r in paragraphs) == 5
        assert len(documents) == 2
    flat = [r for p, _ in parts for r in p]
    for title in ("A", "B"):  # every record once, in its source's order
        assert [r for r in flat if r["title"] == title] == [
            r for r in corpus.paragraphs if r["title"] == title
        ]
    assert len(flat) == len(corpus.paragraphs)
    assert [r for _, d in parts for r in d] == corpus.documents
