"""Query latency and memory at ~2k passages and on every shared corpus pooled, push vs exact PPR.

Two graphs are built through the product's own ingestion stages (:mod:`graph.ingest`, spaCy
extraction, MiniLM, FAISS) into private local Neo4j servers whose data directories are keyed
by their input (``data/bench/<graph>-<key>/``), so a second run reuses the ingested graph:

- **small**: HippoRAG's 1,890-passage MuSiQue training corpus, one passage per paragraph;
- **pooled**: every shared corpus in one graph: that corpus and the paragraphs of both
  ``migres_dev200`` sets (deduplicated by title and text, one passage each), the LoCoMo
  conversations and the LongMemEval oracle sessions as dated conversation sessions
  (identical sessions once), and the TimeQA pages (one document per page, paragraphs joined).
  Paragraphs are written with the multi-hop harness's chunk size
  (:data:`retrieval.evaluation.multihop.EVAL_CHUNK_CHARS`, one passage per paragraph);
  conversations and TimeQA pages with the settings' default chunking.

The ingest runs slice after slice (:func:`slices`: about ``--slice-passages`` passages, each
an equal share of every source), every stage each time, and records finished slices in
``<data dir>/ingest.json``: an interrupted ingest resumes at the next slice, and one stopped
early (``--ingest-until HH:MM`` starts no slice that would not end by then) leaves a complete
graph of the same mixture, which is then what is measured (the JSON says how much).

Queries are a fixed, seeded sample of real questions (small: the 100 MuSiQue training
questions; pooled: an equal share of MuSiQue train, MuSiQue dev, HotpotQA dev, LoCoMo and
LongMemEval questions, asked without a date). After a warm-up (projection load from Neo4j,
BM25 and link indexes, spaCy, ONNX and numba compilation, igraph view; the first query of
each configuration is reported separately) every configuration answers every question, in
rounds (each question through every configuration, the order rotated per question, so load
elsewhere on the machine hits all of them alike). The PPR-based presets run twice: with the
push solver the presets use, and with ``ppr_method=exact`` (igraph PRPACK over the whole
graph), and their top-10 overlap is reported. Queries are embedded without the embedding
cache, as a new question would be.

Stages are :attr:`RetrievalResult.timings_ms`: ``load`` (the projection cache's freshness
check, at most once a second), ``embed`` (spaCy query parse for the graph presets and MiniLM
embedding of the query and its mentions), ``dense_lexical`` (FAISS and BM25), ``seeding``
(entity and fact linking), ``ppr_rerank`` (PPR, fusion and the rerank rounds),
``facts_timeline`` and ``total``; plus ``wall`` and ``process_cpu`` around the call, and
``ppr_solve`` (``_cpu``), the time inside :func:`graph.ppr.personalized_pagerank`, measured by
wrapping it where the reranker calls it (``rerank_without_ppr`` is the rest of
``ppr_rerank``).

Memory: this process's RSS after the projection is loaded, after the warm-up and at the end
(``VmRSS``) and its peak (``VmHWM``), the bytes of the projection's CSR arrays, the FAISS
files, the Neo4j store on disk and the JVM's RSS.

Consolidation (issue #5): with ``--consolidate``, after the latency measurements on the pooled
graph, :func:`graph.consolidation.consolidate` (what ``hippograph consolidate`` runs: default
options, ``now`` the wall clock) runs on a *copy* of the pooled data directory, so the cached
graph the latency numbers are measured on is never consolidated; its wall time, report and
the graph size before and after are recorded under ``consolidation``.

    .venv/bin/python benchmarks/bench_query.py --graph pooled --ingest-only   # long: start early
    .venv/bin/python benchmarks/bench_query.py --consolidate                  # both graphs
    .venv/bin/python benchmarks/bench_query.py --graph small --queries 20 --out /tmp/q.json

Results: ``benchmarks/results/query_latency.json``, ``graphs.<name>`` replaced per run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import machine_info, proc_status_kib  # noqa: E402

from graph import ingest as stages  # noqa: E402
from graph.consolidation import consolidate  # noqa: E402
from graph.driver import connect  # noqa: E402
from graph.ppr import PPRMethod  # noqa: E402
from graph.projection import NODE_KIND_CODES  # noqa: E402
from graph.projection_loader import LoadedGraph, load_graph  # noqa: E402
from graph.reader import GraphReader  # noqa: E402
from graph.schema import ensure_schema  # noqa: E402
from graph.server import LocalNeo4j  # noqa: E402
from pipelines.chunking import ChunkingConfig, chunk_document  # noqa: E402
from pipelines.embeddings import embedder_from_settings  # noqa: E402
from pipelines.extraction.base import extractor_from_settings  # noqa: E402
from pipelines.loaders import load_documents  # noqa: E402
from pipelines.models import Document  # noqa: E402
from pipelines.settings import ExtractorKind, Settings  # noqa: E402
from pipelines.vectorstore import VectorStore  # noqa: E402
from retrieval import rerank  # noqa: E402
from retrieval.config import Preset, preset_config  # noqa: E402
from retrieval.evaluation.datasets import iter_records, load_corpus, load_questions  # noqa: E402
from retrieval.evaluation.memory import Session, load_locomo, load_longmemeval  # noqa: E402
from retrieval.evaluation.multihop import EVAL_CHUNK_CHARS, eval_settings  # noqa: E402
from retrieval.retriever import Retriever  # noqa: E402

BENCHDATA = (ROOT / "../shared/benchdata").resolve()
MUSIQUE_TRAIN_CORPUS = BENCHDATA / "multihop/hipporag_legacy/musique_train_corpus.json"
MUSIQUE_TRAIN = BENCHDATA / "multihop/hipporag_legacy/musique_train.json"
MUSIQUE_DEV = BENCHDATA / "multihop/migres_dev200/musique.json"
HOTPOT_DEV = BENCHDATA / "multihop/migres_dev200/hotpot.json"
LOCOMO = BENCHDATA / "locomo/locomo10.json"
LONGMEMEVAL = BENCHDATA / "longmemeval/longmemeval_oracle.json"
TIMEQA = BENCHDATA / "temporal/timeqa/human_annotated_train.json"
JAR_CACHE = ROOT / "data" / "neo4j" / "dist"
BENCH_DIR = ROOT / "data" / "bench"
GRAPHS = ("small", "pooled")
TOP_K = 10
SEED = 20240605
MEASURED_PRESETS = (Preset.DENSE, Preset.PPR, Preset.PPR_RERANK, Preset.PPR_RERANK_TIMELINE)

Record = dict[str, Any]


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# --- corpora --------------------------------------------------------------------------------


@dataclass
class Corpus:
    """What one graph is built from: JSON Lines records per chunking, and their provenance."""

    name: str
    paragraphs: list[Record] = field(default_factory=list)  # one passage each
    documents: list[Record] = field(default_factory=list)  # default chunking
    paragraph_sources: list[str] = field(default_factory=list)  # parallel to paragraphs
    sources: dict[str, dict[str, int]] = field(default_factory=dict)

    def key(self) -> str:
        h = hashlib.sha256(self.name.encode())
        for rec in (*self.paragraphs, *self.documents):
            h.update(json.dumps(rec, sort_keys=True, ensure_ascii=False).encode())
            h.update(b"\x1e")
        return h.hexdigest()[:16]


def paragraph_id(title: str, text: str) -> str:
    return "para-" + hashlib.sha1(f"{title}\x1f{text}".encode()).hexdigest()[:16]


def add_paragraphs(corpus: Corpus, source: str, pairs: Sequence[tuple[str, str]]) -> None:
    """Append ``(title, text)`` pairs not already in ``corpus`` (same title and text)."""
    seen = {r["id"] for r in corpus.paragraphs}
    added = 0
    for title, text in pairs:
        if not text.strip():
            continue
        pid = paragraph_id(title, text)
        if pid in seen:
            continue
        seen.add(pid)
        corpus.paragraphs.append({"id": pid, "title": title, "text": text})
        corpus.paragraph_sources.append(source)
        added += 1
    corpus.sources[source] = {"records": len(pairs), "added": added}


def dedupe_sessions(sessions: Sequence[Session]) -> tuple[list[Session], int]:
    """Sessions once each: an identical repeat (id, date, turns) is dropped; a different
    session reusing an id gets ``#<n>`` appended. Returns the sessions and the renamed count."""
    by_id: dict[str, list[Session]] = {}
    out: list[Session] = []
    renamed = 0
    for s in sessions:
        variants = by_id.setdefault(s.id, [])
        if any(v.date == s.date and v.turns == s.turns for v in variants):
            continue
        if variants:
            renamed += 1
            s = Session(f"{s.id}#{len(variants) + 1}", s.date, s.turns)
        variants.append(s)
        out.append(s)
    return out, renamed


