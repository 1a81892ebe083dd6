"""Personalized PageRank and the graph projection, checked against reference implementations.

References: networkx ``pagerank(personalization=...)`` and a dense numpy power iteration
written out here. Graphs are small and random with fixed seeds.
"""

from __future__ import annotations

import math
import threading

import networkx as nx
import numpy as np
import pytest

from graph import ppr, projection
from graph.errors import GraphError
from graph.ppr import (
    EmptyReason,
    PPRConvergenceError,
    PPRMethod,
    PushWorkspace,
    personalized_pagerank,
)
from graph.projection import EdgeKind, GraphProjection, NodeKind, ProjectionSnapshot

Edge = tuple[str, str, float, str]


# ---- references and graph generators ---------------------------------------------------------


def dense_ppr(
    snap: ProjectionSnapshot, seeds: dict[str, float], damping: float, iters: int = 2000
) -> np.ndarray:
    """Dense power iteration: A[u, v] summed over parallel edges, a loop counted once,
    dangling rows restart at the seeds."""
    n = snap.num_slots
    a = np.zeros((n, n))
    for u, v, w in snap.edges():
        i, j = snap.index_of(u), snap.index_of(v)
        a[i, j] += w
        if i != j:
            a[j, i] += w
    s = np.zeros(n)
    for node, w in seeds.items():
        if node in snap:
            s[snap.index_of(node)] = w
    s /= s.sum()
    deg = a.sum(axis=1)
    walk = np.divide(a, deg[:, None], out=np.zeros_like(a), where=deg[:, None] > 0)
    dangling = deg == 0
    x = s.copy()
    for _ in range(iters):
        x = (1 - damping) * s + damping * (x @ walk + x[dangling].sum() * s)
    return x


def networkx_ppr(
    nodes: list[tuple[str, str]], edges: list[Edge], seeds: dict[str, float], damping: float
) -> dict[str, float]:
    g = nx.Graph()
    g.add_nodes_from(node for node, _ in nodes)
    for u, v, w, _ in edges:  # nx.Graph keeps one edge per pair: sum parallel edges ourselves
        if w > 0:
            prev = g.edges[u, v]["weight"] if g.has_edge(u, v) else 0.0
            g.add_edge(u, v, weight=prev + w)
    return nx.pagerank(
        g, alpha=damping, personalization=seeds, weight="weight", tol=1e-13, max_iter=10_000
    )


