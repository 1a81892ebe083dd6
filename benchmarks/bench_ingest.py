"""Ingestion throughput: a JSON corpus through every stage into a private Neo4j and FAISS.

The corpus (a JSON list of ``{title, text}``, by default HippoRAG's 1,890-passage MuSiQue
corpus) is written as JSON Lines into a temporary directory, so the ordinary loader runs. A
private Neo4j is started through :class:`graph.server.LocalNeo4j` (free ports, a temporary data
directory, the repository's jar cache), the schema is created, and the stages of
:mod:`graph.ingest` run one by one with a fresh, empty embedding cache, so the numbers are
cold. For each stage it records wall-clock seconds, CPU seconds of this process and of the
Neo4j JVM, and :class:`graph.ingest.StageTimes`; embedding time is split per kind (passages,
entities, facts) by timing every ``embed_array`` call, with the model's and ONNX Runtime's
share, the texts actually run through the model and the padded token count. A second, warm
run (``ingest()`` over the same input) must add nothing; its time is reported too. Peak
memory: this process's ``ru_maxrss`` and the JVM's ``VmHWM``. The server is stopped at the
end, also when a stage fails.

    .venv/bin/python benchmarks/bench_ingest.py                       # spaCy, full corpus
    .venv/bin/python benchmarks/bench_ingest.py --extractor openie    # HippoRAG's cached OpenIE
    .venv/bin/python benchmarks/bench_ingest.py --limit 200 --out /tmp/ingest.json

Runs share one results file: ``runs.<label>`` (default label: the extractor) is replaced per
run. ``--sweep`` then times alternatives on the same texts (embedding batch size, threads,
ONNX Runtime spinning, length sorting; spaCy ``batch_size`` and ``n_process``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph import ingest as stages  # noqa: E402
from graph.driver import connect, verify  # noqa: E402
from graph.reader import GraphReader  # noqa: E402
from graph.schema import ensure_schema  # noqa: E402
from graph.server import LocalNeo4j, port_is_free  # noqa: E402
from pipelines.embeddings import (  # noqa: E402
    EmbeddingCache,
    MiniLMEmbeddings,
    Vectors,
    default_tokenizer_path,
)
from pipelines.extraction.base import Extractor  # noqa: E402
from pipelines.settings import ExtractorKind, Settings  # noqa: E402
from pipelines.vectorstore import VectorStore  # noqa: E402

BENCHDATA = (ROOT / "../shared/benchdata/multihop/hipporag_legacy").resolve()
DEFAULT_CORPUS = BENCHDATA / "musique_train_corpus.json"
DEFAULT_OPENIE = BENCHDATA / "openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json"
JAR_CACHE = ROOT / "data" / "neo4j" / "dist"
PREFERRED_PORTS = (27687, 27474)  # bolt, http: away from the default and the test fixture's
CLK_TCK = os.sysconf("SC_CLK_TCK")
KINDS = ("passage", "entity", "fact")
PLURAL = {"passage": "passages", "entity": "entities", "fact": "facts"}


# --- measuring ------------------------------------------------------------------------------


def free_port(preferred: int, *, avoid: int | None = None) -> int:
    """``preferred`` if it is free, else a free port chosen by the OS."""
    if preferred != avoid and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def process_cpu_s() -> float:
    """CPU seconds (user + system) of this process and its reaped children (spaCy workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def jvm_cpu_s(pid: int | None) -> float:
    """CPU seconds of process ``pid`` from ``/proc/<pid>/stat`` (0 if unreadable)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` field (``VmHWM``, ``VmRSS``) of ``/proc/<pid>/status``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Span:
    """Wall-clock and CPU seconds of one measured step."""

    wall_s: float = 0.0
    python_cpu_s: float = 0.0
    neo4j_cpu_s: float = 0.0
    python_rss_mib_after: float = 0.0
    python_peak_rss_mib_after: float = 0.0


class Meter:
    """Measures named steps: wall clock, this process's CPU and the Neo4j JVM's CPU."""

    def __init__(self, jvm_pid: int | None) -> None:
        self.jvm_pid = jvm_pid
        self.spans: dict[str, Span] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Span]:
        span = self.spans.setdefault(name, Span())
        w0, p0, j0 = time.perf_counter(), process_cpu_s(), jvm_cpu_s(self.jvm_pid)
        try:
            yield span
        finally:
            span.wall_s += time.perf_counter() - w0
            span.python_cpu_s += process_cpu_s() - p0
            span.neo4j_cpu_s += jvm_cpu_s(self.jvm_pid) - j0
            span.python_rss_mib_after = (proc_status_kib(os.getpid(), "VmRSS") or 0) / 1024
            span.python_peak_rss_mib_after = peak_rss_mib()


@dataclass
class KindStats:
    """What the vector stage embedded for one kind (passage, entity, fact)."""

    calls: int = 0
    texts: int = 0
    distinct_in_calls: int = 0
    embedded: int = 0  # texts the model ran on (not found in the cache)
    seconds: float = 0.0  # inside embed_array: dedupe, cache lookups and writes, model
    cpu_seconds: float = 0.0  # CPU of this process inside embed_array (all threads)
    model_seconds: float = 0.0  # inside _embed_distinct: tokenising and ONNX inference
    onnx_seconds: float = 0.0  # ONNX Runtime alone
    batches: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0


class TimedMiniLM(MiniLMEmbeddings):
    """MiniLM that accounts each call to the kind the vector stage is embedding.

    ``vector_stage`` reports ``progress("embed <kind>s", n)`` right after each
    ``embed_array`` call, so pending calls are attributed to that kind.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kinds: dict[str, KindStats] = {}
        self._pending = KindStats()
        self.texts: dict[str, list[str]] = {}
        self._pending_texts: list[str] = []

    def embed_array(self, texts: Sequence[str]) -> Vectors:
        t0, c0 = time.perf_counter(), time.process_time()
        out = super().embed_array(texts)
        self._pending.cpu_seconds += time.process_time() - c0
        self._pending.calls += 1
        self._pending.texts += len(texts)
        self._pending.distinct_in_calls += len(set(texts))
        self._pending.seconds += time.perf_counter() - t0
        self._pending_texts.extend(texts)
        return out

    def _embed_distinct(self, texts: list[str]) -> Vectors:
        t0 = time.perf_counter()
        out = super()._embed_distinct(texts)
        self._pending.embedded += len(texts)
        self._pending.model_seconds += time.perf_counter() - t0
        return out

    def _run(self, inputs: dict[str, Any]) -> Vectors:
        t0 = time.perf_counter()
        out = super()._run(inputs)
        self._pending.onnx_seconds += time.perf_counter() - t0
        self._pending.batches += 1
        self._pending.padded_tokens += int(inputs["attention_mask"].size)
        self._pending.real_tokens += int(inputs["attention_mask"].sum())
        return out

    def reset(self) -> None:
        """Forget everything measured so far."""
        self.kinds.clear()
        self.texts.clear()
        self._pending = KindStats()
        self._pending_texts = []

    def attribute(self, kind: str) -> None:
        """Book the calls since the last attribution to ``kind``."""
        done = self.kinds.setdefault(kind, KindStats())
        for name in (
            "calls",
            "texts",
            "distinct_in_calls",
            "embedded",
            "seconds",
            "cpu_seconds",
            "model_seconds",
            "onnx_seconds",
            "batches",
            "real_tokens",
            "padded_tokens",
        ):
            setattr(done, name, getattr(done, name) + getattr(self._pending, name))
        self.texts.setdefault(kind, []).extend(self._pending_texts)
        self._pending = KindStats()
        self._pending_texts = []


def embed_progress(embedder: TimedMiniLM) -> Callable[[str, int], None]:
    def progress(stage: str, n: int) -> None:
        if stage.startswith("embed "):
            embedder.attribute(stage.removeprefix("embed ").removesuffix("s"))

    return progress


def text_stats(texts: list[str], max_tokens: int) -> dict[str, Any]:
    """Count, distinct count, characters and MiniLM tokens (truncated) of ``texts``."""
    if not texts:
        return {"texts": 0}
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(default_tokenizer_path()))
    tok.no_padding()
    tok.no_truncation()
    distinct = list(dict.fromkeys(texts))
    lengths = np.array([len(e.ids) for e in tok.encode_batch(distinct)])
    chars = np.array([len(t) for t in distinct])
    return {
        "texts": len(texts),
        "distinct": len(distinct),
        "chars_mean": float(chars.mean()),
        "tokens_mean": float(lengths.mean()),
        "tokens_p50": float(np.percentile(lengths, 50)),
        "tokens_p95": float(np.percentile(lengths, 95)),
        "tokens_max": int(lengths.max()),
        "truncated": int((lengths > max_tokens).sum()),
    }


