"""Vector search on real stored MiniLM embeddings: exact flat search against the IVF index.

For every collection (``entity``, ``fact``, ``passage``) of the benchmark graphs' vector stores,
``data/bench/<graph>/vectors/`` (read only: the two files of a collection are copied to a
temporary directory and checked against their checksum before FAISS reads them, since a running
ingest may be rewriting them; a torn copy is retried), plus ``combined``: the entity and fact
vectors of both graphs pooled and deduplicated, the largest set of real vectors at hand
(different kinds of text, so a stand-in for the pooled graph's size, not its mixture):

- **queries**: 200 stored vectors drawn with a fixed seed and *held out*, i.e. removed from
  both indexes, so every query is a real embedding of the same kind (an entity name, a fact
  statement, a passage) that the index does not contain, as a query mention is not;
- **flat**: the collection as stored (``IndexIDMap2(IndexFlatIP)``) minus the queries;
- **ivf**: a new ``VectorCollection`` whose ``ann_min_vectors`` is the collection's size, filled
  by one ``add()``, so that call pays the conversion (spherical k-means training, then copying
  the vectors into the lists) exactly as an ingest crossing the threshold would; its seconds
  are ``conversion_s``. Collections smaller than the product's threshold
  (``DEFAULT_ANN_MIN_VECTORS``) stay flat in the product; they are converted here anyway, to
  show the trade at that size (``product_uses_ivf`` says which);
- **latency**: FAISS single-threaded (``faiss.omp_set_num_threads(1)``, for conversion too),
  one query vector per ``VectorCollection.search`` call (so the id mapping is included), top
  10, after 20 warm-up queries; p50 / p95 ms over the 200 queries;
- **recall**: of the IVF top 1 / top 10 against the flat top 1 / top 10, and of the hits that
  retrieval's seeding actually keeps (the ``RetrievalConfig`` defaults: entities, top 3 with
  cosine >= 0.75; facts, top 5 with cosine >= 0.45);
- **memory**: the raw size of the vectors; this process's RSS (``VmRSS``) with the flat
  collection loaded and just before the conversion (the flat one plus the copy of its vectors
  handed to ``add``); the peak during the conversion (``VmHWM``, reset just before through
  ``/proc/self/clear_refs``) and how far it rose (the new index, the flat one it starts from
  inside ``add``, the k-means sample, one copy chunk); and the size of each saved index file.

    .venv/bin/python benchmarks/bench_vectors.py
    .venv/bin/python benchmarks/bench_vectors.py --graphs small --out /tmp/vectors.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.vectorstore import (  # noqa: E402
    DEFAULT_ANN_MIN_VECTORS,
    SearchHit,
    VectorCollection,
    VectorStoreError,
)
from retrieval.config import RetrievalConfig  # noqa: E402

GRAPHS = {
    "small": ROOT / "data/bench/small-85af914e7470da34/vectors",
    "pooled": ROOT / "data/bench/pooled-f40c0476a8480aa8/vectors",
}
COLLECTIONS = ("entity", "fact", "passage")
NEVER = 1 << 62  # an ann_min_vectors no collection reaches: the flat baseline stays flat
K = 10
WARM_UP = 20


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def proc_status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    """Make ``VmHWM`` start again from the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def load_copy(source: Path, name: str, workdir: Path, attempts: int = 3) -> VectorCollection:
    """The collection ``name`` of ``source``, read from a private copy of its two files."""
    target = workdir / source.parent.name
    target.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        for suffix in (".ids.json", ".faiss"):
            shutil.copy2(source / f"{name}{suffix}", target / f"{name}{suffix}")
        try:
            return VectorCollection.load(target, name, ann_min_vectors=NEVER)
        except VectorStoreError as e:  # copied while the ingest was saving: try again
            if attempt == attempts:
                raise
            log(f"{source}/{name}: {e}; copying again")
            time.sleep(5)
    raise AssertionError("unreachable")