def random_graph(
    seed: int,
    n_entities: int = 40,
    n_passages: int = 15,
    n_facts: int = 80,
    loops: bool = False,
) -> tuple[list[tuple[str, str]], list[Edge]]:
    """A HippoRAG-shaped random graph with heavy-tailed entity popularity and parallel edges."""
    rng = np.random.default_rng(seed)
    ents = [f"e{i}" for i in range(n_entities)]
    pas = [f"p{i}" for i in range(n_passages)]
    nodes = [(e, "entity") for e in ents] + [(p, "passage") for p in pas]
    pop = 1.0 / np.arange(1, n_entities + 1)  # Zipf-like entity popularity
    pop /= pop.sum()
    edges: list[Edge] = []
    for _ in range(n_facts):
        u, v = rng.choice(n_entities, size=2, p=pop)
        if u != v or loops:
            edges.append((ents[u], ents[v], float(rng.uniform(0.1, 2.0)), "fact"))
    for p in pas:
        for e in rng.choice(n_entities, size=int(rng.integers(1, 5)), replace=False, p=pop):
            edges.append((p, ents[e], 1.0, "mention"))
    for _ in range(n_entities // 4):
        u, v = rng.choice(n_entities, size=2, replace=False)
        edges.append((ents[u], ents[v], float(rng.uniform(0.5, 1.0)), "synonym"))
    return nodes, edges


def as_vector(result: ppr.PPRResult) -> np.ndarray:
    x = np.zeros(result.snapshot.num_slots)
    x[result.nodes] = result.scores
    return x


SEEDS = {"e0": 1.0, "e7": 0.5, "p3": 0.25}


# ---- the three methods against the references ------------------------------------------------


@pytest.mark.parametrize("graph_seed", [0, 1, 2])
@pytest.mark.parametrize("damping", [0.5, 0.85])
def test_exact_and_power_match_networkx_and_dense(graph_seed: int, damping: float) -> None:
    nodes, edges = random_graph(graph_seed, loops=True)
    snap = GraphProjection.from_edges(nodes, edges).snapshot()
    reference = networkx_ppr(nodes, edges, SEEDS, damping)
    ref = np.array([reference[node] for node in snap.node_ids])
    np.testing.assert_allclose(dense_ppr(snap, SEEDS, damping), ref, atol=1e-10)
    for method in (PPRMethod.EXACT, PPRMethod.POWER):
        result = personalized_pagerank(snap, SEEDS, damping=damping, method=method)
        assert result.method is method
        np.testing.assert_allclose(as_vector(result), ref, atol=1e-9, err_msg=method)
        assert math.isclose(result.scores.sum(), 1.0, abs_tol=1e-9)


@pytest.mark.parametrize("graph_seed", [0, 1, 2])
@pytest.mark.parametrize("epsilon", [1e-3, 1e-5, 1e-8])
def test_push_is_within_its_error_bound(graph_seed: int, epsilon: float) -> None:
    nodes, edges = random_graph(graph_seed, loops=True)
    snap = GraphProjection.from_edges(nodes, edges).snapshot()
    exact = dense_ppr(snap, SEEDS, 0.5)
    result = personalized_pagerank(snap, SEEDS, method="push", epsilon=epsilon)
    approx = as_vector(result)
    gap = exact - approx
    assert gap.min() >= -1e-12  # push approximates from below ...
    assert np.all(gap < epsilon * snap.degree + 1e-12)  # ... within epsilon * d(v)
    # The reported bound is the exact L1 error: the residual mass left.
    assert result.stats.error_bound == pytest.approx(gap.sum(), abs=1e-12)
    assert result.stats.pushes > 0
    assert result.stats.edges_scanned > 0
    assert 0 < result.stats.touched <= snap.num_nodes


def heavy_tailed_projection(seed: int, n: int = 600, m: int = 3000) -> GraphProjection:
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n + 1) ** 0.8
    pop /= pop.sum()
    src, dst = rng.choice(n, size=m, p=pop), rng.choice(n, size=m, p=pop)
    kinds = np.where(rng.random(n) < 0.3, "passage", "entity")
    ids = [f"n{i}" for i in range(n)]
    return GraphProjection.from_arrays(ids, kinds, src, dst, rng.uniform(0.1, 1.0, m))


@pytest.mark.parametrize("graph_seed", [10, 11, 12])
def test_push_top_k_ranking_equals_exact(graph_seed: int) -> None:
    snap = heavy_tailed_projection(graph_seed).snapshot()
    rng = np.random.default_rng(graph_seed)
    for _ in range(3):
        seeds = {f"n{i}": float(rng.uniform(0.5, 1.0)) for i in rng.choice(600, 3)}
        exact = personalized_pagerank(snap, seeds, method="exact")
        push = personalized_pagerank(snap, seeds, method="push", epsilon=1e-8)
        assert [n for n, _ in push.top_k(10)] == [n for n, _ in exact.top_k(10)]
        passages = [n for n, _ in exact.top_k(5, kind=NodeKind.PASSAGE)]
        assert [n for n, _ in push.top_k(5, kind="passage")] == passages
        assert all(snap.kind_of(n) is NodeKind.PASSAGE for n in passages)


def test_push_ranking_is_good_at_the_default_epsilon() -> None:
    snap = heavy_tailed_projection(20, n=3000, m=20_000).snapshot()
    rng = np.random.default_rng(0)
    overlaps = []
    for _ in range(10):
        seeds = {f"n{i}": 1.0 for i in rng.choice(3000, 3)}
        exact = {n for n, _ in personalized_pagerank(snap, seeds, method="exact").top_k(10)}
        push = {n for n, _ in personalized_pagerank(snap, seeds).top_k(10)}
        overlaps.append(len(exact & push) / 10)
    assert np.mean(overlaps) >= 0.98