def session_record(s: Session, source: str) -> Record:
    return {
        "id": s.id,
        "session_id": s.id,
        "date": s.date.isoformat() if s.date else None,
        "turns": [{"speaker": t.speaker, "text": t.text} for t in s.turns],
        "metadata": {"source": source},
    }


def timeqa_pages(path: Path) -> list[Record]:
    """TimeQA pages as documents: the first paragraph is the title, the rest the text.

    ``paras`` and ``questions`` are stored as Python literals in strings in some releases;
    both shapes are read.
    """
    out: list[Record] = []
    seen: set[str] = set()
    for _, record in iter_records(path):
        paras = record["paras"]
        if isinstance(paras, str):
            paras = ast.literal_eval(paras)
        paras = [" ".join(str(p).split()) for p in paras]
        paras = [p for p in paras if p]
        if len(paras) < 2:
            continue
        title, text = paras[0], "\n\n".join(paras[1:])
        doc_id = "timeqa-" + hashlib.sha1(f"{title}\x1f{text}".encode()).hexdigest()[:16]
        if doc_id in seen:
            continue
        seen.add(doc_id)
        out.append({"id": doc_id, "title": title, "text": text, "metadata": {"source": "timeqa"}})
    return out


def small_corpus() -> Corpus:
    corpus = Corpus("small")
    add_paragraphs(
        corpus,
        "musique_train_corpus",
        [(p.title, p.text) for p in load_corpus(MUSIQUE_TRAIN_CORPUS)],
    )
    return corpus