# --- setting up -----------------------------------------------------------------------------


def write_jsonl(corpus: Path, limit: int | None, target: Path) -> int:
    """The corpus's records as JSON Lines ``{id, title, text}``; returns how many."""
    records = json.loads(corpus.read_text(encoding="utf-8"))
    if not isinstance(records, list):
        raise SystemExit(f"{corpus}: expected a JSON list of {{title, text}} records")
    records = records[:limit] if limit is not None else records
    width = len(str(len(records)))
    with target.open("w", encoding="utf-8") as f:
        for i, rec in enumerate(records):
            row = {"id": f"musique-{i:0{width}d}", "title": rec.get("title"), "text": rec["text"]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(records)


def make_extractor(args: argparse.Namespace, settings: Settings) -> Extractor:
    if args.extractor == ExtractorKind.OPENIE:
        from pipelines.extraction.openie import OpenIEExtractor

        return OpenIEExtractor.from_file(args.openie)
    from pipelines.extraction.spacy_extractor import SpacyExtractor, load_spacy_model

    load_spacy_model(settings.spacy_model)  # load the model outside the timed stage
    return SpacyExtractor(
        settings.spacy_model, batch_size=args.spacy_batch_size, n_process=args.spacy_n_process
    )


def new_embedder(args: argparse.Namespace, settings: Settings) -> TimedMiniLM:
    """MiniLM as configured (settings, then the ``--embed-*`` options), on the run's cache."""
    return TimedMiniLM(
        max_tokens=settings.embedding_max_tokens,
        batch_size=args.embed_batch_size or settings.embedding_batch_size,
        threads=args.embed_threads,
        spin_wait=args.ort_spinning,
        cache=EmbeddingCache(settings.cache_dir / "embeddings.sqlite"),
    )


def make_embedder(args: argparse.Namespace, settings: Settings) -> TimedMiniLM:
    embedder = new_embedder(args, settings)
    cache = embedder.cache
    embedder.cache = None  # load the tokenizer and the ONNX session, leave the cache empty
    embedder.embed_array(["warm-up"])
    embedder.cache = cache
    embedder.reset()
    return embedder


def machine_info(load_at_start: tuple[float, float, float]) -> dict[str, Any]:
    import faiss
    import neo4j
    import onnxruntime

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": list(load_at_start),
        "load_average_at_end": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnxruntime": onnxruntime.__version__,
        "faiss": faiss.__version__,
        "neo4j_driver": neo4j.__version__,
        "platform": platform.platform(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            None,
        ),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with contextlib.suppress(ImportError):
        import spacy

        info["spacy"] = spacy.__version__
    git = ["git", "-C", str(ROOT)]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        info["git_commit"] = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        info["git_dirty_files"] = [line[3:] for line in dirty.splitlines()]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
        info["java"] = out.stderr.splitlines()[0]
    return info


def dir_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# --- the run --------------------------------------------------------------------------------


def cold_run(
    driver: Any,
    settings: Settings,
    paths: list[Path],
    extractor: Extractor,
    embedder: TimedMiniLM,
    meter: Meter,
) -> dict[str, Any]:
    """Every stage once on an empty graph and an empty cache, each measured on its own."""
    times = stages.StageTimes()
    store = VectorStore.open(settings.vector_dir)
    with meter.step("total"):
        with meter.step("documents"):
            docs = stages.write_document_stage(driver, settings, paths, times=times)
        with meter.step("extract"):
            extraction = stages.extract_stage(driver, settings, extractor, times=times)
        with meter.step("vectors"):
            vectors = stages.vector_stage(
                driver, settings, embedder, store, progress=embed_progress(embedder), times=times
            )
        with meter.step("synonyms"):
            synonyms = stages.synonym_stage(driver, settings, store, times=times)
    if docs.errors:
        print(f"warning: {len(docs.errors)} input errors, first: {docs.errors[0]}")
    return {
        "documents": asdict(docs) | {"errors": [str(e) for e in docs.errors]},
        "extraction": asdict(extraction),
        "vectors": asdict(vectors),
        "synonym_edges": synonyms,
        "stage_times": asdict(times),
    }


def warm_run(
    driver: Any,
    settings: Settings,
    paths: list[Path],
    extractor: Extractor,
    embedder: TimedMiniLM,
    meter: Meter,
) -> dict[str, Any]:
    """``ingest()`` again over the same input, as a new process would (store reopened)."""
    store = VectorStore.open(settings.vector_dir)
    with meter.step("warm"):
        summary = stages.ingest(
            driver, settings, paths, extractor=extractor, embedder=embedder, store=store
        )
    added = (
        summary.documents.documents
        + summary.extraction.passages
        + sum(summary.vectors.added.values())
        + summary.synonym_edges
    )
    return {
        "seconds": summary.seconds,
        "documents_unchanged": summary.documents.unchanged,
        "documents_written": summary.documents.documents,
        "passages_extracted": summary.extraction.passages,
        "vectors_added": summary.vectors.added,
        "synonym_edges": summary.synonym_edges,
        "added_nothing": added == 0,
        "stage_times": asdict(summary.times),
    }


def breakdown(
    cold: dict[str, Any], meter: Meter, embedder: TimedMiniLM, passages: int, records: int
) -> dict[str, Any]:
    """Seconds per step; the residuals are what the stage did besides its timed parts."""
    st = cold["stage_times"]
    sp = meter.spans
    embed_total = sum(k.seconds for k in embedder.kinds.values())
    rows: dict[str, float] = {
        "load + chunk": st["load"],
        "write documents": st["write_documents"],
        "extract": st["extract"],
        "write facts": st["write_facts"],
        "read pending passages": sp["extract"].wall_s - st["extract"] - st["write_facts"],
    }
    for kind in KINDS:
        if kind in embedder.kinds:
            rows[f"embed {PLURAL[kind]}"] = embedder.kinds[kind].seconds
    rows["vector reads + FAISS add/save"] = sp["vectors"].wall_s - embed_total
    rows["synonyms"] = st["synonyms"]
    rows["other"] = sp["total"].wall_s - sum(rows.values())
    total = sp["total"].wall_s
    return {
        "seconds": rows,
        "share": {k: v / total for k, v in rows.items()},
        "passages_per_s": {
            "end_to_end": passages / total,
            "end_to_end (corpus records)": records / total,
            "extract": passages / st["extract"] if st["extract"] else None,
            "write (documents + facts)": passages / (st["write_documents"] + st["write_facts"]),
            "embed (all kinds)": passages / embed_total if embed_total else None,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_at_start = os.getloadavg()
    keep = args.keep_server
    work = Path(tempfile.mkdtemp(prefix="hippograph-bench-"))
    bolt = free_port(PREFERRED_PORTS[0])
    http = free_port(PREFERRED_PORTS[1], avoid=bolt)
    settings = Settings(
        data_dir=work / "data",
        neo4j_bolt_port=bolt,
        neo4j_http_port=http,
        extractor=args.extractor,
    )
    if settings.uses_external_neo4j:
        shutil.rmtree(work, ignore_errors=True)
        raise SystemExit("NEO4J_URI is set: this benchmark starts (and fills) its own server")
    launcher = LocalNeo4j(settings, dist_root=JAR_CACHE)
    driver = None
    result: dict[str, Any] = {}
    try:
        corpus_path = work / "corpus.jsonl"
        records = write_jsonl(args.corpus, args.limit, corpus_path)
        print(f"{records} records from {args.corpus} -> {corpus_path}")
        t0 = time.perf_counter()
        report = launcher.start()
        jvm = report.pid
        server_s = time.perf_counter() - t0
        driver = connect(settings)
        verify(driver)
        t0 = time.perf_counter()
        ensure_schema(driver, settings.neo4j_database)
        schema_s = time.perf_counter() - t0
        print(f"Neo4j pid {jvm} on {settings.bolt_uri}: started in {server_s:.1f} s")

        t0 = time.perf_counter()
        extractor = make_extractor(args, settings)
        extractor_load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        embedder = make_embedder(args, settings)
        embedder_load_s = time.perf_counter() - t0
        print(
            f"extractor {extractor.name} ready in {extractor_load_s:.1f} s, embedder "
            f"{embedder_load_s:.1f} s; cold run ...",
            flush=True,
        )

        meter = Meter(jvm)
        rss0 = peak_rss_mib()
        cold = cold_run(driver, settings, [corpus_path], extractor, embedder, meter)
        counts = GraphReader(driver, settings.neo4j_database).counts().as_dict()
        passages = counts["passages"]
        print("warm run ...", flush=True)
        warm = warm_run(
            driver, settings, [corpus_path], extractor, new_embedder(args, settings), meter
        )

        kinds = {}
        for kind, ks in embedder.kinds.items():
            entry = asdict(ks)
            entry["texts_per_s"] = ks.texts / ks.seconds if ks.seconds else None
            entry["embedded_per_s"] = ks.embedded / ks.model_seconds if ks.model_seconds else None
            entry["padding_overhead"] = (
                ks.padded_tokens / ks.real_tokens - 1 if ks.real_tokens else None
            )
            entry["text_stats"] = text_stats(embedder.texts.get(kind, []), embedder.max_tokens)
            kinds[kind] = entry
        all_texts = [t for texts in embedder.texts.values() for t in texts]
        embedded_total = sum(k.embedded for k in embedder.kinds.values())

        jvm_mem = {
            "vm_hwm_mib": (proc_status_kib(jvm, "VmHWM") or 0) / 1024 if jvm else None,
            "vm_rss_mib": (proc_status_kib(jvm, "VmRSS") or 0) / 1024 if jvm else None,
            "heap": settings.neo4j_heap,
            "pagecache": settings.neo4j_pagecache,
        }
        ru_self = peak_rss_mib()
        ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = {
            "extractor": extractor.name,
            "records": records,
            "counts": counts,
            "per_passage": {
                "entities": counts["entities"] / max(passages, 1),
                "facts": counts["facts"] / max(passages, 1),
            },
            "setup_s": {
                "neo4j_start": server_s,
                "schema": schema_s,
                "extractor_load": extractor_load_s,
                "embedder_load": embedder_load_s,
            },
            "cold": cold,
            "breakdown": breakdown(cold, meter, embedder, passages, records),
            "steps": {name: asdict(span) for name, span in meter.spans.items()},
            "embedding": {
                "kinds": kinds,
                "texts_sent": len(all_texts),
                "distinct_texts": len(set(all_texts)),
                "embedded_by_model": embedded_total,
                "each_distinct_string_embedded_once": embedded_total == len(set(all_texts)),
                "batch_size": embedder.batch_size,
                "threads": embedder.threads,
                "ort_spinning": embedder.spin_wait,
                "max_tokens": embedder.max_tokens,
                "cache_entries": len(embedder.cache) if embedder.cache else None,
            },
            "warm": warm,
            "memory": {
                "python_peak_rss_mib": ru_self,
                "python_peak_rss_before_stages_mib": rss0,
                "children_peak_rss_mib": ru_kids,
                "neo4j": jvm_mem,
                "neo4j_store_mib": dir_mib(settings.neo4j_home / "data"),
                "vector_store_mib": dir_mib(settings.vector_dir),
            },
        }
        if args.sweep:
            result["sweep"] = sweep(args, settings, driver, embedder)
        result["machine"] = machine_info(load_at_start)
        return result
    finally:
        if driver is not None:
            driver.close()
        if keep:
            print(
                f"\nNeo4j left running on {settings.bolt_uri} (data {settings.data_dir}, password "
                f"in {settings.neo4j_home / 'password'}). Stop it with:\n"
                f"  HIPPOGRAPH_DATA_DIR={settings.data_dir} .venv/bin/hippograph neo4j stop"
            )
        else:
            stop = launcher.stop()
            print(f"Neo4j {stop.outcome} in {stop.elapsed_s:.1f} s")
            shutil.rmtree(work, ignore_errors=True)


# --- optional micro-benchmarks --------------------------------------------------------------


SWEEP_TEXTS = {"passage": 300, "entity": 3000, "fact": 1500}
SWEEP_PASSAGES = 300
SWEEP_REPEATS = 2


def sweep(
    args: argparse.Namespace,
    settings: Settings,
    driver: Any,
    embedder: TimedMiniLM,
) -> dict[str, Any]:
    """Alternatives timed on this run's texts: no cache, best of ``SWEEP_REPEATS`` rounds.

    Rounds go over every variant in turn, so a burst of load elsewhere hits all of them.
    """
    out: dict[str, Any] = {}
    threads = embedder.threads
    variants: dict[str, dict[str, Any]] = {
        f"batch=32 threads={threads} (current)": {},
        f"batch=16 threads={threads}": {"batch_size": 16},
        f"batch=64 threads={threads}": {"batch_size": 64},
        f"batch=128 threads={threads}": {"batch_size": 128},
        "batch=32 threads=1": {"threads": 1},
        f"batch=32 threads={threads} spin-waiting": {"spin_wait": True},
        f"batch=32 threads={threads} sorted by length": {"sort_all": True},
    }

    def embed_seconds(items: list[str], options: dict[str, Any]) -> float:
        options = dict(options)
        sort_all = options.pop("sort_all", False)
        model = MiniLMEmbeddings(
            max_tokens=settings.embedding_max_tokens,
            batch_size=options.pop("batch_size", settings.embedding_batch_size),
            threads=options.pop("threads", threads),
            **options,
        )
        model.embed_array(["warm-up"])
        if sort_all:  # what vector_stage would send if it ordered missing texts by length
            items = sorted(items, key=len)
        t0 = time.perf_counter()
        for start in range(0, len(items), 512):  # vector_stage's chunk of ids
            model.embed_array(items[start : start + 512])
        return time.perf_counter() - t0

    emb: dict[str, Any] = {}
    for kind, size in SWEEP_TEXTS.items():
        if kind not in embedder.texts:
            continue
        items = list(dict.fromkeys(embedder.texts[kind]))[:size]
        best: dict[str, float] = {}
        for _ in range(SWEEP_REPEATS):
            for label, options in variants.items():
                seconds = embed_seconds(items, options)
                best[label] = min(seconds, best.get(label, float("inf")))
        rows = {label: {"seconds": s, "texts_per_s": len(items) / s} for label, s in best.items()}
        for label, row in rows.items():
            print(f"  sweep embed {kind:<8} {label:<40} {row['texts_per_s']:8.0f} texts/s")
        emb[kind] = {"texts": len(items), "variants": rows}
    out["embedding"] = emb

    if args.extractor == ExtractorKind.SPACY:
        from pipelines.extraction.spacy_extractor import SpacyExtractor
        from pipelines.models import Passage

        records, _, _ = driver.execute_query(
            "MATCH (p:Passage) RETURN p.id AS id, p.document_id AS d, p.text AS text "
            "ORDER BY p.id LIMIT $n",
            n=SWEEP_PASSAGES,
            database_=settings.neo4j_database,
        )
        ps = [
            Passage(
                id=r["id"],
                document_id=r["d"],
                index=0,
                text=r["text"],
                start_char=0,
                end_char=len(r["text"]),
            )
            for r in records
        ]
        best = {}
        for _ in range(SWEEP_REPEATS):
            for batch_size, n_process in ((64, 1), (256, 1), (16, 1), (64, 2), (256, 2)):
                spacy_ex = SpacyExtractor(
                    settings.spacy_model, batch_size=batch_size, n_process=n_process
                )
                t0 = time.perf_counter()
                spacy_ex.extract(ps)
                label = f"batch_size={batch_size} n_process={n_process}"
                best[label] = min(time.perf_counter() - t0, best.get(label, float("inf")))
        rows = {label: {"seconds": s, "passages_per_s": len(ps) / s} for label, s in best.items()}
        for label, row in rows.items():
            print(f"  sweep spaCy {label:<28} {row['passages_per_s']:8.1f} passages/s")
        out["spacy"] = {"passages": len(ps), "variants": rows}
    return out


# --- reporting ------------------------------------------------------------------------------


def print_table(r: dict[str, Any]) -> None:
    c = r["counts"]
    b = r["breakdown"]
    print(f"\n== {r['config']['label']}: {r['extractor']}, {r['records']} records")
    print(
        f"passages {c['passages']}, documents {c['documents']}, entities {c['entities']}, "
        f"facts {c['facts']}, synonym edges {c['synonym_edges']}, relations {c['relations']}"
    )
    total = r["steps"]["total"]["wall_s"]
    print(f"\n{'step':<32}{'seconds':>9}{'share':>8}")
    for name, seconds in b["seconds"].items():
        print(f"{name:<32}{seconds:9.2f}{b['share'][name]:8.1%}")
    print(f"{'end to end':<32}{total:9.2f}")
    print(
        f"\n{'stage':<12}{'wall s':>9}{'python cpu s':>14}{'neo4j cpu s':>13}"
        f"{'rss MiB':>9}{'peak MiB':>10}"
    )
    for name in ("documents", "extract", "vectors", "synonyms", "total", "warm"):
        s = r["steps"][name]
        print(
            f"{name:<12}{s['wall_s']:9.2f}{s['python_cpu_s']:14.2f}{s['neo4j_cpu_s']:13.2f}"
            f"{s['python_rss_mib_after']:9.0f}{s['python_peak_rss_mib_after']:10.0f}"
        )
    print()
    for name, value in b["passages_per_s"].items():
        if value is not None:
            print(f"passages/s {name:<28}{value:9.1f}")
    e = r["embedding"]
    print(
        f"\nembedding: {e['texts_sent']} texts sent, {e['distinct_texts']} distinct, "
        f"{e['embedded_by_model']} run through the model (batch {e['batch_size']}, "
        f"{e['threads']} threads, spinning {e['ort_spinning']})"
    )
    print(
        f"{'kind':<9}{'texts':>7}{'model':>7}{'tok mean':>9}{'p95':>6}{'pad':>7}{'s':>8}"
        f"{'onnx s':>8}{'cpu s':>8}{'texts/s':>9}"
    )
    for kind, k in e["kinds"].items():
        ts = k["text_stats"]
        print(
            f"{kind:<9}{k['texts']:>7}{k['embedded']:>7}{ts.get('tokens_mean', 0):9.1f}"
            f"{ts.get('tokens_p95', 0):6.0f}{(k['padding_overhead'] or 0):7.1%}"
            f"{k['seconds']:8.2f}{k['onnx_seconds']:8.2f}"
            f"{k['cpu_seconds']:8.2f}{(k['texts_per_s'] or 0):9.0f}"
        )
    w = r["warm"]
    print(
        f"\nwarm re-run: {w['seconds']:.2f} s, added nothing: {w['added_nothing']} "
        f"({w['documents_unchanged']} documents unchanged)"
    )
    m = r["memory"]
    print(
        f"peak RSS: python {m['python_peak_rss_mib']:.0f} MiB, Neo4j JVM "
        f"{m['neo4j']['vm_hwm_mib']:.0f} MiB (heap {m['neo4j']['heap']}, page cache "
        f"{m['neo4j']['pagecache']}); store {m['neo4j_store_mib']:.0f} MiB, vectors "
        f"{m['vector_store_mib']:.1f} MiB"
    )
    s = r["setup_s"]
    print(
        f"setup: Neo4j start {s['neo4j_start']:.1f} s, extractor load {s['extractor_load']:.1f} s,"
        f" embedder load {s['embedder_load']:.1f} s"
    )
    print(f"load average at start {r['machine']['load_average_at_start']}")


def save(result: dict[str, Any], out: Path) -> None:
    """Replace this run's entry in ``out`` (other runs' results are kept).

    The entry is named by ``--label``, else by the extractor kind (``spacy``, ``openie``).
    """
    kind = result["config"]["label"]
    data: dict[str, Any] = {"runs": {}}
    if out.exists():
        with contextlib.suppress(ValueError):
            loaded = json.loads(out.read_text())
            if isinstance(loaded, dict) and isinstance(loaded.get("runs"), dict):
                data = loaded
    data["runs"][kind] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"\nwrote {out} (runs.{kind})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="first N records only")
    parser.add_argument(
        "--extractor", type=ExtractorKind, choices=[ExtractorKind.SPACY, ExtractorKind.OPENIE]
    )
    parser.add_argument(
        "--openie", type=Path, default=None, help=f"OpenIE file (default {DEFAULT_OPENIE.name})"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ingest.json")
    parser.add_argument("--keep-server", action="store_true", help="leave Neo4j running")
    parser.add_argument("--spacy-batch-size", type=int, default=64)
    parser.add_argument("--spacy-n-process", type=int, default=1)
    parser.add_argument("--embed-threads", type=int, default=None, help="ONNX threads")
    parser.add_argument("--embed-batch-size", type=int, default=None)
    parser.add_argument(
        "--ort-spinning", action="store_true", help="let idle ONNX threads spin-wait"
    )
    parser.add_argument("--sweep", action="store_true", help="also time alternative settings")
    parser.add_argument("--label", help="name of this run in --out (default: the extractor)")
    args = parser.parse_args()
    if args.extractor is None:
        args.extractor = ExtractorKind.OPENIE if args.openie else ExtractorKind.SPACY
    if args.extractor == ExtractorKind.OPENIE and args.openie is None:
        args.openie = DEFAULT_OPENIE
    args.label = args.label or str(args.extractor)

    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the server is stopped.
    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    result = run(args)
    result["config"] = {k: str(v) for k, v in vars(args).items()}
    print_table(result)
    save(result, args.out)


if __name__ == "__main__":
    main()