def test_compiled_and_interpreted_kernels_agree() -> None:
    snap = heavy_tailed_projection(3, n=200, m=800).snapshot()
    seed_nodes = np.array([0, 5, 17], dtype=np.int32)
    seed_mass = np.array([0.5, 0.3, 0.2])
    outputs = []
    for kernel in (ppr._kernels().push, ppr._push_kernel):
        ws = PushWorkspace(snap.num_nodes)
        args = (snap.indptr, snap.indices, snap.weights, snap.degree, seed_nodes, seed_mass)
        out = kernel(*args, 0.5, 1e-6, ws.p, ws.r, ws.state, ws.queue, ws.touched)
        order = np.argsort(out[0])
        outputs.append((out[0][order], out[1][order], *out[2:]))
    (n1, s1, *rest1), (n2, s2, *rest2) = outputs
    np.testing.assert_array_equal(n1, n2)
    np.testing.assert_allclose(s1, s2, rtol=1e-12)
    assert rest1 == pytest.approx(rest2)

    x = np.random.default_rng(0).random(snap.num_nodes)
    y1, y2 = np.empty_like(x), np.empty_like(x)
    ppr._kernels().spmv(snap, x, y1)
    ppr._spmv_numpy(snap, x, y2)
    np.testing.assert_allclose(y1, y2, rtol=1e-12)


# ---- edge cases --------------------------------------------------------------------------------


ALL_METHODS = [m.value for m in PPRMethod]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_self_loops_count_once_like_networkx(method: str) -> None:
    nodes = [("a", "entity"), ("b", "entity"), ("c", "entity")]
    edges: list[Edge] = [
        ("a", "b", 1.0, "fact"),
        ("b", "c", 2.0, "fact"),
        ("c", "c", 3.0, "synonym"),
    ]
    snap = GraphProjection.from_edges(nodes, edges).snapshot()
    assert snap.degree.tolist() == [1.0, 3.0, 5.0]
    assert snap.to_igraph().strength(weights="weight") == [1.0, 3.0, 5.0]
    reference = networkx_ppr(nodes, edges, {"c": 1.0}, 0.5)
    result = personalized_pagerank(snap, {"c": 1.0}, method=method, epsilon=1e-12)
    for node in "abc":
        assert result.score(node) == pytest.approx(reference[node], abs=1e-9)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_isolated_seed_keeps_all_its_mass(method: str) -> None:
    nodes = [("a", "entity"), ("b", "entity"), ("lonely", "entity")]
    proj = GraphProjection.from_edges(nodes, [("a", "b", 1.0, "fact")])
    result = personalized_pagerank(proj, {"lonely": 3.0}, method=method)
    assert result.to_dict() == pytest.approx({"lonely": 1.0})


@pytest.mark.parametrize("method", ALL_METHODS)
def test_dangling_seed_restarts_at_the_seeds(method: str) -> None:
    nodes = [(f"e{i}", "entity") for i in range(5)]
    edges: list[Edge] = [("e0", "e1", 1.0, "fact"), ("e1", "e2", 1.0, "fact")]
    seeds = {"e0": 1.0, "e4": 1.0}  # e4 is isolated: a dangling node
    reference = networkx_ppr(nodes, edges, seeds, 0.5)
    result = personalized_pagerank(
        GraphProjection.from_edges(nodes, edges), seeds, method=method, epsilon=1e-12
    )
    for node, score in reference.items():
        assert result.score(node) == pytest.approx(score, abs=1e-9)
    assert result.score("e4") == pytest.approx(1 / 3)  # s / (1 - damping * m) = 0.5 / 1.5
    assert result.score("e3") == 0.0  # isolated and not a seed: never reached