def pooled_corpus() -> Corpus:
    corpus = Corpus("pooled")
    add_paragraphs(
        corpus,
        "musique_train_corpus",
        [(p.title, p.text) for p in load_corpus(MUSIQUE_TRAIN_CORPUS)],
    )
    for source, path in (("musique_dev200", MUSIQUE_DEV), ("hotpot_dev200", HOTPOT_DEV)):
        pairs = [(p.title, p.text) for q in load_questions(path) for p in q.paragraphs]
        add_paragraphs(corpus, source, pairs)
    locomo, _ = load_locomo(LOCOMO)
    sessions = [s for h in locomo for s in h.sessions]
    kept, renamed = dedupe_sessions(sessions)
    corpus.documents += [session_record(s, "locomo") for s in kept]
    corpus.sources["locomo"] = {"records": len(sessions), "added": len(kept), "renamed": renamed}
    lme = load_longmemeval(LONGMEMEVAL)
    sessions = [s for h in lme for s in h.sessions]
    kept, renamed = dedupe_sessions(sessions)
    corpus.documents += [session_record(s, "longmemeval") for s in kept]
    corpus.sources["longmemeval_oracle"] = {
        "records": len(sessions),
        "added": len(kept),
        "renamed": renamed,
    }
    pages = timeqa_pages(TIMEQA)
    corpus.documents += pages
    records = sum(1 for _ in iter_records(TIMEQA))
    corpus.sources["timeqa"] = {"records": records, "added": len(pages)}
    return corpus


def build_corpus(name: str) -> Corpus:
    return small_corpus() if name == "small" else pooled_corpus()


def write_jsonl(records: Sequence[Record], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for rec in records:
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(path)


def corpus_passages(ws: Workspace) -> dict[str, int]:
    """Documents and passages of the whole corpus, by the product's loader and chunker (no
    database), so a partly ingested graph can say what the full one holds."""
    counts = {"documents": 0, "passages": 0}
    tmp = ws.workdir / "count"
    for records, settings in (
        (ws.corpus.paragraphs, ws.settings),
        (ws.corpus.documents, ws.doc_settings),
    ):
        if not records:
            continue
        path = tmp / "records.jsonl"
        write_jsonl(records, path)
        config = ChunkingConfig.from_settings(settings)
        for doc in load_documents([path]):
            if isinstance(doc, Document):
                counts["documents"] += 1
                counts["passages"] += len(chunk_document(doc, config))
    shutil.rmtree(tmp, ignore_errors=True)
    return counts


# --- the private server ---------------------------------------------------------------------


@dataclass
class Workspace:
    """A graph's data directory and the settings for its two chunkings."""

    corpus: Corpus
    workdir: Path
    settings: Settings  # paragraphs: one passage each
    doc_settings: Settings  # conversations and pages: default chunking

    @property
    def paragraph_file(self) -> Path:
        return self.workdir / "paragraphs.jsonl"

    @property
    def document_file(self) -> Path:
        return self.workdir / "documents.jsonl"


def workspace(corpus: Corpus, base: Settings, root: Path = BENCH_DIR) -> Workspace:
    workdir = (root / f"{corpus.name}-{corpus.key()}").resolve()
    settings = eval_settings(base, workdir, ExtractorKind.SPACY)
    doc_settings = settings.model_copy(update={"chunk_max_chars": base.chunk_max_chars})
    return Workspace(corpus, workdir, settings, doc_settings)


@contextlib.contextmanager
def running(ws: Workspace) -> Iterator[tuple[Any, int | None, float]]:
    """A started server and a driver on it; stopped on exit (also on errors)."""
    server = LocalNeo4j(ws.settings, dist_root=JAR_CACHE)
    t0 = time.perf_counter()
    report = server.start()
    started = time.perf_counter() - t0
    log(f"Neo4j pid {report.pid} on {ws.settings.bolt_uri} ({ws.workdir.name}), {started:.1f} s")
    driver = None
    try:
        driver = connect(ws.settings)
        ensure_schema(driver, ws.settings.neo4j_database)
        yield driver, report.pid, started
    finally:
        if driver is not None:
            driver.close()
        stop = server.stop()
        log(f"Neo4j {stop.outcome} in {stop.elapsed_s:.1f} s")


# --- ingest ---------------------------------------------------------------------------------


class ProgressLog:
    """Logs stage progress every ``every`` seconds with the running rate."""

    def __init__(self, total_passages: int | None = None, every: float = 30.0) -> None:
        self.every = every
        self.total = total_passages
        self.counts: dict[str, int] = {}
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, stage: str, n: int) -> None:
        self.counts[stage] = self.counts.get(stage, 0) + n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            done = self.counts[stage]
            rate = done / max(now - self.t0, 1e-9)
            log(f"  {stage}: {done} in {now - self.t0:.0f} s ({rate:.1f}/s)")