def hold_out(
    collection: VectorCollection, n_queries: int, seed: int
) -> tuple[list[str], np.ndarray]:
    """Remove ``n_queries`` seeded random ids from ``collection``; their ids and vectors."""
    ids = collection.ids()
    rng = np.random.default_rng(seed)
    picked = [ids[i] for i in sorted(rng.choice(len(ids), size=n_queries, replace=False))]
    vectors = collection.vectors(picked)
    collection.remove(picked)
    return picked, vectors


def timed_searches(
    collection: VectorCollection, queries: np.ndarray
) -> tuple[list[float], list[list[SearchHit]]]:
    """Milliseconds and top-``K`` hits of one ``search`` call per query vector."""
    for row in queries[:WARM_UP]:
        collection.search(row[None, :], K)
    millis, hits = [], []
    for row in queries:
        start = time.perf_counter()
        (found,) = collection.search(row[None, :], K)
        millis.append((time.perf_counter() - start) * 1000.0)
        hits.append(found)
    return millis, hits


def recall_at(approx: list[list[SearchHit]], exact: list[list[SearchHit]], k: int) -> float:
    found = [
        len({key for key, _ in a[:k]} & {key for key, _ in e[:k]}) / len(e[:k])
        for a, e in zip(approx, exact, strict=True)
        if e
    ]
    return float(np.mean(found))


def seeding_recall(
    approx: list[list[SearchHit]], exact: list[list[SearchHit]], top_k: int, min_score: float
) -> dict[str, Any]:
    """Recall of the exact hits seeding keeps (top ``top_k`` at cosine >= ``min_score``)."""
    wanted = [[key for key, score in e[:top_k] if score >= min_score] for e in exact]
    total = sum(len(w) for w in wanted)
    found = sum(
        len(set(w) & {key for key, _ in a[:top_k]}) for w, a in zip(wanted, approx, strict=True)
    )
    return {
        "top_k": top_k,
        "min_cosine": min_score,
        "hits": total,
        "recall": found / total if total else None,
    }


def index_file_mib(collection: VectorCollection, workdir: Path) -> float:
    folder = Path(tempfile.mkdtemp(dir=workdir))
    collection.save(folder)
    size = (folder / f"{collection.name}.faiss").stat().st_size / 2**20
    shutil.rmtree(folder)
    return size


def percentiles(millis: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(millis, 50)), 3),
        "p95": round(float(np.percentile(millis, 95)), 3),
    }