def test_push_error_bound_holds_with_an_isolated_seed() -> None:
    nodes, edges = random_graph(5)
    proj = GraphProjection.from_edges(nodes, edges)
    proj.add_node("lonely", NodeKind.ENTITY)
    snap = proj.snapshot()
    seeds = {"e0": 1.0, "lonely": 1.0}
    gap = dense_ppr(snap, seeds, 0.5) - as_vector(personalized_pagerank(snap, seeds, epsilon=1e-4))
    assert gap.min() >= -1e-12
    assert np.all(gap < 1e-4 * snap.degree / (1 - 0.5 * 0.5) + 1e-12)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_unknown_seeds_are_ignored_and_recorded(method: str) -> None:
    nodes, edges = random_graph(0)
    snap = GraphProjection.from_edges(nodes, edges).snapshot()
    result = personalized_pagerank(snap, {"e0": 1.0, "nope": 5.0, "gone": 1.0}, method=method)
    assert result.unknown_seeds == ("nope", "gone")
    assert result.empty_reason is None
    alone = personalized_pagerank(snap, {"e0": 1.0}, method=method)
    np.testing.assert_allclose(as_vector(result), as_vector(alone), atol=1e-12)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_no_usable_seed_gives_an_empty_result_with_a_reason(method: str) -> None:
    nodes, edges = random_graph(0)
    proj = GraphProjection.from_edges(nodes, edges)
    cases = [
        ({}, EmptyReason.NO_SEEDS, ()),
        ({"e0": 0.0}, EmptyReason.NO_SEEDS, ()),
        ({"nope": 1.0, "e1": 0.0}, EmptyReason.NO_KNOWN_SEEDS, ("nope",)),
    ]
    for seeds, reason, unknown in cases:
        result = personalized_pagerank(proj, seeds, method=method)
        assert len(result) == 0
        assert result.empty_reason is reason
        assert result.unknown_seeds == unknown
        assert result.top_k(5) == []
        assert result.to_dict() == {}
    empty = personalized_pagerank(GraphProjection(), {"x": 1.0}, method=method)
    assert empty.empty_reason is EmptyReason.NO_KNOWN_SEEDS


def test_seed_weights_are_normalised() -> None:
    snap = GraphProjection.from_edges(*random_graph(1)).snapshot()
    a = personalized_pagerank(snap, {"e0": 1.0, "e3": 3.0}, method="power")
    b = personalized_pagerank(snap, {"e0": 10.0, "e3": 30.0}, method="power")
    np.testing.assert_allclose(as_vector(a), as_vector(b), atol=1e-14)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_bad_seed_weight_raises(bad: float) -> None:
    snap = GraphProjection.from_edges(*random_graph(1)).snapshot()
    with pytest.raises(ValueError, match="seed 'e0'"):
        personalized_pagerank(snap, {"e0": bad})


@pytest.mark.parametrize("damping", [-0.1, 1.0, 1.5])
def test_damping_outside_unit_interval_raises(damping: float) -> None:
    snap = GraphProjection.from_edges(*random_graph(1)).snapshot()
    with pytest.raises(ValueError, match="damping"):
        personalized_pagerank(snap, {"e0": 1.0}, damping=damping)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_zero_damping_returns_the_seed_distribution(method: str) -> None:
    snap = GraphProjection.from_edges(*random_graph(1)).snapshot()
    result = personalized_pagerank(snap, {"e0": 1.0, "e1": 3.0}, damping=0.0, method=method)
    assert result.to_dict() == pytest.approx({"e0": 0.25, "e1": 0.75})


def test_power_raises_when_it_does_not_converge() -> None:
    snap = GraphProjection.from_edges(*random_graph(1)).snapshot()
    with pytest.raises(PPRConvergenceError) as info:
        personalized_pagerank(snap, {"e0": 1.0}, method="power", max_iter=3, tol=1e-12)
    assert isinstance(info.value, GraphError)
    assert info.value.iterations == 3
    assert info.value.change > 1e-12
    ok = personalized_pagerank(snap, {"e0": 1.0}, method="power", tol=1e-12)
    assert 3 < ok.stats.iterations <= 200
    assert ok.stats.error_bound is not None and ok.stats.error_bound < 1e-12


def test_top_k_breaks_ties_by_node_position() -> None:
    nodes = [("hub", "entity")] + [(f"leaf{i}", "entity") for i in range(6)]
    edges: list[Edge] = [("hub", f"leaf{i}", 1.0, "fact") for i in range(6)]
    result = personalized_pagerank(GraphProjection.from_edges(nodes, edges), {"hub": 1.0})
    top = result.top_k(4)
    assert [n for n, _ in top] == ["hub", "leaf0", "leaf1", "leaf2"]
    assert top[1][1] == top[2][1] == top[3][1]
    assert result.top_k(0) == []
    assert len(result.top_k(100)) == 7