def estimated_passages(record: Record, chunk_chars: int) -> int:
    """Rough passage count of a record under ``chunk_chars`` (only used to size slices)."""
    text = record.get("text") or "\n".join(t["text"] for t in record.get("turns", []))
    return max(1, -(-len(text) // chunk_chars))


def slices(corpus: Corpus, per_slice: int, chunk_chars: int) -> list[tuple[list[Record], ...]]:
    """The corpus cut into slices of about ``per_slice`` passages, each an equal share of every
    source (records keep their order within a source), as ``(paragraphs, documents)``.

    Ingesting slice after slice, every stage each time, leaves a complete graph after every
    slice, so an ingest stopped early is a smaller sample of the same mixture.
    """
    groups: dict[tuple[int, str], list[Record]] = {}
    total = 0
    for rec, source in zip(corpus.paragraphs, corpus.paragraph_sources, strict=True):
        groups.setdefault((0, source), []).append(rec)
        total += 1
    for rec in corpus.documents:
        groups.setdefault((1, str(rec["metadata"]["source"])), []).append(rec)
        total += estimated_passages(rec, chunk_chars)
    n = max(1, -(-total // per_slice))
    out: list[tuple[list[Record], ...]] = [([], []) for _ in range(n)]
    for (kind, _), records in groups.items():
        for i in range(n):
            out[i][kind].extend(records[i * len(records) // n : (i + 1) * len(records) // n])
    return out


def ingest(
    ws: Workspace, driver: Any, *, per_slice: int, until: float | None = None
) -> dict[str, Any]:
    """Every stage, slice after slice (see :func:`slices`); progress and the seconds of every
    attempt are kept in ``<workdir>/ingest.json``, so a resumed ingest skips finished slices
    and reports its whole cost. No new slice is started after the wall-clock time ``until``."""
    state_file = ws.workdir / "ingest.json"
    state: dict[str, Any] = {"attempts": [], "slices_done": []}
    if state_file.exists():
        state = json.loads(state_file.read_text())
    parts = slices(ws.corpus, per_slice, ws.doc_settings.chunk_max_chars)
    state["slices_total"] = len(parts)
    engine = extractor_from_settings(ws.settings)
    embedder = embedder_from_settings(ws.settings)
    store = VectorStore.open(ws.settings.vector_dir)
    attempt: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": list(os.getloadavg()),
        "slices": {},
    }
    state["attempts"].append(attempt)
    t_all = time.perf_counter()

    def checkpoint() -> None:
        attempt["seconds"] = time.perf_counter() - t_all
        state["seconds_total"] = sum(a.get("seconds", 0.0) for a in state["attempts"])
        state_file.write_text(json.dumps(state, indent=2) + "\n")

    last_slice_s = 0.0  # a slice not expected to finish by ``until`` is not started
    for i, (paragraphs, documents) in enumerate(parts):
        if i in state["slices_done"]:
            continue
        if until is not None and time.time() + last_slice_s >= until:
            log(f"deadline: {len(state['slices_done'])}/{len(parts)} slices ingested, stopping")
            break
        t0 = time.perf_counter()
        times = stages.StageTimes()
        para_file = ws.workdir / "slices" / f"{i:03d}-paragraphs.jsonl"
        doc_file = ws.workdir / "slices" / f"{i:03d}-documents.jsonl"
        write_jsonl(paragraphs, para_file)
        write_jsonl(documents, doc_file)
        docs = stages.DocumentStageResult()
        if paragraphs:
            docs = stages.write_document_stage(driver, ws.settings, [para_file], times=times)
        more = stages.DocumentStageResult()
        if documents:
            more = stages.write_document_stage(driver, ws.doc_settings, [doc_file], times=times)
        log(
            f"slice {i + 1}/{len(parts)}: {len(paragraphs)} paragraphs + {len(documents)} "
            f"documents -> {docs.passages + more.passages} passages; extracting ..."
        )
        extraction = stages.extract_stage(
            driver, ws.settings, engine, progress=ProgressLog(every=120), times=times
        )
        log(f"  extracted {asdict(extraction)}; embedding ...")
        vectors = stages.vector_stage(driver, ws.settings, embedder, store, times=times)
        synonyms = stages.synonym_stage(driver, ws.settings, store, times=times)
        attempt["slices"][i] = {
            "passages": docs.passages + more.passages,
            "errors": [str(e) for e in (*docs.errors, *more.errors)][:20],
            "extraction": asdict(extraction),
            "vectors_added": vectors.added,
            "synonym_edges": synonyms,
            "seconds": time.perf_counter() - t0,
            "stage_times": asdict(times),
        }
        state["slices_done"].append(i)
        last_slice_s = time.perf_counter() - t0
        checkpoint()
        log(f"  slice {i + 1} done in {time.perf_counter() - t0:.0f} s; vectors {vectors.total}")
    state["complete"] = len(state["slices_done"]) == len(parts)
    checkpoint()
    return state


def stage_totals(state: dict[str, Any]) -> dict[str, float]:
    """Seconds per ingest stage summed over every slice of every attempt."""
    totals: dict[str, float] = {}
    for attempt in state["attempts"]:
        parts = [sl["stage_times"] for sl in attempt.get("slices", {}).values()]
        for times in parts or [attempt.get("stage_times", {})]:  # one-pass ingest: no slices
            for k, v in times.items():
                totals[k] = totals.get(k, 0.0) + v
    return {k: round(v, 1) for k, v in totals.items()}


# --- queries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    source: str
    id: str
    text: str


def sample_questions(graph: str, n: int | None, seed: int = SEED) -> list[Question]:
    """The graph's fixed question sample: seeded, an equal share per source, in mixed order.

    small: the MuSiQue training questions (the corpus's own). pooled: MuSiQue train, MuSiQue
    dev, HotpotQA dev, LoCoMo and LongMemEval (all questions, without their ``as_of``).
    """
    pools: dict[str, list[Question]] = {
        "musique_train": [
            Question("musique_train", q.id, q.question) for q in load_questions(MUSIQUE_TRAIN)
        ]
    }
    if graph == "pooled":
        pools["musique_dev200"] = [
            Question("musique_dev200", q.id, q.question) for q in load_questions(MUSIQUE_DEV)
        ]
        pools["hotpot_dev200"] = [
            Question("hotpot_dev200", q.id, q.question) for q in load_questions(HOTPOT_DEV)
        ]
        locomo, _ = load_locomo(LOCOMO)
        pools["locomo"] = [
            Question("locomo", q.id, q.question) for h in locomo for q in h.questions
        ]
        pools["longmemeval_oracle"] = [
            Question("longmemeval_oracle", q.id, q.question)
            for h in load_longmemeval(LONGMEMEVAL)
            for q in h.questions
        ]
    return stratified_sample(pools, n if n is not None else DEFAULT_QUESTIONS[graph], seed)


DEFAULT_QUESTIONS = {"small": 100, "pooled": 100}


def stratified_sample(pools: dict[str, list[Question]], n: int, seed: int = SEED) -> list[Question]:
    """``n`` questions, as equal a share of every pool as they allow, shuffled with ``seed``."""
    rng = random.Random(seed)
    names = sorted(pools)
    shuffled = {name: rng.sample(pools[name], len(pools[name])) for name in names}
    taken: list[Question] = []
    while len(taken) < n and any(shuffled.values()):
        for name in names:
            if shuffled[name] and len(taken) < n:
                taken.append(shuffled[name].pop())
    rng.shuffle(taken)
    return taken


def summarise(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95 (linear interpolation between order statistics), mean and max."""
    if not values:
        return {"n": 0}
    arr = np.asarray(values, dtype=np.float64)
    return {
        "n": int(arr.size),
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "mean": round(float(arr.mean()), 3),
        "max": round(float(arr.max()), 3),
    }


def overlap_at(a: Sequence[str], b: Sequence[str], k: int = TOP_K) -> float:
    """Share of the larger of the two top-``k`` lists found in both (1.0 for two empty lists)."""
    top_a, top_b = set(a[:k]), set(b[:k])
    size = max(len(top_a), len(top_b))
    return len(top_a & top_b) / size if size else 1.0


@dataclass(frozen=True)
class Variant:
    """A measured configuration: a preset, optionally with the exact PPR solver."""

    label: str
    config: Any  # Preset or RetrievalConfig
    push_twin: str | None = None  # the push variant to compare the top-k with


def variants() -> list[Variant]:
    out = [Variant(str(p), p) for p in MEASURED_PRESETS]
    for p in MEASURED_PRESETS:
        if p != Preset.DENSE:
            cfg = preset_config(p).model_copy(update={"ppr_method": PPRMethod.EXACT})
            out.append(Variant(f"{p}@exact", cfg, push_twin=str(p)))
    return out


class PPRTimer:
    """Times every PPR solve the reranker makes (wraps the function where it is called)."""

    def __init__(self) -> None:
        self.ms = 0.0
        self.cpu_ms = 0.0
        self.calls = 0
        self._original: Callable[..., Any] | None = None

    def reset(self) -> None:
        self.ms, self.cpu_ms, self.calls = 0.0, 0.0, 0

    def __enter__(self) -> PPRTimer:
        self._original = rerank.personalized_pagerank
        original = self._original

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.ms += (time.perf_counter() - t0) * 1000.0
                self.cpu_ms += (time.thread_time() - c0) * 1000.0
                self.calls += 1

        rerank.personalized_pagerank = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        rerank.personalized_pagerank = self._original  # type: ignore[assignment]


def rss_mib() -> float:
    return (proc_status_kib(os.getpid(), "VmRSS") or 0) / 1024


def hwm_mib() -> float:
    return (proc_status_kib(os.getpid(), "VmHWM") or 0) / 1024


def projection_stats(graph: LoadedGraph) -> dict[str, Any]:
    snap = graph.projection.snapshot()
    arrays = {
        "indptr": snap.indptr.nbytes,
        "indices": snap.indices.nbytes,
        "weights": snap.weights.nbytes,
        "degree": snap.degree.nbytes,
        "node_kinds": snap.node_kinds.nbytes,
    }
    kinds = np.bincount(snap.node_kinds, minlength=len(NODE_KIND_CODES))
    return {
        "nodes": snap.num_nodes,
        "nodes_by_kind": {str(k): int(kinds[i]) for i, k in enumerate(NODE_KIND_CODES)},
        "edges": snap.num_edges,
        "csr_entries": snap.nnz,
        "csr_bytes": arrays,
        "csr_bytes_total": sum(arrays.values()),
        "passages_loaded": len(graph.passages),
        "entities_loaded": len(graph.entities),
        "facts_loaded": len(graph.facts),
    }


def relationship_counts(driver: Any, database: str) -> dict[str, int]:
    records, _, _ = driver.execute_query(
        "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type",
        database_=database,
    )
    return {r["type"]: r["n"] for r in records}


def graph_size(driver: Any, database: str) -> dict[str, Any]:
    counts = GraphReader(driver, database).counts().as_dict()
    rels = relationship_counts(driver, database)
    return {**counts, "relationships": sum(rels.values()), "relationships_by_type": rels}


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def measure(
    ws: Workspace, driver: Any, jvm: int | None, questions: Sequence[Question]
) -> dict[str, Any]:
    """Warm-up, then every variant on every question in rounds; timings and memory."""
    settings = ws.settings
    db = settings.neo4j_database
    out: dict[str, Any] = {"graph_size": graph_size(driver, db)}
    rss_before = rss_mib()
    t0 = time.perf_counter()
    loaded = load_graph(driver, db)
    out["projection_load_s"] = round(time.perf_counter() - t0, 3)
    out["projection"] = projection_stats(loaded)
    rss_loaded = rss_mib()
    del loaded
    gc.collect()
    log(
        f"projection: {out['projection']['nodes']} nodes, {out['projection']['edges']} edges, "
        f"loaded in {out['projection_load_s']:.1f} s"
    )

    # No embedding cache: every query is embedded, as a new question would be.
    embedder = embedder_from_settings(settings, use_cache=False)
    store = VectorStore.open(settings.vector_dir)
    retriever = Retriever.from_settings(settings, driver=driver, store=store, embedder=embedder)
    todo = variants()
    warm: dict[str, Any] = {}
    with PPRTimer() as ppr:
        for i, v in enumerate(todo):  # first query of each variant: loads, compiles, builds
            t0 = time.perf_counter()
            result = retriever.retrieve(questions[0].text, top_k=TOP_K, config=v.config)
            warm[v.label] = {
                "wall_ms": round((time.perf_counter() - t0) * 1000, 1),
                "timings_ms": result.timings_ms,
            }
            if i == 0:
                warm["first_query_rss_mib"] = round(rss_mib(), 1)
        for q in questions[1:4]:  # a few more, untimed
            for v in todo:
                retriever.retrieve(q.text, top_k=TOP_K, config=v.config)
        rss_warm = rss_mib()
        log(f"warm-up done; {len(questions)} questions x {len(todo)} variants ...")

        rows: dict[str, list[dict[str, float]]] = {v.label: [] for v in todo}
        tops: dict[str, list[list[str]]] = {v.label: [] for v in todo}
        fallbacks = {v.label: 0 for v in todo}
        t_all = time.perf_counter()
        for n, q in enumerate(questions):
            shift = n % len(todo)  # rotate the order so no variant always runs first
            for v in todo[shift:] + todo[:shift]:
                ppr.reset()
                t0, c0 = time.perf_counter(), time.process_time()
                result = retriever.retrieve(q.text, top_k=TOP_K, config=v.config)
                row = dict(result.timings_ms)
                row["wall"] = (time.perf_counter() - t0) * 1000.0
                row["process_cpu"] = (time.process_time() - c0) * 1000.0
                if v.label != str(Preset.DENSE):
                    row["ppr_solve"] = ppr.ms
                    row["ppr_solve_cpu"] = ppr.cpu_ms
                    row["ppr_calls"] = ppr.calls
                    if "ppr_rerank" in row:
                        row["rerank_without_ppr"] = row["ppr_rerank"] - ppr.ms
                rows[v.label].append(row)
                tops[v.label].append([p.id for p in result.passages])
                if result.reason is not None:
                    fallbacks[v.label] += 1
            if (n + 1) % 25 == 0:
                log(f"  {n + 1}/{len(questions)} questions, {time.perf_counter() - t_all:.0f} s")
    stats: dict[str, Any] = {}
    for v in todo:
        keys = sorted({k for r in rows[v.label] for k in r})
        entry: dict[str, Any] = {
            "stages_ms": {k: summarise([r[k] for r in rows[v.label] if k in r]) for k in keys},
            "fallbacks": fallbacks[v.label],
        }
        if v.push_twin is not None:
            pairs = zip(tops[v.push_twin], tops[v.label], strict=True)
            overlaps = [overlap_at(a, b) for a, b in pairs]
            entry[f"top{TOP_K}_overlap_with_push"] = {
                "mean": round(statistics.fmean(overlaps), 4),
                "min": round(min(overlaps), 4),
                "identical_share": round(sum(o == 1.0 for o in overlaps) / len(overlaps), 4),
            }
        stats[v.label] = entry
    out["warm_up"] = warm
    out["variants"] = stats
    out["questions"] = {
        "n": len(questions),
        "by_source": dict(sorted(Counter(q.source for q in questions).items())),
        "top_k": TOP_K,
        "seed": SEED,
    }
    out["memory"] = {
        "python_rss_before_load_mib": round(rss_before, 1),
        "python_rss_projection_loaded_mib": round(rss_loaded, 1),
        "python_rss_after_warm_up_mib": round(rss_warm, 1),
        "python_rss_end_mib": round(rss_mib(), 1),
        "python_peak_rss_mib": round(hwm_mib(), 1),
        "projection_csr_bytes": out["projection"]["csr_bytes_total"],
        "faiss_bytes": file_bytes(settings.vector_dir),
        "faiss_vectors": {
            name: len(store.collection(name))
            for name in ("passage", "entity", "fact")
            if name in store
        },
        "neo4j_store_bytes": file_bytes(settings.neo4j_home / "data"),
        "neo4j_jvm_rss_mib": round((proc_status_kib(jvm, "VmRSS") or 0) / 1024, 1) if jvm else None,
        "neo4j_jvm_peak_rss_mib": round((proc_status_kib(jvm, "VmHWM") or 0) / 1024, 1)
        if jvm
        else None,
        "neo4j_heap": settings.neo4j_heap,
        "neo4j_pagecache": settings.neo4j_pagecache,
    }
    return out


# --- consolidation (issue #5) ----------------------------------------------------------------


def consolidate_copy(ws: Workspace, base: Settings, *, keep: bool = False) -> dict[str, Any]:
    """Consolidate a copy of the (stopped) graph's data directory; the cached one is untouched."""
    copy_dir = ws.workdir.with_name(ws.workdir.name + "-consolidated")
    shutil.rmtree(copy_dir, ignore_errors=True)
    t0 = time.perf_counter()
    shutil.copytree(ws.workdir, copy_dir, ignore=shutil.ignore_patterns("*.pid", "*.lock"))
    copy_s = time.perf_counter() - t0
    settings = eval_settings(base, copy_dir, ExtractorKind.SPACY)
    copy_ws = Workspace(ws.corpus, copy_dir, settings, settings)
    try:
        with running(copy_ws) as (driver, _, _):
            db = settings.neo4j_database
            before = graph_size(driver, db)
            store = VectorStore.open(settings.vector_dir)
            log("consolidating the copy ...")
            t0 = time.perf_counter()
            report = consolidate(driver, settings, store=store)
            wall = time.perf_counter() - t0
            after = graph_size(driver, db)
            archived, _, _ = driver.execute_query(
                "CALL () { MATCH (f:Fact {archived: true}) RETURN count(f) AS facts } "
                "CALL () { MATCH (p:Passage {archived: true}) RETURN count(p) AS passages } "
                "RETURN facts, passages",
                database_=db,
            )
    finally:
        if not keep:
            shutil.rmtree(copy_dir, ignore_errors=True)
    log(f"consolidation: {wall:.1f} s, {report.as_dict()}")
    return {
        "graph": copy_ws.workdir.name,
        "now": "wall-clock time of the run (as hippograph consolidate)",
        "options": "defaults (ConsolidationOptions())",
        "copy_seconds": round(copy_s, 1),
        "wall_seconds": round(wall, 2),
        "report": report.as_dict(),
        "before": before,
        "after": after,
        "archived_after": dict(archived[0]),
    }


# --- reporting ------------------------------------------------------------------------------

TABLE_STAGES = ("embed", "seeding", "ppr_solve", "rerank_without_ppr", "facts_timeline", "total")
SCALE_TARGET = 50_000


def print_table(name: str, g: dict[str, Any]) -> None:
    m = g["measurement"]
    size, proj, mem = m["graph_size"], m["projection"], m["memory"]
    print(
        f"\n== {name}: {size['documents']} documents, {size['passages']} passages, "
        f"{size['entities']} entities, {size['facts']} facts; projection {proj['nodes']} nodes, "
        f"{proj['edges']} edges; {m['questions']['n']} questions"
    )
    print("ms p50 / p95 per stage (ppr_solve: the PPR calls; rerank_without_ppr: the rest)")
    print(f"{'variant':<27}" + "".join(f"{s[:18]:>20}" for s in TABLE_STAGES))
    for label, v in m["variants"].items():
        cells = []
        for stage in TABLE_STAGES:
            st = v["stages_ms"].get(stage)
            cells.append(f"{st['p50']:.1f} / {st['p95']:.1f}" if st else "-")
        print(f"{label:<27}" + "".join(f"{c:>20}" for c in cells))
    for label, v in m["variants"].items():
        if "top10_overlap_with_push" in v:
            o = v["top10_overlap_with_push"]
            print(
                f"top-10 overlap {label} vs push: mean {o['mean']:.3f}, min {o['min']:.2f}, "
                f"identical {o['identical_share']:.0%}"
            )
    print(
        f"projection load {m['projection_load_s']:.1f} s; RSS: loaded "
        f"{mem['python_rss_projection_loaded_mib']:.0f} MiB, warm "
        f"{mem['python_rss_after_warm_up_mib']:.0f}, end {mem['python_rss_end_mib']:.0f}, peak "
        f"{mem['python_peak_rss_mib']:.0f}; CSR {mem['projection_csr_bytes'] / 2**20:.1f} MiB, "
        f"FAISS {mem['faiss_bytes'] / 2**20:.1f} MiB, Neo4j store "
        f"{mem['neo4j_store_bytes'] / 2**20:.0f} MiB, JVM RSS {mem['neo4j_jvm_rss_mib']} MiB"
    )


def save(update: dict[str, Any], out: Path) -> None:
    """Merge ``update`` into ``out``: graphs measured now replace their entries, others stay."""
    data: dict[str, Any] = {"graphs": {}}
    if out.exists():
        with contextlib.suppress(ValueError):
            loaded = json.loads(out.read_text())
            if isinstance(loaded, dict) and isinstance(loaded.get("graphs"), dict):
                data = loaded
    data["graphs"].update(update.pop("graphs"))
    data.update(update)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", choices=[*GRAPHS, "both"], default="both")
    parser.add_argument("--ingest-only", action="store_true", help="build the graph(s) and stop")
    parser.add_argument("--queries", type=int, default=None, help="questions per graph")
    parser.add_argument("--consolidate", action="store_true", help="issue #5, pooled graph copy")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/query_latency.json")
    parser.add_argument("--data-root", type=Path, default=BENCH_DIR)
    parser.add_argument(
        "--slice-passages", type=int, default=2000, help="ingest in slices of ~N passages"
    )
    parser.add_argument("--ingest-until", help="HH:MM: start no slice that would not end by then")
    parser.add_argument("--no-ingest", action="store_true", help="measure what is ingested")
    parser.add_argument("--keep-copy", action="store_true", help="keep the consolidated copy")
    args = parser.parse_args()

    def on_term(signum: int, frame: Any) -> None:  # unwind like Ctrl-C: servers are stopped
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    until = None
    if args.ingest_until:
        hh, mm = (int(x) for x in args.ingest_until.split(":"))
        now = datetime.now()
        until = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    base = Settings()
    load_at_start = os.getloadavg()
    names = GRAPHS if args.graph == "both" else (args.graph,)
    graphs: dict[str, Any] = {}
    consolidation: dict[str, Any] | None = None
    for name in names:
        corpus = build_corpus(name)
        ws = workspace(corpus, base, args.data_root)
        log(
            f"{name}: {len(corpus.paragraphs)} paragraphs + {len(corpus.documents)} documents "
            f"-> {ws.workdir}"
        )
        state_file = ws.workdir / "ingest.json"
        entry: dict[str, Any] = {"data_dir": str(ws.workdir.relative_to(ROOT))}
        with running(ws) as (driver, jvm, server_s):
            state = json.loads(state_file.read_text()) if state_file.exists() else {}
            if not state.get("complete") and not args.no_ingest:
                state = ingest(ws, driver, per_slice=args.slice_passages, until=until)
            if args.ingest_only:
                continue
            size = graph_size(driver, ws.settings.neo4j_database)
            entry.update(
                corpus_sources=corpus.sources,
                paragraph_chunk_max_chars=ws.settings.chunk_max_chars,
                document_chunk_max_chars=ws.doc_settings.chunk_max_chars,
                ingest={
                    "complete": bool(state.get("complete")),
                    "slices_done": len(state["slices_done"]) if "slices_done" in state else None,
                    "slices_total": state.get("slices_total"),
                    "slice_passages": args.slice_passages,
                    "seconds_total": round(state.get("seconds_total", 0.0), 1),
                    "attempts": len(state.get("attempts", [])),
                    "passages_per_s": size["passages"] / state["seconds_total"]
                    if state.get("seconds_total")
                    else None,
                    "stage_seconds": stage_totals(state) if state else {},
                    "load_average_at_start": [
                        a.get("load_average_at_start") for a in state.get("attempts", [])
                    ],
                },
                neo4j_start_s=round(server_s, 1),
            )
            if not state.get("complete"):
                entry["partial_note"] = (
                    f"ingest stopped early: {len(state.get('slices_done', []))} of "
                    f"{state.get('slices_total')} slices (each an equal share of every source); "
                    f"the corpus has {len(corpus.paragraphs)} paragraphs and "
                    f"{len(corpus.documents)} documents"
                )
            full = corpus_passages(ws)
            entry["corpus_when_complete"] = full
            entry["ingested_share_of_passages"] = round(size["passages"] / full["passages"], 4)
            if name == "pooled":
                entry["reaches_50k_passages"] = full["passages"] >= SCALE_TARGET
                if full["passages"] < SCALE_TARGET:
                    entry["scale_note"] = (
                        f"every shared corpus pooled gives {full['passages']} passages "
                        f"({full['documents']} documents), fewer than {SCALE_TARGET}; no "
                        "synthetic text was added. Synthetic PPR scaling to 5M edges: "
                        "benchmarks/results/ppr.json"
                    )
            questions = sample_questions(name, args.queries)
            entry["measurement"] = measure(ws, driver, jvm, questions)
            entry["consolidated"] = False
        entry["machine"] = machine_info(load_at_start)
        graphs[name] = entry
        print_table(name, entry)
        if name == "pooled" and args.consolidate:
            consolidation = consolidate_copy(ws, base, keep=args.keep_copy)
    if args.ingest_only:
        return
    update: dict[str, Any] = {"graphs": graphs}
    if consolidation is not None:
        update["consolidation"] = consolidation
    update["machine"] = machine_info(load_at_start)
    update["config"] = {
        "queries": args.queries,
        "top_k": TOP_K,
        "seed": SEED,
        "presets": [str(p) for p in MEASURED_PRESETS],
        "exact_method": str(PPRMethod.EXACT),
        "eval_chunk_chars": EVAL_CHUNK_CHARS,
    }
    save(update, args.out)


if __name__ == "__main__":
    main()
