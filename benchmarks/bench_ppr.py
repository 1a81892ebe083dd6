"""Personalized PageRank latency on synthetic heavy-tailed graphs: exact, power and push.

For each ``--edges`` size it builds a Chung-Lu graph with a power-law expected degree sequence
(fixed seed; about a quarter of the nodes are passages), then times queries of ``--seeds``
random seed nodes with every method and reports p50/p95 latency, the work the push did and
the overlap of the push's top 10 with the exact top 10. It also times building the
projection, an incremental update, the igraph view, and the numba compile of the push kernel
(cold, in a fresh cache, and warm).

    .venv/bin/python benchmarks/bench_ppr.py --edges 100000 1000000 \\
        --out benchmarks/results/ppr.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.ppr import PPRResult, personalized_pagerank  # noqa: E402
from graph.projection import (  # noqa: E402
    EdgeKind,
    GraphProjection,
    NodeKind,
    ProjectionSnapshot,
)


def chung_lu_graph(num_edges: int, avg_degree: float, gamma: float, seed: int) -> GraphProjection:
    """A graph whose expected degrees follow a power law with exponent ``gamma``."""
    rng = np.random.default_rng(seed)
    n = max(2, int(2 * num_edges / avg_degree))
    expected = (np.arange(n) + 10.0) ** (-1.0 / (gamma - 1.0))
    cdf = np.cumsum(expected)
    cdf /= cdf[-1]
    src = np.searchsorted(cdf, rng.random(num_edges))
    dst = np.searchsorted(cdf, rng.random(num_edges))
    perm = rng.permutation(n)  # so node position does not track degree
    kinds = np.where(rng.random(n) < 0.25, 1, 0).astype(np.uint8)
    ids = [f"n{i}" for i in range(n)]
    weights = rng.uniform(0.5, 1.5, num_edges)
    return GraphProjection.from_arrays(ids, kinds, perm[src], perm[dst], weights)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_query(
    snap: ProjectionSnapshot, seeds: dict[str, float], **options: Any
) -> tuple[float, PPRResult]:
    """One timed query: (seconds, result)."""
    start = time.perf_counter()
    result = personalized_pagerank(snap, seeds, **options)
    return time.perf_counter() - start, result


def top_ids(result: PPRResult, k: int, kind: NodeKind | None = None) -> set[str]:
    return {node for node, _ in result.top_k(k, kind=kind)}


def jit_times() -> dict[str, float]:
    """First push call in a fresh process: with an empty numba cache, then with a warm one."""
    code = (
        "import time; t0 = time.perf_counter();"
        "from graph.projection import GraphProjection;"
        "from graph.ppr import personalized_pagerank;"
        "p = GraphProjection.from_edges([('a', 'entity'), ('b', 'entity')],"
        " [('a', 'b', 1.0, 'fact')]);"
        "t1 = time.perf_counter(); personalized_pagerank(p, {'a': 1.0});"
        "t2 = time.perf_counter(); personalized_pagerank(p, {'a': 1.0});"
        "t3 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2)"
    )
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            proc = subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            imports, first, second = (float(x) for x in proc.stdout.split())
            out[f"{label}_import_s"] = imports
            out[f"{label}_first_query_s"] = first
            out[f"{label}_second_query_s"] = second
    return out


def bench_size(args: argparse.Namespace, num_edges: int) -> dict[str, Any]:
    build_s, proj = timed(lambda: chung_lu_graph(num_edges, args.avg_degree, args.gamma, args.seed))
    snap = proj.snapshot()
    degree = snap.degree
    print(
        f"\n== {num_edges:,} edges requested: {snap.num_nodes:,} nodes, {snap.num_edges:,} "
        f"edges after merging, max degree {degree.max():.0f}; built in {build_s:.2f} s",
        flush=True,
    )
    rng = np.random.default_rng(args.seed + 1)
    candidates = np.flatnonzero(degree > 0)
    queries = [
        {snap.node_ids[i]: float(rng.uniform(0.5, 1.0)) for i in rng.choice(candidates, args.seeds)}
        for _ in range(args.queries)
    ]

    # Incremental updates: a small batch (1,000 added edges, 100 removed), then a single edge.
    ids = snap.node_ids
    ents = [i for i in candidates[:5000].tolist() if snap.node_kinds[i] == 0]
    queries = [q for q in queries if ids[ents[2]] not in q]  # that node is removed below
    for _ in range(1000):
        u, v = rng.choice(ents, 2)
        proj.add_edge(ids[u], ids[v], 1.0, EdgeKind.SYNONYM)
    src, dst, _ = snap.edge_arrays()
    for j in rng.choice(src.shape[0], 100, replace=False).tolist():
        if proj.has_edge(ids[src[j]], ids[dst[j]]):
            proj.remove_edge(ids[src[j]], ids[dst[j]])
    batch_s, snap = timed(proj.snapshot)
    proj.add_edge(ids[ents[0]], ids[ents[1]], 1.0, EdgeKind.FACT)
    single_s, snap = timed(proj.snapshot)
    proj.remove_node(ids[ents[2]])
    removal_s, snap = timed(proj.snapshot)
    igraph_s, _ = timed(snap.to_igraph)
    print(
        f"snapshot after 1,100 edge updates {batch_s * 1e3:.0f} ms, after 1 edge added "
        f"{single_s * 1e3:.0f} ms, after 1 node removed {removal_s * 1e3:.0f} ms; "
        f"igraph view built in {igraph_s:.2f} s",
        flush=True,
    )

    methods: dict[str, dict[str, Any]] = {}
    exact_results: list[PPRResult] = []
    n_exact = min(args.exact_queries, len(queries))
    lat: list[float] = []
    for seeds in queries[:n_exact]:
        t, res = run_query(snap, seeds, method="exact")
        lat.append(t)
        exact_results.append(res)
    methods["exact"] = {"queries": n_exact, "p50_ms": percentile(lat, 50) * 1e3}
    methods["exact"]["p95_ms"] = percentile(lat, 95) * 1e3

    lat = []
    iters: list[int] = []
    diffs: list[float] = []
    for q, seeds in enumerate(queries[: args.power_queries]):
        t, res = run_query(snap, seeds, method="power")
        lat.append(t)
        iters.append(res.stats.iterations)
        if q < n_exact:
            gap = np.zeros(snap.num_slots)
            gap[exact_results[q].nodes] = exact_results[q].scores
            gap[res.nodes] -= res.scores
            diffs.append(float(np.abs(gap).sum()))
    methods["power"] = {
        "queries": len(lat),
        "p50_ms": percentile(lat, 50) * 1e3,
        "p95_ms": percentile(lat, 95) * 1e3,
        "iterations": statistics.mean(iters),
        "max_l1_vs_exact": max(diffs) if diffs else None,
    }

    for eps in args.epsilon:
        personalized_pagerank(snap, queries[0], epsilon=eps)  # compile or load the kernel
        lat = []
        pushes: list[int] = []
        touched: list[int] = []
        errors: list[float] = []
        overlap: list[float] = []
        passage_overlap: list[float] = []
        for q, seeds in enumerate(queries):
            t, res = run_query(snap, seeds, epsilon=eps)
            lat.append(t)
            pushes.append(res.stats.pushes)
            touched.append(res.stats.touched)
            errors.append(res.stats.error_bound or 0.0)
            if q < n_exact:
                exact = exact_results[q]
                overlap.append(len(top_ids(res, 10) & top_ids(exact, 10)) / 10)
                kind = NodeKind.PASSAGE
                passage_overlap.append(len(top_ids(res, 10, kind) & top_ids(exact, 10, kind)) / 10)
        methods[f"push eps={eps:g}"] = {
            "queries": len(lat),
            "p50_ms": percentile(lat, 50) * 1e3,
            "p95_ms": percentile(lat, 95) * 1e3,
            "pushes_mean": statistics.mean(pushes),
            "touched_mean": statistics.mean(touched),
            "l1_error_mean": statistics.mean(errors),
            "top10_overlap_mean": statistics.mean(overlap),
            "top10_overlap_min": min(overlap),
            "top10_passage_overlap_mean": statistics.mean(passage_overlap),
        }

    for name, m in methods.items():
        extra = ""
        if name.startswith("push"):
            extra = (
                f"  top-10 overlap {m['top10_overlap_mean']:.3f} (min {m['top10_overlap_min']:.1f},"
                f" passages {m['top10_passage_overlap_mean']:.3f}), pushes {m['pushes_mean']:.0f},"
                f" touched {m['touched_mean']:.0f}, L1 err {m['l1_error_mean']:.1e}"
            )
        elif name == "power":
            extra = f"  {m['iterations']:.0f} iterations, L1 vs exact {m['max_l1_vs_exact']:.1e}"
        print(
            f"  {name:<16} p50 {m['p50_ms']:9.3f} ms  p95 {m['p95_ms']:9.3f} ms"
            f"  (n={m['queries']}){extra}",
            flush=True,
        )
    return {
        "edges_requested": num_edges,
        "nodes": snap.num_nodes,
        "edges": snap.num_edges,
        "max_degree": float(degree.max()),
        "build_s": build_s,
        "snapshot_after_1100_updates_ms": batch_s * 1e3,
        "snapshot_after_1_update_ms": single_s * 1e3,
        "snapshot_after_1_node_removed_ms": removal_s * 1e3,
        "igraph_view_s": igraph_s,
        "methods": methods,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100, help="queries for push")
    parser.add_argument("--power-queries", type=int, default=30)
    parser.add_argument("--exact-queries", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3, help="seed nodes per query")
    parser.add_argument("--epsilon", type=float, nargs="+", default=[1e-5, 1e-6, 1e-7])
    parser.add_argument("--avg-degree", type=float, default=10.0)
    parser.add_argument("--gamma", type=float, default=2.5, help="power-law degree exponent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-jit", action="store_true", help="skip the compile-time check")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ppr.json")
    args = parser.parse_args()

    omp = os.environ.get("OMP_NUM_THREADS")
    print(f"load average {os.getloadavg()[0]:.2f}, OMP_NUM_THREADS={omp}")
    jit = {} if args.no_jit else jit_times()
    if jit:
        print(
            f"numba push kernel, first query in a new process: cold cache "
            f"{jit['cold_first_query_s']:.2f} s, warm cache {jit['warm_first_query_s']:.2f} s "
            f"(then {jit['warm_second_query_s'] * 1e3:.2f} ms)"
        )
    sizes = [bench_size(args, m) for m in args.edges]
    import igraph
    import numba

    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "igraph": igraph.__version__,
            # igraph's PRPACK runs OpenMP threads: on a busy 2-core machine they wait on each
            # other, so exact-mode latency depends heavily on this and on the load.
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "load_average_1min_at_end": os.getloadavg()[0],
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "jit": jit,
        "sizes": sizes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