# ---- workspaces ---------------------------------------------------------------------------------


def test_workspace_is_left_clean_and_grows() -> None:
    small = GraphProjection.from_edges(*random_graph(0)).snapshot()
    big = heavy_tailed_projection(1).snapshot()
    ws = PushWorkspace(10)
    first = personalized_pagerank(small, SEEDS, workspace=ws)
    assert ws.capacity >= small.num_nodes
    for buf in (ws.p, ws.r, ws.state):
        assert not buf.any()
    personalized_pagerank(big, {"n1": 1.0}, workspace=ws)
    assert ws.capacity >= big.num_nodes
    again = personalized_pagerank(small, SEEDS, workspace=ws)
    fresh = personalized_pagerank(small, SEEDS, workspace=PushWorkspace())
    np.testing.assert_array_equal(as_vector(first), as_vector(again))
    np.testing.assert_array_equal(as_vector(again), as_vector(fresh))


def test_workspace_refuses_concurrent_use() -> None:
    snap = GraphProjection.from_edges(*random_graph(0)).snapshot()
    ws = PushWorkspace()
    ws._lock.acquire()
    try:
        with pytest.raises(RuntimeError, match="in use"):
            personalized_pagerank(snap, SEEDS, workspace=ws)
    finally:
        ws._lock.release()
    assert len(personalized_pagerank(snap, SEEDS, workspace=ws)) > 0


def test_threads_use_separate_default_workspaces() -> None:
    snap = heavy_tailed_projection(2).snapshot()
    expected = as_vector(personalized_pagerank(snap, {"n3": 1.0}))
    results: list[np.ndarray] = []

    def run() -> None:
        for _ in range(20):
            results.append(as_vector(personalized_pagerank(snap, {"n3": 1.0})))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    for got in results:
        np.testing.assert_array_equal(got, expected)


# ---- the projection -----------------------------------------------------------------------------


def test_parallel_edges_merge_and_zero_weight_edges_are_dropped() -> None:
    nodes = [("a", "entity"), ("b", "entity"), ("c", "entity"), ("p", "passage")]
    edges: list[Edge] = [
        ("a", "b", 1.0, "fact"),
        ("b", "a", 0.5, "fact"),
        ("a", "b", 0.25, "synonym"),
        ("a", "c", 0.0, "fact"),
        ("p", "a", 1.0, "mention"),
    ]
    snap = GraphProjection.from_edges(nodes, edges).snapshot()
    assert snap.num_nodes == 4
    assert snap.num_edges == 2
    assert snap.edge_weight("b", "a") == 1.75
    assert snap.edge_weight("a", "c") == 0.0
    assert snap.neighbors("a") == {"b": 1.75, "p": 1.0}
    assert snap.degree[snap.index_of("c")] == 0.0  # c stays, as an isolated node
    assert list(snap.edges()) == [("a", "b", 1.75), ("a", "p", 1.0)]  # by position
    assert np.all(snap.weights > 0)


def test_snapshot_arrays_are_csr_and_read_only() -> None:
    snap = GraphProjection.from_edges(*random_graph(4, loops=True)).snapshot()
    assert snap.indptr[0] == 0 and snap.indptr[-1] == snap.nnz
    for u in range(snap.num_nodes):
        row = snap.indices[snap.indptr[u] : snap.indptr[u + 1]]
        assert np.all(np.diff(row) > 0)  # sorted, no duplicates
    row_sums = [snap.weights[snap.indptr[u] : snap.indptr[u + 1]].sum() for u in range(55)]
    np.testing.assert_allclose(snap.degree, row_sums, rtol=1e-12)
    assert 0.0 in snap.degree  # the generator left a node isolated: an empty row
    for arr in (snap.indptr, snap.indices, snap.weights, snap.degree, snap.node_kinds):
        assert not arr.flags.writeable
    with pytest.raises(TypeError):
        snap.node_index["new"] = 1  # type: ignore[index]