def bench_collection(
    label: str, flat: VectorCollection, n_queries: int, seed: int, workdir: Path
) -> dict[str, Any]:
    stored = len(flat)
    query_ids, queries = hold_out(flat, n_queries, seed)
    rss_flat = proc_status_mib("VmRSS")
    flat_ms, flat_hits = timed_searches(flat, queries)

    ids = flat.ids()
    vectors = flat.vectors(ids)
    ivf = VectorCollection(flat.name, flat.dim, ann_min_vectors=len(ids))
    rss_before = proc_status_mib("VmRSS")
    reset_peak_rss()
    start = time.perf_counter()
    ivf.add(ids, vectors)
    conversion_s = time.perf_counter() - start
    peak = proc_status_mib("VmHWM")
    del vectors
    if not ivf.approximate:
        raise AssertionError(f"{label}: the collection did not convert")
    ivf_ms, ivf_hits = timed_searches(ivf, queries)

    cfg = RetrievalConfig()
    seeding = None
    if flat.name == "entity":
        seeding = seeding_recall(ivf_hits, flat_hits, cfg.entity_top_k, cfg.entity_min_similarity)
    elif flat.name == "fact":
        seeding = seeding_recall(ivf_hits, flat_hits, cfg.fact_top_k, cfg.fact_min_similarity)
    result = {
        "vectors_stored": stored,
        "vectors_indexed": len(ivf),
        "queries_held_out": len(query_ids),
        "product_uses_ivf": stored >= DEFAULT_ANN_MIN_VECTORS,
        "nlist": ivf.nlist,
        "nprobe": ivf.nprobe,
        "flat_ms": percentiles(flat_ms),
        "ivf_ms": percentiles(ivf_ms),
        "speedup_p50": round(float(np.median(flat_ms) / np.median(ivf_ms)), 1),
        "recall_at_1": recall_at(ivf_hits, flat_hits, 1),
        "recall_at_10": recall_at(ivf_hits, flat_hits, K),
        "seeding_recall": seeding,
        "conversion_s": round(conversion_s, 2),
        "memory_mib": {
            "vectors": round(len(ivf) * ivf.dim * 4 / 2**20, 1),
            "rss_flat_loaded": round(rss_flat, 1),
            "rss_before_conversion": round(rss_before, 1),
            "rss_peak_during_conversion": round(peak, 1),
            "conversion_peak_above_before": round(peak - rss_before, 1),
        },
        "index_file_mib": {
            "flat": round(index_file_mib(flat, workdir), 1),
            "ivf": round(index_file_mib(ivf, workdir), 1),
        },
    }
    log(
        f"{label:<16} n={len(ivf):>7,} nlist={ivf.nlist:>5} nprobe={ivf.nprobe:>3}  "
        f"flat {result['flat_ms']['p50']:7.2f}/{result['flat_ms']['p95']:7.2f} ms  "
        f"ivf {result['ivf_ms']['p50']:5.2f}/{result['ivf_ms']['p95']:5.2f} ms  "
        f"R@1 {result['recall_at_1']:.3f}  R@10 {result['recall_at_10']:.3f}  "
        f"seeding {_fmt(seeding['recall'] if seeding else None)}  conversion {conversion_s:.1f} s"
    )
    return result


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def combined(collections: list[VectorCollection]) -> VectorCollection:
    """Every vector of ``collections`` in one flat collection, exact duplicates dropped."""
    out = VectorCollection("combined", collections[0].dim, ann_min_vectors=NEVER)
    seen: set[bytes] = set()
    for part, c in enumerate(collections):
        ids = c.ids()
        vectors = c.vectors(ids)
        keep = []
        for row, vector in enumerate(vectors):
            if vector.tobytes() not in seen:
                seen.add(vector.tobytes())
                keep.append(row)
        out.add([f"{part}:{ids[row]}" for row in keep], vectors[keep])
    return out


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", nargs="+", choices=sorted(GRAPHS), default=sorted(GRAPHS))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-combined", action="store_true", help="skip the pooled set")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/vector_search.json")
    args = parser.parse_args()

    faiss.omp_set_num_threads(1)
    load_start = list(os.getloadavg())
    log(f"load average {load_start[0]:.2f}; faiss {faiss.__version__}, single-threaded")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench_vectors_") as tmp:
        workdir = Path(tmp)
        for graph in args.graphs:
            for name in COLLECTIONS:
                flat = load_copy(GRAPHS[graph], name, workdir)
                results[f"{graph}/{name}"] = bench_collection(
                    f"{graph}/{name}", flat, args.queries, args.seed, workdir
                )
                del flat
        if not args.no_combined:
            parts = [
                load_copy(GRAPHS[graph], name, workdir)
                for graph in args.graphs
                for name in ("entity", "fact")
            ]
            pooled = combined(parts)
            del parts
            results["combined/entity+fact"] = bench_collection(
                "combined", pooled, args.queries, args.seed, workdir
            )

    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "faiss": faiss.__version__,
            "faiss_threads": 1,
            "load_average_at_start": load_start,
            "load_average_at_end": list(os.getloadavg()),
            "git_commit": git_commit(),
        },
        "config": {
            "queries": args.queries,
            "seed": args.seed,
            "k": K,
            "warm_up": WARM_UP,
            "default_ann_min_vectors": DEFAULT_ANN_MIN_VECTORS,
            "sources": {g: str(GRAPHS[g].relative_to(ROOT)) for g in args.graphs},
        },
        "collections": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
