"""Personalized PageRank over a :class:`~graph.projection.ProjectionSnapshot`.

Three interchangeable solvers behind one function, :func:`personalized_pagerank`:

* ``"push"`` (default): the forward push of Andersen, Chung and Lang, compiled with numba. Its
  work depends on the neighbourhood the walk reaches, not on the size of the graph.
* ``"exact"``: igraph's PRPACK solver; its cost grows linearly with the whole graph.
* ``"power"``: a sparse power iteration, the plain reference.

All three compute the same vector (same damping convention, dangling-node rule and self-loop
rule), so they can be swapped and checked against each other.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from graph.errors import GraphError
from graph.projection import (
    NODE_KIND_CODES,
    GraphProjection,
    NodeKind,
    ProjectionSnapshot,
)

__all__ = [
    "EmptyReason",
    "PPRConvergenceError",
    "PPRMethod",
    "PPRResult",
    "PPRStats",
    "PushWorkspace",
    "personalized_pagerank",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IndexArray: TypeAlias = npt.NDArray[np.int32]


class PPRMethod(StrEnum):
    """The solver :func:`personalized_pagerank` uses."""

    PUSH = "push"
    EXACT = "exact"
    POWER = "power"


class EmptyReason(StrEnum):
    """Why a :class:`PPRResult` is empty."""

    NO_SEEDS = "no_seeds"  # no seed with a positive weight was given
    NO_KNOWN_SEEDS = "no_known_seeds"  # every seed with a positive weight is unknown


class PPRConvergenceError(GraphError):
    """The power iteration did not reach its tolerance within ``max_iter`` iterations."""

    def __init__(self, iterations: int, change: float, tol: float) -> None:
        self.iterations = iterations
        self.change = change
        self.tol = tol
        super().__init__(
            f"power iteration did not converge in {iterations} iterations: "
            f"L1 change {change:.3g} > tol {tol:.3g}"
        )


@dataclass(frozen=True)
class PPRStats:
    """Work done by one query.

    Attributes
    ----------
    iterations : int
        Power iterations (``"power"``); 0 for the other methods.
    pushes : int
        Push operations (``"push"``).
    edges_scanned : int
        Adjacency entries read by the pushes (``"push"``): the work, up to a constant.
    touched : int
        Nodes that received any residual (``"push"``): the memory actually used.
    error_bound : float or None
        Upper bound on ``sum_v |p(v) - p_hat(v)|``, the L1 distance to the exact vector. For
        ``"push"`` it is exact: ``damping`` times the residual mass left (see Notes of
        :func:`personalized_pagerank`);
        for ``"power"`` it is ``damping / (1 - damping)`` times the last L1 change; ``None``
        for ``"exact"`` (PRPACK solves to about 1e-10 and does not report it).
    """

    iterations: int = 0
    pushes: int = 0
    edges_scanned: int = 0
    touched: int = 0
    error_bound: float | None = None


@dataclass(frozen=True, eq=False, repr=False)
class PPRResult:
    """Personalized PageRank scores of one query, sparse: only nodes with a positive score.

    Attributes
    ----------
    snapshot : ProjectionSnapshot
        The snapshot the query ran on; ``nodes`` are positions in it.
    nodes : ndarray of int32
        Positions of the nodes with a positive score, in no particular order.
    scores : ndarray of float64
        Their scores, aligned with ``nodes``; they sum to 1 up to ``stats.error_bound``.
    method : PPRMethod
    damping : float
    unknown_seeds : tuple of str
        Seed ids that are not in the snapshot; they were ignored.
    empty_reason : EmptyReason or None
        Set when the result is empty because there was nothing to seed the walk with.
    stats : PPRStats
    """

    snapshot: ProjectionSnapshot
    nodes: IndexArray
    scores: FloatArray
    method: PPRMethod
    damping: float
    unknown_seeds: tuple[str, ...] = ()
    empty_reason: EmptyReason | None = None
    stats: PPRStats = field(default_factory=PPRStats)

    def __len__(self) -> int:
        return int(self.nodes.shape[0])

    def __repr__(self) -> str:
        return (
            f"PPRResult(method={self.method.value!r}, damping={self.damping}, "
            f"nonzero={len(self)}, unknown_seeds={len(self.unknown_seeds)}, "
            f"empty_reason={self.empty_reason})"
        )

    def top_k(self, k: int, kind: NodeKind | str | None = None) -> list[tuple[str, float]]:
        """The ``k`` best ``(node_id, score)`` pairs, best first, optionally of one node kind.

        Ties are broken by node position. Cost O(t + k log k) for t nonzero scores.
        """
        if k <= 0:
            return []
        nodes, scores = self.nodes, self.scores
        if kind is not None:
            code = NODE_KIND_CODES.index(NodeKind(kind))
            mask = self.snapshot.node_kinds[nodes] == code
            nodes, scores = nodes[mask], scores[mask]
        if k < nodes.shape[0]:
            # Keep everything tied with the k-th score so the tie-break below is stable.
            kth = np.partition(scores, scores.shape[0] - k)[scores.shape[0] - k]
            sel = scores >= kth
            nodes, scores = nodes[sel], scores[sel]
        order = np.lexsort((nodes, -scores))[:k]
        ids = self.snapshot.node_ids
        return [
            (ids[i], s) for i, s in zip(nodes[order].tolist(), scores[order].tolist(), strict=True)
        ]

    def to_dict(self) -> dict[str, float]:
        """All nonzero scores as ``{node_id: score}`` (O(t); large for the exact methods)."""
        ids = self.snapshot.node_ids
        return {ids[i]: s for i, s in zip(self.nodes.tolist(), self.scores.tolist(), strict=True)}

    def score(self, node_id: str) -> float:
        """Score of one node (0.0 if it has none or is unknown). O(t)."""
        i = self.snapshot.node_index.get(node_id)
        if i is None:
            return 0.0
        hit = np.flatnonzero(self.nodes == i)
        return float(self.scores[hit[0]]) if hit.size else 0.0


class PushWorkspace:
    """Reusable buffers for the forward push, so a query does not allocate O(n) memory.

    The push needs a score and a residual per node, a state byte per node, a FIFO queue and a
    list of touched nodes. At a million nodes allocating and zeroing these costs more than the
    push itself, so they live here and are reused: each query resets only the entries it
    touched. Capacity grows (by at least 1.5x) to the largest graph seen and never shrinks;
    about 21 bytes per node.

    A workspace serves one query at a time; using it from two threads at once raises
    ``RuntimeError``. :func:`personalized_pagerank` uses one workspace per thread unless
    given one.
    """

    __slots__ = ("_lock", "p", "queue", "r", "state", "touched")

    def __init__(self, capacity: int = 0) -> None:
        self._lock = threading.Lock()
        self._allocate(capacity)

    @property
    def capacity(self) -> int:
        """Number of nodes the buffers can hold."""
        return int(self.p.shape[0])

    def _allocate(self, capacity: int) -> None:
        self.p: FloatArray = np.zeros(capacity, dtype=np.float64)
        self.r: FloatArray = np.zeros(capacity, dtype=np.float64)
        self.state: npt.NDArray[np.uint8] = np.zeros(capacity, dtype=np.uint8)
        self.queue: IndexArray = np.zeros(capacity, dtype=np.int32)
        self.touched: IndexArray = np.zeros(capacity, dtype=np.int32)

    def _reserve(self, n: int) -> None:
        if n > self.capacity:
            self._allocate(max(n, self.capacity + self.capacity // 2))


_thread_workspaces = threading.local()


def _default_workspace() -> PushWorkspace:
    ws: PushWorkspace | None = getattr(_thread_workspaces, "workspace", None)
    if ws is None:
        ws = PushWorkspace()
        _thread_workspaces.workspace = ws
    return ws


def personalized_pagerank(
    graph: ProjectionSnapshot | GraphProjection,
    seeds: Mapping[str, float],
    *,
    damping: float = 0.5,
    method: PPRMethod | str = PPRMethod.PUSH,
    epsilon: float = 1e-6,
    tol: float = 1e-10,
    max_iter: int = 200,
    workspace: PushWorkspace | None = None,
) -> PPRResult:
    r"""Personalized PageRank of every node for a weighted seed set.

    Computes the stationary distribution ``p`` of a random walk on the undirected weighted
    graph that, at each step, with probability ``damping`` moves from its node ``u`` to a
    neighbour ``v`` chosen with probability ``w(u, v) / d(u)``, and otherwise (probability
    ``alpha = 1 - damping``, the teleport or restart probability) jumps back to a seed drawn
    from the normalised seed weights ``s``:

    .. math:: p = \alpha s + (1 - \alpha) p D^{-1} A

    Parameters
    ----------
    graph : ProjectionSnapshot or GraphProjection
        The graph. A ``GraphProjection`` is snapshotted once, at the start of the call; the
        whole query sees that snapshot.
    seeds : Mapping[str, float]
        Personalization weights by node id. They must be finite and non-negative and are
        normalised to sum to 1; zero weights are ignored. Ids not in the graph are ignored and
        listed in ``PPRResult.unknown_seeds``.
    damping : float, optional
        Probability of continuing the walk at each step, in ``[0, 1)``; ``1 - damping`` is the
        probability of restarting at a seed. The convention of igraph's and networkx's
        ``damping``/``alpha`` and of HippoRAG, which uses 0.5 (the default).
    method : {"push", "exact", "power"} or PPRMethod, optional
        ``"push"``: local forward push, approximate within ``epsilon`` (see Notes); work
        independent of the graph size. ``"exact"``: igraph PRPACK on
        :meth:`ProjectionSnapshot.to_igraph`. ``"power"``: power iteration to ``tol``.
    epsilon : float, optional
        Push only: residual threshold per unit of weighted degree. A node ``u`` is pushed
        while its residual is at least ``epsilon * d(u)``. Rescaling every edge weight by
        ``c`` needs ``epsilon / c`` for the same accuracy.
    tol : float, optional
        Power only: stop when the L1 change between two iterates is below ``tol``.
    max_iter : int, optional
        Power only: maximum number of iterations.
    workspace : PushWorkspace, optional
        Push only: buffers to reuse; by default one per thread.

    Returns
    -------
    PPRResult
        Sparse scores (nodes with a positive score), the unknown seeds and work counters. An
        empty result with ``empty_reason`` set when no seed has a positive weight or every
        such seed is unknown.

    Raises
    ------
    ValueError
        If ``damping`` is outside ``[0, 1)``, a seed weight is negative or not finite, or
        ``epsilon``, ``tol`` or ``max_iter`` is not positive.
    PPRConvergenceError
        If the power iteration does not reach ``tol`` within ``max_iter`` iterations.

    Notes
    -----
    *Dangling nodes.* In an undirected graph a node without out-weight is an isolated node.
    The walk restarts at the seeds from such a node (igraph's and networkx's default); only
    an isolated seed can be reached, and it keeps its share ``s(u) / (1 - damping * m)`` where
    ``m`` is the seed mass on isolated nodes.

    *Self loops.* A loop ``{u, u}`` of weight ``w`` is the adjacency entry ``A[u, u] = w``:
    it adds ``w`` (not ``2w``) to ``d(u)`` and the walk stays at ``u`` with probability
    ``w / d(u)``, as in networkx. (igraph would count the loop twice;
    :meth:`ProjectionSnapshot.to_igraph` halves loop weights to match.) Parallel edges have
    been merged by summing their weights, and zero-weight edges dropped, by the projection.

    *Push.* This is the non-lazy variant of the push of Andersen, Chung and Lang [1]_ (as in
    Jeh and Widom [3]_): pushing ``u`` moves ``alpha * r(u)`` into its score and spreads
    ``damping * r(u)`` over its neighbours in proportion to edge weight, keeping the
    invariant ``p = p_hat + sum_u r(u) p_u`` where ``p_u`` is the PPR vector seeded at
    ``u``. Nodes are pushed in FIFO order until ``r(u) < epsilon * d(u)`` for all ``u``;
    each node's score is then ``p_hat(v) + alpha * r(v)`` (``p_v(v) >= alpha``, so this is
    still a lower bound, and a tighter one). It approximates the same (non-lazy) vector as
    the exact methods, from below; by the symmetry ``d(u) p_u(v) = d(v) p_v(u)`` of PPR on
    undirected graphs [1]_, for every node

    .. math:: 0 \le p(v) - \hat p(v) < \epsilon \, d(v) / (1 - \mathrm{damping} \cdot m)

    (``m`` as above, usually 0), and the L1 error is exactly ``damping`` times the residual
    mass left, reported as ``stats.error_bound``. Each push of ``u`` banks at least
    ``alpha * epsilon * d(u)``, so the weighted degree summed over all pushes, the work, is
    at most ``1 / (alpha * epsilon)`` whatever the size of the graph [1]_. Rankings agree
    with the exact vector wherever scores differ by more than ``epsilon * d(v)``;
    high-degree nodes get the loosest bound. The kernel is compiled by numba on first use
    and cached on disk (``cache=True``): the first query in a process costs about 0.8 s
    with an empty cache and about 0.35 s with a warm one, mostly importing numba; without
    numba it runs interpreted and much slower.

    *Exact.* PRPACK's time grows with the whole graph (about 0.15 s at 1M edges and 1.3 s at
    5M on this project's 2-core machines). It runs OpenMP threads; on a busy machine they
    wait on each other (a 20k-edge query went from 1.8 ms to 137 ms), so set
    ``OMP_NUM_THREADS=1`` where exact mode shares cores.

    *Power.* Iterates the equation above from ``x = s``. The L1 distance to the fixed point
    after an iteration is at most ``damping / (1 - damping)`` times the L1 change of that
    iteration, which must fall below ``tol`` within ``max_iter`` iterations; otherwise
    ``PPRConvergenceError`` is raised rather than returning an unconverged vector. It
    contracts by ``damping`` per iteration, so about ``log(tol) / log(damping)`` iterations
    (34 for the defaults) suffice.

    References
    ----------
    .. [1] R. Andersen, F. Chung and K. Lang, "Local graph partitioning using PageRank
       vectors", Proc. 47th IEEE Symposium on Foundations of Computer Science (FOCS), 2006.
    .. [2] L. Page, S. Brin, R. Motwani and T. Winograd, "The PageRank citation ranking:
       Bringing order to the web", Stanford InfoLab technical report, 1999.
    .. [3] G. Jeh and J. Widom, "Scaling personalized web search", Proc. WWW, 2003.
    .. [4] B. J. Gutiérrez, Y. Shu, Y. Gu, M. Yasunaga and Y. Su, "HippoRAG: Neurobiologically
       inspired long-term memory for large language models", NeurIPS 2024.

    Examples
    --------
    >>> from graph.projection import GraphProjection
    >>> proj = GraphProjection.from_edges(
    ...     [("a", "entity"), ("b", "entity"), ("c", "entity")],
    ...     [("a", "b", 1.0, "fact"), ("b", "c", 1.0, "fact")],
    ... )
    >>> result = personalized_pagerank(proj, {"a": 1.0}, method="power")
    >>> [(node, round(score, 4)) for node, score in result.top_k(3)]
    [('a', 0.5833), ('b', 0.3333), ('c', 0.0833)]
    """
    method = PPRMethod(method)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    snap = graph.snapshot() if isinstance(graph, GraphProjection) else graph
    seed_nodes, seed_mass, unknown, reason = _resolve_seeds(snap, seeds)
    if reason is not None:
        return PPRResult(
            snap, _EMPTY_NODES, _EMPTY_SCORES, method, damping, unknown, empty_reason=reason
        )
    if method is PPRMethod.PUSH:
        if not epsilon > 0.0:
            raise ValueError(f"epsilon must be positive, got {epsilon}")
        nodes, scores, stats = _push(
            snap,
            seed_nodes,
            seed_mass,
            damping,
            epsilon,
            workspace if workspace is not None else _default_workspace(),
        )
    elif method is PPRMethod.POWER:
        if not tol > 0.0 or max_iter < 1:
            raise ValueError("tol and max_iter must be positive")
        nodes, scores, stats = _power(snap, seed_nodes, seed_mass, damping, tol, max_iter)
    else:
        nodes, scores, stats = _exact(snap, seed_nodes, seed_mass, damping)
    return PPRResult(snap, nodes, scores, method, damping, unknown, stats=stats)


# ---- seeds -----------------------------------------------------------------------------------

_EMPTY_NODES: IndexArray = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES: FloatArray = np.zeros(0, dtype=np.float64)
_EMPTY_NODES.flags.writeable = False
_EMPTY_SCORES.flags.writeable = False


def _resolve_seeds(
    snap: ProjectionSnapshot, seeds: Mapping[str, float]
) -> tuple[IndexArray, FloatArray, tuple[str, ...], EmptyReason | None]:
    index = snap.node_index
    nodes: list[int] = []
    mass: list[float] = []
    unknown: list[str] = []
    for node_id, weight in seeds.items():
        w = float(weight)
        if not math.isfinite(w) or w < 0.0:
            raise ValueError(f"seed {node_id!r}: weight must be finite and >= 0, got {weight}")
        if w == 0.0:
            continue
        i = index.get(node_id)
        if i is None:
            unknown.append(node_id)
        else:
            nodes.append(i)
            mass.append(w)
    reason = None
    if not nodes:
        reason = EmptyReason.NO_KNOWN_SEEDS if unknown else EmptyReason.NO_SEEDS
    m = np.asarray(mass, dtype=np.float64)
    if m.size:
        m /= m.sum()
    return np.asarray(nodes, dtype=np.int32), m, tuple(unknown), reason


# ---- push ------------------------------------------------------------------------------------


def _push_kernel(
    indptr: npt.NDArray[np.int64],
    indices: IndexArray,
    weights: FloatArray,
    degree: FloatArray,
    seed_nodes: IndexArray,
    seed_mass: FloatArray,
    alpha: float,
    eps: float,
    p: FloatArray,
    r: FloatArray,
    state: npt.NDArray[np.uint8],
    queue: IndexArray,
    touched: IndexArray,
) -> tuple[IndexArray, FloatArray, float, int, int, int]:
    """Forward push; returns (nodes, scores, residual, pushes, edges_scanned, touched).

    Written for numba's nopython mode and also correct when run by the interpreter. ``p``,
    ``r`` and ``state`` must be zero on entry over the graph's nodes and are left zero on exit;
    ``queue`` and ``touched`` need capacity for every node. A node is in the circular FIFO
    at most once (state bit 1); state bit 2 marks it as touched. An isolated node (degree 0)
    absorbs: its push keeps ``alpha * r`` and drops the rest (the caller rescales). The
    scores returned are ``p + alpha * r``; ``residual`` is the sum of ``r``.
    """
    cap = queue.shape[0]
    n_touched = 0
    for i in range(seed_nodes.shape[0]):
        u = seed_nodes[i]
        r[u] += seed_mass[i]
        if state[u] == 0:
            state[u] = 2
            touched[n_touched] = u
            n_touched += 1
    head = 0
    size = 0
    for i in range(n_touched):
        u = touched[i]
        if r[u] >= eps * degree[u]:
            state[u] = 3
            queue[size] = u
            size += 1
    pushes = 0
    scanned = 0
    continue_prob = 1.0 - alpha
    while size > 0:
        u = queue[head]
        head += 1
        if head == cap:
            head = 0
        size -= 1
        state[u] = 2
        ru = r[u]
        r[u] = 0.0
        p[u] += alpha * ru
        pushes += 1
        du = degree[u]
        if du <= 0.0:
            continue
        share = continue_prob * ru / du
        lo = indptr[u]
        hi = indptr[u + 1]
        scanned += hi - lo
        for j in range(lo, hi):
            v = indices[j]
            rv = r[v] + share * weights[j]
            r[v] = rv
            st = state[v]
            if st == 0:
                touched[n_touched] = v
                n_touched += 1
                st = 2
                state[v] = 2
            if st == 2 and rv >= eps * degree[v]:
                state[v] = 3
                tail = head + size
                if tail >= cap:
                    tail -= cap
                queue[tail] = v
                size += 1
    # Each node keeps at least alpha of its own leftover residual (p_v(v) >= alpha), so
    # p + alpha * r is still a lower bound on the PPR vector, and a tighter one.
    count = 0
    for i in range(n_touched):
        v = touched[i]
        if p[v] + alpha * r[v] > 0.0:
            count += 1
    out_nodes = np.empty(count, dtype=np.int32)
    out_scores = np.empty(count, dtype=np.float64)
    residual = 0.0
    k = 0
    for i in range(n_touched):
        v = touched[i]
        residual += r[v]
        score = p[v] + alpha * r[v]
        if score > 0.0:
            out_nodes[k] = v
            out_scores[k] = score
            k += 1
        p[v] = 0.0
        r[v] = 0.0
        state[v] = 0
    return out_nodes, out_scores, residual, pushes, scanned, n_touched


def _spmv_kernel(
    indptr: npt.NDArray[np.int64],
    indices: IndexArray,
    weights: FloatArray,
    x: FloatArray,
    out: FloatArray,
) -> None:
    """``out = A @ x`` for the symmetric CSR matrix ``A`` (numba nopython)."""
    for u in range(indptr.shape[0] - 1):
        acc = 0.0
        for j in range(indptr[u], indptr[u + 1]):
            acc += weights[j] * x[indices[j]]
        out[u] = acc


class _Kernels(NamedTuple):
    push: Callable[..., tuple[IndexArray, FloatArray, float, int, int, int]]
    spmv: Callable[[ProjectionSnapshot, FloatArray, FloatArray], None]
    compiled: bool


@functools.cache
def _kernels() -> _Kernels:
    """The push and matrix-vector kernels, compiled by numba when it is installed.

    Compilation happens lazily, on the first call of each kernel, and is cached on disk
    (``cache=True``) next to this module, so ``import graph.ppr`` stays cheap.
    """
    try:
        import numba
    except ImportError:
        warnings.warn(
            "numba is not installed: the PPR push runs interpreted, about 100x slower",
            RuntimeWarning,
            stacklevel=3,
        )
        return _Kernels(_push_kernel, _spmv_numpy, compiled=False)
    jit = numba.njit(cache=True, nogil=True)
    spmv = jit(_spmv_kernel)

    def spmv_compiled(snap: ProjectionSnapshot, x: FloatArray, out: FloatArray) -> None:
        spmv(snap.indptr, snap.indices, snap.weights, x, out)

    return _Kernels(jit(_push_kernel), spmv_compiled, compiled=True)


def _spmv_numpy(snap: ProjectionSnapshot, x: FloatArray, out: FloatArray) -> None:
    out[:] = np.bincount(
        snap.row_indices(), weights=snap.weights * x[snap.indices], minlength=snap.num_slots
    )


def _push(
    snap: ProjectionSnapshot,
    seed_nodes: IndexArray,
    seed_mass: FloatArray,
    damping: float,
    epsilon: float,
    ws: PushWorkspace,
) -> tuple[IndexArray, FloatArray, PPRStats]:
    alpha = 1.0 - damping
    push = _kernels().push
    if not ws._lock.acquire(blocking=False):
        raise RuntimeError("PushWorkspace is already in use by another query")
    try:
        ws._reserve(snap.num_slots)
        nodes, scores, residual, pushes, scanned, touched = push(
            snap.indptr,
            snap.indices,
            snap.weights,
            snap.degree,
            seed_nodes,
            seed_mass,
            alpha,
            epsilon,
            ws.p,
            ws.r,
            ws.state,
            ws.queue,
            ws.touched,
        )
    finally:
        ws._lock.release()
    # Isolated seeds absorbed their restart mass; rescale (see Notes of the public function).
    isolated_mass = float(seed_mass[snap.degree[seed_nodes] <= 0.0].sum())
    scale = 1.0 / (1.0 - damping * isolated_mass)
    if scale != 1.0:
        scores = scores * scale
    stats = PPRStats(
        pushes=int(pushes),
        edges_scanned=int(scanned),
        touched=int(touched),
        error_bound=damping * float(residual) * scale,
    )
    return nodes, scores, stats


# ---- power iteration -------------------------------------------------------------------------


def _power(
    snap: ProjectionSnapshot,
    seed_nodes: IndexArray,
    seed_mass: FloatArray,
    damping: float,
    tol: float,
    max_iter: int,
) -> tuple[IndexArray, FloatArray, PPRStats]:
    n = snap.num_slots
    spmv = _kernels().spmv
    alpha = 1.0 - damping
    s = np.zeros(n, dtype=np.float64)
    s[seed_nodes] = seed_mass
    inv_degree = np.zeros(n, dtype=np.float64)
    np.divide(1.0, snap.degree, out=inv_degree, where=snap.degree > 0.0)
    dangling = np.flatnonzero(snap.degree <= 0.0)
    x = s.copy()
    y = np.empty(n, dtype=np.float64)
    change = math.inf
    for it in range(1, max_iter + 1):
        spmv(snap, x * inv_degree, y)  # y = (x D^-1 A)^T, A symmetric
        y *= damping
        y += (alpha + damping * float(x[dangling].sum())) * s
        change = float(np.abs(y - x).sum())
        x, y = y, x
        if change < tol:
            nodes = np.flatnonzero(x > 0.0).astype(np.int32)
            bound = change * damping / alpha if alpha > 0.0 else math.inf
            return nodes, x[nodes], PPRStats(iterations=it, error_bound=bound)
    raise PPRConvergenceError(max_iter, change, tol)


# ---- exact (igraph PRPACK) -------------------------------------------------------------------


def _exact(
    snap: ProjectionSnapshot,
    seed_nodes: IndexArray,
    seed_mass: FloatArray,
    damping: float,
) -> tuple[IndexArray, FloatArray, PPRStats]:
    reset = np.zeros(snap.num_slots, dtype=np.float64)
    reset[seed_nodes] = seed_mass
    view: Any = snap.to_igraph()
    values = view.personalized_pagerank(
        vertices=None,
        directed=False,
        damping=damping,
        reset=reset,
        weights="weight" if snap.num_edges else None,
        implementation="prpack",
    )
    x = np.asarray(values, dtype=np.float64)
    nodes = np.flatnonzero(x > 0.0).astype(np.int32)
    return nodes, x[nodes], PPRStats()