def test_builders_validate_their_input() -> None:
    nodes = [("a", "entity"), ("b", "entity"), ("p", "passage"), ("q", "passage")]
    bad_edges: list[tuple[Edge, type[Exception]]] = [
        (("a", "x", 1.0, "fact"), KeyError),
        (("a", "b", -1.0, "fact"), ValueError),
        (("a", "b", math.nan, "fact"), ValueError),
        (("a", "p", 1.0, "fact"), ValueError),  # facts join entities
        (("a", "b", 1.0, "mention"), ValueError),  # mentions join a passage and an entity
        (("p", "q", 1.0, "mention"), ValueError),
        (("a", "b", 1.0, "likes"), ValueError),  # not an edge kind
    ]
    for edge, error in bad_edges:
        with pytest.raises(error):
            GraphProjection.from_edges(nodes, [edge])
        proj = GraphProjection.from_edges(nodes, [])
        with pytest.raises(error):
            proj.add_edge(*edge)
        assert not proj.has_pending_changes
    with pytest.raises(ValueError, match="both kinds"):
        GraphProjection.from_edges([("a", "entity"), ("a", "passage")], [])
    with pytest.raises(ValueError, match="unique"):
        GraphProjection.from_arrays(["a", "a"], [0, 0], [], [], [])
    with pytest.raises(ValueError, match="out of range"):
        GraphProjection.from_arrays(["a", "b"], [0, 0], [0], [2], [1.0])
    proj = GraphProjection.from_edges(nodes, [])
    proj.add_node("a", "entity")  # same kind: a no-op
    assert not proj.has_pending_changes
    with pytest.raises(ValueError, match="another kind"):
        proj.add_node("a", NodeKind.PASSAGE)


def test_snapshot_is_reused_until_something_changes() -> None:
    proj = GraphProjection.from_edges(*random_graph(0))
    first = proj.snapshot()
    assert proj.snapshot() is first
    proj.add_edge("e0", "e1", 0.0, EdgeKind.FACT)  # zero weight: nothing to do
    assert proj.snapshot() is first
    proj.add_edge("e0", "e1", 1.0, EdgeKind.FACT)
    second = proj.snapshot()
    assert second is not first and second.version == first.version + 1
    assert second.node_ids is first.node_ids  # node tables are shared while nodes don't change
    assert second.edge_weight("e0", "e1") == first.edge_weight("e0", "e1") + 1.0


def test_buffered_updates_apply_in_order() -> None:
    nodes = [("a", "entity"), ("b", "entity"), ("c", "entity")]
    proj = GraphProjection.from_edges(nodes, [("a", "b", 1.0, "fact")])
    proj.remove_edge("a", "b")
    proj.add_edge("b", "a", 2.0, "fact")  # removed, then re-added: only the new weight
    proj.add_edge("b", "c", 1.0, "fact")
    proj.remove_edge("c", "b")  # added, then removed: gone
    assert proj.edge_weight("a", "b") == 2.0 and not proj.has_edge("b", "c")
    snap = proj.snapshot()
    assert snap.edge_weight("a", "b") == 2.0
    assert snap.edge_weight("b", "c") == 0.0
    with pytest.raises(KeyError):
        proj.remove_edge("b", "c")
    proj.remove_node("a")
    proj.add_node("a", "entity")  # a new node under the old id: the old edges are gone
    snap = proj.snapshot()
    assert "a" in snap and snap.neighbors("a") == {}
    assert snap.num_edges == 0
    with pytest.raises(KeyError):
        proj.remove_node("zzz")


