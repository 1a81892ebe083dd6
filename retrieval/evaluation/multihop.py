"""``hippograph eval multihop``: passage Recall@2/@5 of every method side by side, one run.

The corpus is ingested into its own database: a private local Neo4j server (free loopback
ports) whose data directory is keyed by the corpus and the extractor's name and version, so a
second run reuses the ingested graph and a changed extractor re-ingests. Every method then
answers every question with the same embedder and the same passages, and the report lists
Recall@k and latency per method.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graph import ingest as stages
from graph.driver import connect
from graph.reader import GraphReader
from graph.schema import ensure_schema
from graph.server import LocalNeo4j, free_port
from pipelines.embeddings import embedder_from_settings
from pipelines.extraction.base import extractor_from_settings
from pipelines.settings import ExtractorKind, Settings
from pipelines.vectorstore import VectorStore
from retrieval.config import Preset
from retrieval.evaluation.datasets import EvalQuestion, Paragraph, recall_at
from retrieval.retriever import Retriever

DEFAULT_METHODS: tuple[Preset, ...] = (
    Preset.BM25,
    Preset.DENSE,
    Preset.HYBRID,
    Preset.PPR,
    Preset.PPR_RERANK,
)
KS = (2, 5)
# Large enough that one benchmark paragraph is one passage (MuSiQue/HotpotQA stay under 3k).
EVAL_CHUNK_CHARS = 8000

Progress = Callable[[str, int, int], None]


@dataclass
class MethodScores:
    """Recall@k and latency of one method over the questions."""

    recalls: dict[int, list[float]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    fallbacks: int = 0

    def summary(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            f"recall@{k}": round(statistics.fmean(v), 4) for k, v in sorted(self.recalls.items())
        }
        out["n"] = len(self.latencies_ms)
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            out["p50_ms"] = round(statistics.median(ordered), 2)
            out["p95_ms"] = round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)
        out["fallbacks"] = self.fallbacks
        return out


@dataclass
class EvalReport:
    methods: dict[str, MethodScores]
    corpus_passages: int
    extractor: str
    ingest_seconds: float
    per_question: list[dict[str, object]]

    def summary(self) -> dict[str, dict[str, float | int]]:
        return {name: scores.summary() for name, scores in self.methods.items()}


def corpus_key(corpus: Sequence[Paragraph], extractor: str) -> str:
    h = hashlib.sha256(extractor.encode())
    for p in corpus:
        h.update(p.title.encode())
        h.update(b"\x1f")
        h.update(p.text.encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def write_corpus(corpus: Sequence[Paragraph], path: Path) -> None:
    """The corpus as JSON Lines, one document (and so one passage) per paragraph."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i, p in enumerate(corpus):
            out.write(json.dumps({"id": f"p{i}", "title": p.title, "text": p.text}) + "\n")


def eval_settings(
    base: Settings,
    workdir: Path,
    extractor: ExtractorKind,
    *,
    chunk_max_chars: int = EVAL_CHUNK_CHARS,
) -> Settings:
    bolt = free_port()
    http = free_port(avoid=bolt)
    # neo4j_uri and neo4j_password are set explicitly so that NEO4J_URI / NEO4J_PASSWORD in the
    # environment never point the evaluation at the user's own server.
    return Settings(
        data_dir=workdir,
        neo4j_uri=None,
        neo4j_password=None,
        neo4j_bolt_port=bolt,
        neo4j_http_port=http,
        neo4j_heap=base.neo4j_heap,
        neo4j_pagecache=base.neo4j_pagecache,
        neo4j_version=base.neo4j_version,
        neo4j_browser_version=base.neo4j_browser_version,
        extractor=extractor,
        spacy_model=base.spacy_model,
        embedding_max_tokens=base.embedding_max_tokens,
        chunk_max_chars=chunk_max_chars,
        synonym_threshold=base.synonym_threshold,
    )


def run_multihop(
    questions: Sequence[EvalQuestion],
    corpus: Sequence[Paragraph],
    *,
    base: Settings,
    extractor: ExtractorKind = ExtractorKind.SPACY,
    openie_file: Path | None = None,
    methods: Sequence[Preset | str] = DEFAULT_METHODS,
    progress: Progress | None = None,
) -> EvalReport:
    """Ingest ``corpus`` into a private server, then score every method on ``questions``."""
    # The extractor's name carries its version, so a changed extraction re-ingests.
    engine = extractor_from_settings(
        base.model_copy(update={"extractor": extractor}), openie_file=openie_file
    )
    key = corpus_key(corpus, engine.name)
    workdir = (base.data_dir / "eval" / key).resolve()
    settings = eval_settings(base, workdir, extractor)
    corpus_file = workdir / "corpus.jsonl"
    if not corpus_file.exists():
        write_corpus(corpus, corpus_file)
    server = LocalNeo4j(settings, dist_root=base.neo4j_home / "dist")
    server.start()
    try:
        driver = connect(settings)
        try:
            ensure_schema(driver, settings.neo4j_database)
            embedder = embedder_from_settings(base)
            t0 = time.perf_counter()
            stages.ingest(
                driver,
                settings,
                [corpus_file],
                extractor=engine,
                embedder=embedder,
                store=VectorStore.open(settings.vector_dir),
            )
            ingest_seconds = time.perf_counter() - t0
            passages = GraphReader(driver, settings.neo4j_database).counts().passages
            retriever = Retriever.from_settings(
                settings,
                driver=driver,
                store=VectorStore.open(settings.vector_dir),
                embedder=embedder,
            )
            scores, rows = _score(questions, retriever, methods, progress)
            return EvalReport(scores, passages, engine.name, ingest_seconds, rows)
        finally:
            driver.close()
    finally:
        server.stop()


def _score(
    questions: Sequence[EvalQuestion],
    retriever: Retriever,
    methods: Sequence[Preset | str],
    progress: Progress | None,
) -> tuple[dict[str, MethodScores], list[dict[str, object]]]:
    scores = {str(m): MethodScores(recalls={k: [] for k in KS}) for m in methods}
    per_question: list[dict[str, object]] = []
    depth = max(KS) * 4  # room for passages that share a title
    for i, q in enumerate(questions):
        row: dict[str, object] = {"id": q.id, "gold": sorted(q.gold_titles)}
        for method in methods:
            t0 = time.perf_counter()
            result = retriever.retrieve(q.question, top_k=depth, config=method)
            elapsed = (time.perf_counter() - t0) * 1000
            titles = [p.title or "" for p in result.passages]
            entry = scores[str(method)]
            entry.latencies_ms.append(elapsed)
            if result.reason is not None:
                entry.fallbacks += 1
            for k in KS:
                entry.recalls[k].append(recall_at(q.gold_titles, titles, k))
            row[str(method)] = list(dict.fromkeys(titles))[: max(KS)]
        per_question.append(row)
        if progress is not None:
            progress("questions", i + 1, len(questions))
    return scores, per_question