def test_old_snapshots_do_not_change() -> None:
    proj = GraphProjection.from_edges(*random_graph(0))
    old = proj.snapshot()
    before = (old.node_ids, dict(old.node_index), old.weights.copy(), old.num_edges)
    expected = as_vector(personalized_pagerank(old, SEEDS, method="power"))
    proj.add_node("new", NodeKind.ENTITY)
    proj.add_edge("new", "e0", 5.0, EdgeKind.FACT)
    proj.remove_node("e7")
    proj.remove_edge("e0", "e1") if proj.has_edge("e0", "e1") else None
    new = proj.snapshot()
    assert "new" in new and "e7" not in new
    assert "new" not in old and "e7" in old
    assert (old.node_ids, dict(old.node_index), old.num_edges) == (
        before[0],
        before[1],
        before[3],
    )
    np.testing.assert_array_equal(old.weights, before[2])
    np.testing.assert_array_equal(
        as_vector(personalized_pagerank(old, SEEDS, method="power")), expected
    )


def check_against_model(
    snap: ProjectionSnapshot, live: dict[str, str], model: dict[tuple[str, str], float]
) -> None:
    """The snapshot holds exactly the model's nodes and edges, in valid CSR form."""
    assert set(snap.node_index) == set(live)
    assert snap.num_nodes == len(live) and snap.num_edges == len(model)
    adjacency: dict[str, dict[str, float]] = {n: {} for n in live}
    for (u, v), w in model.items():
        adjacency[u][v] = adjacency[v][u] = w
    for node, kind in live.items():
        assert snap.kind_of(node) == kind
        got = snap.neighbors(node)
        assert got.keys() == adjacency[node].keys()
        for other, w in adjacency[node].items():
            assert got[other] == pytest.approx(w, rel=1e-12)
        assert snap.degree[snap.index_of(node)] == pytest.approx(sum(got.values()), rel=1e-12)
    for slot, node in enumerate(snap.node_ids):
        if snap.node_index.get(node) != slot:  # a removed node's slot: no edges
            assert snap.indptr[slot] == snap.indptr[slot + 1] and snap.degree[slot] == 0.0
    assert np.all(np.diff(snap.indptr) >= 0) and snap.indptr[-1] == snap.nnz


@pytest.mark.parametrize("remove_nodes", [True, False])
@pytest.mark.parametrize("patch_limit", [0, 10**9], ids=["merge", "patch"])
@pytest.mark.parametrize("rng_seed", [0, 1, 2])
def test_incremental_updates_equal_a_rebuild_from_scratch(
    rng_seed: int, patch_limit: int, remove_nodes: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both ways of applying a batch: the row-local patch (small edge batches) and the sorted
    # merge (large batches, or any batch that removes a node).
    monkeypatch.setattr(projection, "_SMALL_BATCH", patch_limit)
    unused = "_patched_csr" if patch_limit == 0 else "_merged_keys" if not remove_nodes else None
    if unused is not None:  # prove which path runs

        def fail(self: GraphProjection) -> None:
            raise AssertionError(f"{unused} should not run")

        monkeypatch.setattr(GraphProjection, unused, fail)
    rng = np.random.default_rng(rng_seed)
    nodes, edges = random_graph(rng_seed, loops=True)
    kinds = dict(nodes)
    half = len(edges) // 2
    proj = GraphProjection.from_edges(nodes, edges[:half])
    # An independent model of what the projection should hold.
    live: dict[str, str] = dict(kinds)
    model: dict[tuple[str, str], float] = {}

    def model_add(u: str, v: str, w: float) -> None:
        key = (min(u, v), max(u, v))
        model[key] = model.get(key, 0.0) + w

    for u, v, w, _ in edges[:half]:
        model_add(u, v, w)
    pending = list(edges[half:])
    next_id = 0
    slot_counts: list[int] = []
    for _batch in range(6):
        for _ in range(30):
            action = rng.random()
            ids = sorted(live)
            ents = [n for n in ids if live[n] == "entity"]
            if action < 0.4 and pending:
                u, v, w, k = pending.pop()
                if u in live and v in live:
                    proj.add_edge(u, v, w, k)
                    model_add(u, v, w)
            elif action < 0.55:
                u, v = (str(x) for x in rng.choice(ents, 2))
                w = float(rng.uniform(0.1, 1.0))
                proj.add_edge(u, v, w, EdgeKind.SYNONYM)
                model_add(u, v, w)
            elif action < 0.75:
                u, v = (str(x) for x in rng.choice(ids, 2))
                key = (min(u, v), max(u, v))
                assert proj.has_edge(u, v) == (key in model)
                if key in model:
                    proj.remove_edge(u, v)
                    del model[key]
            elif action < 0.85 and remove_nodes:
                victim = str(rng.choice(ids))
                proj.remove_node(victim)
                del live[victim]
                model = {k: w for k, w in model.items() if victim not in k}
            else:  # a new node, or an old id coming back
                new = f"new{next_id}" if rng.random() < 0.6 else str(rng.choice(list(kinds)))
                next_id += 1
                if new not in live:
                    live[new] = kinds.get(new, "entity")
                    proj.add_node(new, live[new])
                    other = str(rng.choice(ents))
                    proj.add_edge(new, other, 1.0, "fact" if live[new] == "entity" else "mention")
                    model_add(new, other, 1.0)
        snap = proj.snapshot()
        slot_counts.append(snap.num_slots - snap.num_nodes)
        model_edges: list[Edge] = [
            (u, v, w, "mention" if "passage" in (live[u], live[v]) else "fact")
            for (u, v), w in model.items()
        ]
        check_against_model(snap, live, model)
        # From scratch, in another node order: the same scores by node id.
        shuffled = GraphProjection.from_edges(sorted(live.items()), model_edges).snapshot()
        seeds = {n: 1.0 for n in sorted(live)[:3]}
        for method in ("push", "power"):  # push to 1e-13: its FIFO order depends on positions
            got = personalized_pagerank(snap, seeds, method=method, epsilon=1e-13).to_dict()
            want = personalized_pagerank(shuffled, seeds, method=method, epsilon=1e-13).to_dict()
            assert got.keys() == want.keys()
            for node, score in want.items():
                assert got[node] == pytest.approx(score, abs=1e-10)
    if remove_nodes:  # removals left tombstones in some snapshots and compacted in others
        assert max(slot_counts) > 0 and 0 in slot_counts
    # After compaction: the very CSR arrays a build from scratch in the same order gives.
    compacted = proj.compact()
    assert compacted.num_slots == compacted.num_nodes == len(live)
    scratch = GraphProjection.from_edges(
        [(n, live[n]) for n in compacted.node_ids], model_edges
    ).snapshot()
    np.testing.assert_array_equal(compacted.indptr, scratch.indptr)
    np.testing.assert_array_equal(compacted.indices, scratch.indices)
    np.testing.assert_allclose(compacted.weights, scratch.weights, rtol=1e-12)
    np.testing.assert_allclose(compacted.degree, scratch.degree, rtol=1e-12)
    np.testing.assert_array_equal(compacted.node_kinds, scratch.node_kinds)
    assert compacted.num_edges == scratch.num_edges


def test_removed_nodes_leave_tombstones_until_compaction() -> None:
    nodes, edges = random_graph(7)
    proj = GraphProjection.from_edges(nodes, edges)
    hub = max(proj.snapshot().node_index, key=lambda n: len(proj.snapshot().neighbors(n)))
    proj.remove_node(hub)
    snap = proj.snapshot()
    assert hub not in snap and snap.num_slots == snap.num_nodes + 1
    slot = snap.node_ids.index(hub)  # the slot stays, empty, until compaction
    assert snap.degree[slot] == 0.0 and snap.indptr[slot] == snap.indptr[slot + 1]
    names = snap.to_igraph().vs["name"]
    assert names[slot] is None and names.count(None) == 1
    seeds = {"e1": 1.0, "p2": 1.0}
    with_tombstone = {
        m: personalized_pagerank(snap, seeds, method=m, epsilon=1e-12).to_dict()
        for m in ALL_METHODS
    }
    compacted = proj.compact()
    assert compacted.num_slots == compacted.num_nodes == snap.num_nodes
    assert compacted.version == snap.version + 1
    assert proj.compact() is compacted  # nothing left to compact
    for method, scores in with_tombstone.items():
        assert hub not in scores
        after = personalized_pagerank(compacted, seeds, method=method, epsilon=1e-12).to_dict()
        assert after.keys() == scores.keys()
        for node, score in scores.items():
            assert after[node] == pytest.approx(score, abs=1e-10)
