"""An in-memory, weighted, undirected projection of the knowledge graph for PageRank.

Retrieval runs Personalized PageRank over entity and passage nodes, not over Neo4j itself. This
module holds that graph in compressed sparse row (CSR) form, the layout a forward push walks
fastest, and keeps it current under incremental updates:

* :class:`GraphProjection` is the mutable builder. ``add_node``/``remove_node``/``add_edge``/
  ``remove_edge`` record changes in small buffers in O(1) (amortised).
* :meth:`GraphProjection.snapshot` returns an immutable :class:`ProjectionSnapshot`. If nothing
  changed since the last call it returns the same object; otherwise it folds the buffered
  changes into a copy of the previous CSR arrays: one O(m) copy plus O(k log d) lookups for a
  small batch of k changes, one vectorised O(m + k log k) sorted merge for a large one; never
  a re-sort of the whole edge list. A removed node leaves an empty slot until enough have
  accumulated to renumber (amortised). A query runs on one snapshot, so it never sees half an
  update.

Measured on 2 cores (synthetic power-law graphs, ``benchmarks/bench_ppr.py``): a snapshot
after one changed edge or node takes about 1 ms at 100k edges, 7 ms at 1M and 30 ms at 5M;
building 5M edges from arrays takes about 5 s.

Nothing here imports ``neo4j``; loading the projection from the database lives elsewhere.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import igraph

__all__ = [
    "NODE_KIND_CODES",
    "Edge",
    "EdgeKind",
    "GraphProjection",
    "NodeKind",
    "ProjectionSnapshot",
]


class NodeKind(StrEnum):
    """The kind of a node in the projection."""

    ENTITY = "entity"
    PASSAGE = "passage"


class EdgeKind(StrEnum):
    """The kind of an edge; it fixes which node kinds the edge may join.

    ``FACT`` and ``SYNONYM`` join two entities (Neo4j ``RELATES`` and ``SYNONYM``); ``MENTION``
    joins a passage and an entity it mentions (Neo4j ``MENTIONS``).
    """

    FACT = "fact"
    MENTION = "mention"
    SYNONYM = "synonym"


#: ``ProjectionSnapshot.node_kinds`` stores ``NODE_KIND_CODES.index(kind)`` as ``uint8``.
NODE_KIND_CODES: tuple[NodeKind, ...] = (NodeKind.ENTITY, NodeKind.PASSAGE)
_KIND_CODE: dict[NodeKind, int] = {kind: code for code, kind in enumerate(NODE_KIND_CODES)}
_ENTITY = _KIND_CODE[NodeKind.ENTITY]
_PASSAGE = _KIND_CODE[NodeKind.PASSAGE]

#: An edge as the builders take it: ``(src_id, dst_id, weight, kind)``.
Edge: TypeAlias = tuple[str, str, float, EdgeKind | str]

IntArray: TypeAlias = npt.NDArray[np.int64]

# Up to max(_SMALL_BATCH, nnz / 1000) buffered edge changes, and no compaction due, a snapshot
# patches the CSR arrays row by row (a few microseconds of Python per change plus one copy);
# above that, one vectorised sorted merge (about 15 ns per stored entry) is cheaper.
_SMALL_BATCH = 32
# Compact when more than 1/_TOMBSTONE_LIMIT of the slots belong to removed nodes.
_TOMBSTONE_LIMIT = 8
FloatArray: TypeAlias = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False, repr=False)
class ProjectionSnapshot:
    """An immutable weighted undirected graph in CSR form; what one PageRank query runs on.

    Obtain one from :meth:`GraphProjection.snapshot`. The node at position ``i`` (a *slot*) has
    id ``node_ids[i]`` and kind ``NODE_KIND_CODES[node_kinds[i]]``. The slot of a removed node
    stays, without edges and absent from ``node_index``, until the projection compacts (see
    :class:`GraphProjection`); such a slot is never seeded nor reached by a walk, so it gets no
    PageRank. Its neighbours are ``indices[indptr[i]:indptr[i + 1]]``
    (sorted ascending) with edge weights ``weights[indptr[i]:indptr[i + 1]]``. Every undirected
    edge ``{u, v}`` with ``u != v`` is stored in both rows; a self loop ``{u, u}`` is stored once,
    so ``degree[u] = sum(weights[indptr[u]:indptr[u + 1]])`` is the row sum of the symmetric
    weighted adjacency matrix (a loop of weight ``w`` adds ``w``, as in networkx). All weights
    are positive: parallel edges were summed and zero-weight edges dropped. The arrays are
    read-only.

    Attributes
    ----------
    version : int
        Increases by one with every snapshot a :class:`GraphProjection` builds.
    node_ids : tuple of str
        Node ids by position (slot); a removed node's slot keeps its old id.
    node_index : Mapping[str, int]
        Read-only map from the id of every live node to its position.
    node_kinds : ndarray of uint8, shape (n,)
        Kind codes, see :data:`NODE_KIND_CODES`.
    indptr : ndarray of int64, shape (n + 1,)
    indices : ndarray of int32, shape (nnz,)
    weights : ndarray of float64, shape (nnz,)
    degree : ndarray of float64, shape (n,)
        Weighted degree (strength); 0 for an isolated node.
    num_edges : int
        Number of undirected edges, self loops included.
    """

    version: int
    node_ids: tuple[str, ...]
    node_index: Mapping[str, int]
    node_kinds: npt.NDArray[np.uint8]
    indptr: IntArray
    indices: npt.NDArray[np.int32]
    weights: FloatArray
    degree: FloatArray
    num_edges: int

    @property
    def num_nodes(self) -> int:
        """Number of (live) nodes."""
        return len(self.node_index)

    @property
    def num_slots(self) -> int:
        """Length ``n`` of the node arrays: the live nodes plus removed nodes not yet compacted."""
        return len(self.node_ids)

    @property
    def nnz(self) -> int:
        """Number of stored (directed) CSR entries: ``2 * num_edges - self_loops``."""
        return int(self.indices.shape[0])

    def __repr__(self) -> str:
        return (
            f"ProjectionSnapshot(version={self.version}, num_nodes={self.num_nodes}, "
            f"num_slots={self.num_slots}, num_edges={self.num_edges})"
        )

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.node_index

    def index_of(self, node_id: str) -> int:
        """Position of ``node_id``; raises ``KeyError`` if it is not in the snapshot."""
        return self.node_index[node_id]

    def kind_of(self, node_id: str) -> NodeKind:
        """Kind of ``node_id``; raises ``KeyError`` if it is not in the snapshot."""
        return NODE_KIND_CODES[int(self.node_kinds[self.node_index[node_id]])]

    def neighbors(self, node_id: str) -> dict[str, float]:
        """Neighbours of ``node_id`` with the (merged) edge weights."""
        i = self.node_index[node_id]
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        ids = self.node_ids
        return {
            ids[j]: float(w) for j, w in zip(self.indices[lo:hi], self.weights[lo:hi], strict=True)
        }

    def edge_weight(self, src: str, dst: str) -> float:
        """Weight of the edge ``{src, dst}``, 0.0 if there is none; ``KeyError`` for unknown ids."""
        return _csr_lookup(self, self.node_index[src], self.node_index[dst])

    def edge_arrays(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], FloatArray]:
        """Each undirected edge once as ``(src, dst, weight)`` arrays with ``src <= dst``."""
        rows = self.row_indices()
        upper = rows <= self.indices
        return rows[upper], self.indices[upper], self.weights[upper]

    def edges(self) -> Iterator[tuple[str, str, float]]:
        """Iterate over each undirected edge once as ``(src_id, dst_id, weight)``."""
        src, dst, w = self.edge_arrays()
        ids = self.node_ids
        for u, v, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
            yield ids[u], ids[v], x

    def row_indices(self) -> npt.NDArray[np.int32]:
        """The row of every CSR entry (the COO form of ``indptr``), O(nnz)."""
        counts = np.diff(self.indptr)
        return np.repeat(np.arange(self.num_slots, dtype=np.int32), counts)

    def to_igraph(self) -> igraph.Graph:
        """An undirected ``igraph.Graph`` with the same nodes, in the same order, and weights.

        Built on first use and cached on the snapshot (about 1 s per million edges); do not
        mutate it (``.copy()`` it first). Vertices are the slots; vertex attributes ``name``
        (``None`` for a removed node's slot) and ``kind``; edge attribute ``weight``.

        igraph counts an undirected self loop twice in a vertex's strength and in its
        transition probabilities, so a loop is given half its weight here:
        ``view.strength(weights="weight")`` equals :attr:`degree`, and PageRank on the view
        equals PageRank on this snapshot.
        """
        return self._igraph_view

    @cached_property
    def _igraph_view(self) -> igraph.Graph:
        import igraph

        src, dst, w = self.edge_arrays()
        w = np.where(src == dst, w / 2.0, w)
        view = igraph.Graph(
            n=self.num_slots, edges=np.column_stack((src, dst)).tolist(), directed=False
        )
        view.es["weight"] = w.tolist()
        names: list[str | None] = list(self.node_ids)
        if self.num_slots != self.num_nodes:
            index = self.node_index
            names = [x if index.get(x) == i else None for i, x in enumerate(self.node_ids)]
        view.vs["name"] = names
        view.vs["kind"] = [NODE_KIND_CODES[c].value for c in self.node_kinds.tolist()]
        return view


class GraphProjection:
    """Mutable builder of :class:`ProjectionSnapshot` s with cheap incremental updates.

    Changes are buffered: a map of added edge weights keyed by node pair, a set of removed
    pairs and a set of removed nodes. :meth:`snapshot` folds them into a copy of the last
    snapshot's CSR arrays: a small batch by binary search in each changed row and one
    ``np.delete``/``np.insert`` pass, a large one by a sorted merge of ``row * n + col`` keys
    (``searchsorted`` plus ``np.insert``). Both are linear in the graph with a small constant
    and need no global sort; when nothing changed it returns the last snapshot itself. (An
    in-place update is impossible: a query may still hold the previous snapshot.) A removed
    node leaves an empty slot behind (a tombstone); once more
    than 1/8 of the slots are tombstones, or on :meth:`compact`, the next snapshot renumbers
    the nodes without them: O(n + m) work amortised over Omega(n) removals. So node positions
    can change between snapshots; node ids never do. Node tables are shared between
    snapshots while nodes do not change.

    Semantics: edges are undirected; adding an edge between a pair that already has one adds
    to its weight (parallel edges merge by summing, whatever their kinds); a zero-weight edge
    adds nothing; :meth:`remove_edge` removes the whole merged edge; :meth:`remove_node`
    removes the node and every edge at it. Edge kinds are checked against node kinds and not
    stored: PageRank needs only the merged weight.

    All methods are thread-safe (one internal lock); snapshots are immutable and may be read
    from any number of threads.

    Examples
    --------
    >>> proj = GraphProjection.from_edges(
    ...     [("e:a", "entity"), ("e:b", "entity"), ("p:1", "passage")],
    ...     [("e:a", "e:b", 1.0, "fact"), ("p:1", "e:a", 1.0, "mention")],
    ... )
    >>> snap = proj.snapshot()
    >>> snap.num_nodes, snap.num_edges
    (3, 2)
    >>> proj.add_edge("e:a", "e:b", 0.5, EdgeKind.SYNONYM)
    >>> proj.snapshot().edge_weight("e:b", "e:a")
    1.5
    >>> snap.edge_weight("e:a", "e:b")  # the old snapshot is unchanged
    1.0
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._snapshot = _make_snapshot(
            0, (), MappingProxyType({}), np.zeros(0, np.uint8), *_empty_csr(0)
        )
        # The working node table: slot i < snapshot.num_slots is the snapshot's slot i; new
        # nodes are appended; removed nodes keep their slot (id unmapped, _alive[i] == 0)
        # until compaction.
        self._ids: list[str] = []
        self._kinds = bytearray()
        self._alive = bytearray()
        self._num_dead = 0
        self._index: dict[str, int] = {}
        self._index_shared = False  # _index is the current snapshot's node_index: copy on write
        self._nodes_changed = False
        self._compact_requested = False
        self._removed_nodes: set[int] = set()  # removed since the last snapshot
        self._removed_pairs: set[tuple[int, int]] = set()
        self._pending: dict[tuple[int, int], float] = {}

    # ---- bulk construction -------------------------------------------------------------------

    @classmethod
    def from_edges(
        cls,
        nodes: Iterable[tuple[str, NodeKind | str]],
        edges: Iterable[Edge],
    ) -> GraphProjection:
        """Build a projection from ``(node_id, kind)`` pairs and ``(src, dst, weight, kind)`` edges.

        Every edge endpoint must be among ``nodes`` (``KeyError`` otherwise) and have the node
        kind its edge kind requires (``ValueError``). Weights must be finite and non-negative.
        Cost: one Python-level pass over the edges, then a vectorised sort.
        """
        ids: list[str] = []
        codes = bytearray()
        index: dict[str, int] = {}
        for node_id, kind in nodes:
            code = _KIND_CODE[NodeKind(kind)]
            prev = index.get(node_id)
            if prev is None:
                index[node_id] = len(ids)
                ids.append(node_id)
                codes.append(code)
            elif codes[prev] != code:
                raise ValueError(f"node {node_id!r} given as both kinds")
        src: list[int] = []
        dst: list[int] = []
        wts: list[float] = []
        for s, d, weight, kind in edges:
            u, v = _lookup_pair(index, s, d)
            _check_edge(codes[u], codes[v], EdgeKind(kind), s, d)
            src.append(u)
            dst.append(v)
            wts.append(_check_weight(weight, s, d))
        return cls.from_arrays(
            ids,
            np.frombuffer(bytes(codes), dtype=np.uint8),
            np.asarray(src, dtype=np.int64),
            np.asarray(dst, dtype=np.int64),
            np.asarray(wts, dtype=np.float64),
        )

    @classmethod
    def from_arrays(
        cls,
        node_ids: Sequence[str],
        node_kinds: npt.ArrayLike,
        src: npt.ArrayLike,
        dst: npt.ArrayLike,
        weights: npt.ArrayLike,
    ) -> GraphProjection:
        """Build a projection from integer edge arrays; the fast path for large graphs.

        Parameters
        ----------
        node_ids : sequence of str
            Unique node ids; node ``i`` is ``node_ids[i]``.
        node_kinds : array_like
            One :class:`NodeKind` (or its string value) per node, or ``uint8`` codes from
            :data:`NODE_KIND_CODES`.
        src, dst : array_like of int
            Endpoint positions of each edge, in ``[0, len(node_ids))``.
        weights : array_like of float
            Finite, non-negative edge weights. Parallel edges are summed; zero-weight edges
            are dropped.

        Notes
        -----
        Edge kinds are not checked here; :meth:`from_edges` checks them. Cost: O(m log m) for
        one sort of the ``2m`` directed entries (about 1 s for 5M edges on one core).
        """
        ids = list(node_ids)
        index = {node_id: i for i, node_id in enumerate(ids)}
        if len(index) != len(ids):
            raise ValueError("node ids are not unique")
        codes = _as_kind_codes(node_kinds, len(ids))
        s = np.asarray(src, dtype=np.int64).ravel()
        d = np.asarray(dst, dtype=np.int64).ravel()
        w = np.asarray(weights, dtype=np.float64).ravel()
        if not s.shape == d.shape == w.shape:
            raise ValueError("src, dst and weights must have the same length")
        n = len(ids)
        if s.size and (min(s.min(), d.min()) < 0 or max(s.max(), d.max()) >= n):
            raise ValueError("edge endpoint out of range")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("edge weights must be finite and non-negative")
        keys, merged = _sorted_directed_entries(s, d, w, n)
        proj = cls()
        with proj._lock:
            proj._ids = ids
            proj._kinds = bytearray(codes.tobytes())
            proj._alive = bytearray(b"\x01") * len(ids)
            proj._index = index
            proj._snapshot = _make_snapshot(
                1, tuple(ids), MappingProxyType(index), codes, *_csr_from_keys(keys, merged, n)
            )
            proj._index_shared = True
        return proj

    @classmethod
    def from_snapshot(cls, snapshot: ProjectionSnapshot) -> GraphProjection:
        """A new builder whose current graph is ``snapshot``; the fork of an existing graph.

        The CSR arrays are shared (they are read-only; every later snapshot copies what it
        changes), the node tables copied: O(n). Changes to the new builder never reach the
        builder ``snapshot`` came from, nor the reverse, so one holder of the old graph keeps
        seeing it while another patches a copy. Its snapshots continue ``snapshot.version``.
        """
        proj = cls()
        alive = bytearray(snapshot.num_slots)
        for slot in snapshot.node_index.values():
            alive[slot] = 1
        with proj._lock:
            proj._snapshot = snapshot
            proj._ids = list(snapshot.node_ids)
            proj._kinds = bytearray(snapshot.node_kinds.tobytes())
            proj._alive = alive
            proj._num_dead = snapshot.num_slots - snapshot.num_nodes
            proj._index = dict(snapshot.node_index)
        return proj

    # ---- queries -----------------------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        """Number of live nodes, pending changes included."""
        with self._lock:
            return len(self._index)

    @property
    def has_pending_changes(self) -> bool:
        """Whether :meth:`snapshot` would build a new snapshot."""
        with self._lock:
            return self._dirty()

    def __contains__(self, node_id: object) -> bool:
        with self._lock:
            return node_id in self._index

    def kind_of(self, node_id: str) -> NodeKind:
        """Kind of a live node; ``KeyError`` if there is no such node."""
        with self._lock:
            return NODE_KIND_CODES[self._kinds[self._index[node_id]]]

    def edge_weight(self, src: str, dst: str) -> float:
        """Current merged weight of ``{src, dst}`` (0.0 if none); ``KeyError`` for unknown ids."""
        with self._lock:
            u, v = _lookup_pair(self._index, src, dst)
            return self._weight(_pair(u, v))

    def has_edge(self, src: str, dst: str) -> bool:
        """Whether ``{src, dst}`` currently has an edge (False for unknown ids)."""
        with self._lock:
            if src not in self._index or dst not in self._index:
                return False
            return self._weight(_pair(self._index[src], self._index[dst])) > 0.0

    # ---- updates -----------------------------------------------------------------------------

    def add_node(self, node_id: str, kind: NodeKind | str) -> None:
        """Add a node; a no-op if it exists with the same kind, ``ValueError`` if another kind."""
        code = _KIND_CODE[NodeKind(kind)]
        with self._lock:
            slot = self._index.get(node_id)
            if slot is not None:
                if self._kinds[slot] != code:
                    raise ValueError(f"node {node_id!r} already exists as another kind")
                return
            self._own_index()
            self._index[node_id] = len(self._ids)
            self._ids.append(node_id)
            self._kinds.append(code)
            self._alive.append(1)
            self._nodes_changed = True

    def add_nodes(self, nodes: Iterable[tuple[str, NodeKind | str]]) -> None:
        """:meth:`add_node` for each ``(node_id, kind)``."""
        with self._lock:
            for node_id, kind in nodes:
                self.add_node(node_id, kind)

    def remove_node(self, node_id: str) -> None:
        """Remove a node and all its edges; ``KeyError`` if there is no such node."""
        with self._lock:
            if node_id not in self._index:
                raise KeyError(node_id)
            self._own_index()
            slot = self._index.pop(node_id)
            self._alive[slot] = 0
            self._num_dead += 1
            self._removed_nodes.add(slot)
            self._nodes_changed = True
            # Its edges, stored and buffered, are dropped when the next snapshot is built.

    def add_edge(self, src: str, dst: str, weight: float, kind: EdgeKind | str) -> None:
        """Add ``weight`` to the undirected edge ``{src, dst}`` (created if absent).

        Raises ``KeyError`` for an unknown endpoint and ``ValueError`` for a negative or
        non-finite weight or an edge kind that does not fit the endpoints' node kinds. A
        zero weight is checked and then ignored: it carries no walk probability.
        """
        edge_kind = EdgeKind(kind)
        with self._lock:
            u, v = _lookup_pair(self._index, src, dst)
            _check_edge(self._kinds[u], self._kinds[v], edge_kind, src, dst)
            w = _check_weight(weight, src, dst)
            if w > 0.0:
                key = _pair(u, v)
                self._pending[key] = self._pending.get(key, 0.0) + w

    def add_edges(self, edges: Iterable[Edge]) -> None:
        """:meth:`add_edge` for each ``(src, dst, weight, kind)``."""
        with self._lock:
            for src, dst, weight, kind in edges:
                self.add_edge(src, dst, weight, kind)

    def remove_edge(self, src: str, dst: str) -> None:
        """Remove the merged edge ``{src, dst}``; ``KeyError`` if there is none."""
        with self._lock:
            u, v = _lookup_pair(self._index, src, dst)
            key = _pair(u, v)
            in_base = self._base_weight(key) > 0.0
            if self._pending.pop(key, None) is None and not in_base:
                raise KeyError((src, dst))
            if in_base:
                self._removed_pairs.add(key)

    # ---- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> ProjectionSnapshot:
        """The current graph as an immutable snapshot.

        Returns the previous snapshot object when nothing changed since it was built. Otherwise
        merges the buffered changes into it: O(m + k log k) vectorised work for m stored
        entries and k buffered changes, plus O(n) when nodes were added or removed.
        """
        with self._lock:
            if self._dirty():
                self._snapshot = self._rebuild()
            return self._snapshot

    def compact(self) -> ProjectionSnapshot:
        """Like :meth:`snapshot`, but also drops every removed node's slot and renumbers."""
        with self._lock:
            self._compact_requested = self._num_dead > 0
            return self.snapshot()

    # ---- internals ---------------------------------------------------------------------------

    def _dirty(self) -> bool:
        return bool(
            self._nodes_changed
            or self._pending
            or self._removed_pairs
            or self._removed_nodes
            or self._compact_requested
        )

    def _own_index(self) -> None:
        if self._index_shared:
            self._index = dict(self._index)
            self._index_shared = False

    def _base_weight(self, key: tuple[int, int]) -> float:
        u, v = key
        base = self._snapshot
        if v >= base.num_slots or key in self._removed_pairs:
            return 0.0
        if u in self._removed_nodes or v in self._removed_nodes:
            return 0.0
        return _csr_lookup(base, u, v)

    def _weight(self, key: tuple[int, int]) -> float:
        return self._base_weight(key) + self._pending.get(key, 0.0)

    def _rebuild(self) -> ProjectionSnapshot:
        base = self._snapshot
        if self._removed_nodes:
            self._expand_node_removals()
        compact = self._compact_requested or self._num_dead * _TOMBSTONE_LIMIT > len(self._ids)
        changes = len(self._pending) + len(self._removed_pairs)
        if not compact and changes <= max(_SMALL_BATCH, base.nnz // 1000):
            csr = self._patched_csr()
        else:
            keys, weights, n = self._merged_keys(compact)
            csr = _csr_from_keys(keys, weights, n)
        if compact or self._nodes_changed:
            if not compact and len(self._ids) == base.num_slots:  # only removals: same slots
                ids, kinds = base.node_ids, base.node_kinds
            else:
                ids = tuple(self._ids)
                kinds = np.frombuffer(bytes(self._kinds), dtype=np.uint8)
            index: Mapping[str, int] = MappingProxyType(self._index)
            self._index_shared = True
        else:
            ids, index, kinds = base.node_ids, base.node_index, base.node_kinds
        snap = _make_snapshot(base.version + 1, ids, index, kinds, *csr)
        self._nodes_changed = False
        self._compact_requested = False
        self._removed_pairs.clear()
        self._pending.clear()
        return snap

    def _expand_node_removals(self) -> None:
        """Turn the removal of nodes into the removal of their edges: O(their degree)."""
        removed = self._removed_nodes
        if self._pending:
            self._pending = {
                k: w
                for k, w in self._pending.items()
                if k[0] not in removed and k[1] not in removed
            }
        base = self._snapshot
        for slot in removed:
            if slot < base.num_slots:
                lo, hi = int(base.indptr[slot]), int(base.indptr[slot + 1])
                for other in base.indices[lo:hi].tolist():
                    self._removed_pairs.add(_pair(slot, other))
        self._removed_nodes = set()

    def _patched_csr(
        self,
    ) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray, FloatArray, int]:
        """Apply a small batch of edge changes row by row; nodes may only have been added.

        Finds each changed entry by binary search in its row, then copies the arrays once with
        the deletions and insertions applied: O(nnz + n) memory traffic, no sort, no keys.
        """
        base = self._snapshot
        n_old, n_new = base.num_slots, len(self._ids)
        indptr, indices = base.indptr, base.indices
        weights = base.weights.copy()
        dels: list[int] = []
        del_rows: list[int] = []
        for a, b in self._removed_pairs:
            for r, c in ((a, b), (b, a)) if a != b else ((a, a),):
                dels.append(_row_position(base, r, c)[0])
                del_rows.append(r)
        deleted = set(dels)
        inserts: list[tuple[int, int, int, float]] = []  # (position, row, col, weight)
        updated_rows: list[int] = []
        new_pairs = 0
        for (a, b), w in self._pending.items():
            found = False
            for r, c in ((a, b), (b, a)) if a != b else ((a, a),):
                if r >= n_old:  # a new node: its row goes after every old row
                    inserts.append((indices.shape[0], r, c, w))
                    continue
                pos, present = _row_position(base, r, c)
                if present and pos not in deleted:
                    weights[pos] += w
                    updated_rows.append(r)
                    found = True
                else:
                    inserts.append((pos, r, c, w))
            new_pairs += not found

        if dels:
            del_sorted = np.sort(np.asarray(dels, dtype=np.int64))
            indices = np.delete(indices, del_sorted)
            weights = np.delete(weights, del_sorted)
        if inserts:
            inserts.sort()
            pos_arr = np.array([x[0] for x in inserts], dtype=np.int64)
            if dels:
                pos_arr -= np.searchsorted(del_sorted, pos_arr, side="left")
            indices = np.insert(indices, pos_arr, np.array([x[2] for x in inserts], np.int32))
            weights = np.insert(weights, pos_arr, np.array([x[3] for x in inserts]))

        delta = np.zeros(n_new, dtype=np.int64)
        np.add.at(delta, np.asarray(del_rows, dtype=np.int64), -1)
        ins_rows = np.array([x[1] for x in inserts], dtype=np.int64)
        np.add.at(delta, ins_rows, 1)
        new_indptr = np.empty(n_new + 1, dtype=np.int64)
        new_indptr[: n_old + 1] = indptr
        new_indptr[n_old + 1 :] = indptr[-1]
        new_indptr[1:] += np.cumsum(delta)
        degree = np.zeros(n_new, dtype=np.float64)
        degree[:n_old] = base.degree
        for r in set(del_rows) | set(updated_rows) | set(ins_rows.tolist()):
            degree[r] = weights[new_indptr[r] : new_indptr[r + 1]].sum()
        num_edges = base.num_edges - len(self._removed_pairs) + new_pairs
        return new_indptr, indices.astype(np.int32, copy=False), weights, degree, num_edges

    def _merged_keys(self, compact: bool) -> tuple[IntArray, FloatArray, int]:
        """Apply any batch as one sorted merge of ``row * n + col`` keys.

        O(nnz + k log k) vectorised. With ``compact``, also drops the tombstone slots and
        renumbers the nodes (rewriting the node tables): O(n) more.
        """
        base = self._snapshot
        n_work = len(self._ids)
        keys = base.row_indices().astype(np.int64) * n_work + base.indices
        weights = base.weights
        if self._removed_pairs:
            pairs = np.array(sorted(self._removed_pairs), dtype=np.int64).reshape(-1, 2)
            gone = np.concatenate(
                (pairs[:, 0] * n_work + pairs[:, 1], pairs[:, 1] * n_work + pairs[:, 0])
            )
            pos = np.searchsorted(keys, gone)
            hit = pos < keys.shape[0]
            hit[hit] = keys[pos[hit]] == gone[hit]
            keep = np.ones(keys.shape[0], dtype=bool)
            keep[pos[hit]] = False
            keys, weights = keys[keep], weights[keep]
        if self._pending:
            pairs = np.array(list(self._pending), dtype=np.int64).reshape(-1, 2)
            added = np.fromiter(self._pending.values(), dtype=np.float64, count=len(pairs))
            add_keys, add_w = _sorted_directed_entries(pairs[:, 0], pairs[:, 1], added, n_work)
            keys, weights = _merge_sorted(keys, weights, add_keys, add_w)
        if not compact:
            return keys, weights, n_work
        # Renumber the live slots in order (so the keys stay sorted); tombstones have no edges.
        alive = np.frombuffer(bytes(self._alive), dtype=np.uint8).astype(bool)
        remap = np.cumsum(alive, dtype=np.int64) - 1
        n = int(alive.sum())
        row_of, col_of = np.divmod(keys, n_work)
        keys = remap[row_of] * n + remap[col_of]
        kinds = np.frombuffer(bytes(self._kinds), dtype=np.uint8)
        self._ids = list(itertools.compress(self._ids, self._alive))
        self._kinds = bytearray(kinds[alive].tobytes())
        self._alive = bytearray(b"\x01") * n
        self._num_dead = 0
        self._index = dict(zip(self._ids, range(n), strict=True))
        self._index_shared = False
        return keys, weights, n


# ---- helpers ---------------------------------------------------------------------------------


def _pair(u: int, v: int) -> tuple[int, int]:
    return (u, v) if u <= v else (v, u)


def _lookup_pair(index: Mapping[str, int], src: str, dst: str) -> tuple[int, int]:
    try:
        return index[src], index[dst]
    except KeyError as e:
        raise KeyError(f"unknown node {e.args[0]!r}") from e


def _check_weight(weight: float, src: str, dst: str) -> float:
    w = float(weight)
    if not math.isfinite(w) or w < 0.0:
        raise ValueError(f"edge ({src!r}, {dst!r}): weight must be finite and >= 0, got {weight}")
    return w


def _check_edge(code_u: int, code_v: int, kind: EdgeKind, src: str, dst: str) -> None:
    if kind is EdgeKind.MENTION:
        ok = {code_u, code_v} == {_ENTITY, _PASSAGE}
        need = "a passage and an entity"
    else:
        ok = code_u == code_v == _ENTITY
        need = "two entities"
    if not ok:
        raise ValueError(f"edge ({src!r}, {dst!r}) of kind {kind.value!r} must join {need}")


def _as_kind_codes(node_kinds: npt.ArrayLike, n: int) -> npt.NDArray[np.uint8]:
    arr = np.asarray(node_kinds)
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() >= len(NODE_KIND_CODES)):
            raise ValueError("node kind code out of range")
        codes = arr.astype(np.uint8).ravel()
    else:
        codes = np.fromiter((_KIND_CODE[NodeKind(k)] for k in arr.ravel().tolist()), dtype=np.uint8)
    if codes.shape[0] != n:
        raise ValueError("need one node kind per node id")
    return codes


def _empty_csr(n: int) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray, FloatArray, int]:
    return (
        np.zeros(n + 1, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.float64),
        np.zeros(n, np.float64),
        0,
    )


def _sorted_directed_entries(
    src: IntArray, dst: IntArray, weights: FloatArray, n: int
) -> tuple[IntArray, FloatArray]:
    """Both directions of each edge (a loop once) as sorted unique keys ``row * n + col``.

    Duplicate keys are merged by summing; zero-weight entries are dropped.
    """
    off = src != dst
    rows = np.concatenate((src, dst[off]))
    cols = np.concatenate((dst, src[off]))
    w = np.concatenate((weights, weights[off]))
    keys = rows * n + cols
    order = np.argsort(keys, kind="stable")
    keys, w = keys[order], w[order]
    if keys.shape[0]:
        first = np.empty(keys.shape[0], dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        keys, w = keys[starts], np.add.reduceat(w, starts)
    positive = w > 0.0
    return keys[positive], w[positive]


def _merge_sorted(
    keys: IntArray, weights: FloatArray, add_keys: IntArray, add_w: FloatArray
) -> tuple[IntArray, FloatArray]:
    """Merge sorted unique ``add_keys`` into sorted unique ``keys``, summing equal keys."""
    pos = np.searchsorted(keys, add_keys)
    hit = pos < keys.shape[0]
    hit[hit] = keys[pos[hit]] == add_keys[hit]
    weights = weights.copy()  # may be a read-only array of the previous snapshot
    weights[pos[hit]] += add_w[hit]
    miss = ~hit
    return np.insert(keys, pos[miss], add_keys[miss]), np.insert(weights, pos[miss], add_w[miss])


def _csr_from_keys(
    keys: IntArray, weights: FloatArray, n: int
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray, FloatArray, int]:
    if n == 0:
        return _empty_csr(0)
    rows, cols = np.divmod(keys, n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    degree = np.bincount(rows, weights=weights, minlength=n).astype(np.float64)
    loops = int(np.count_nonzero(rows == cols))
    num_edges = (keys.shape[0] + loops) // 2
    return indptr, cols.astype(np.int32), np.ascontiguousarray(weights), degree, num_edges


def _make_snapshot(
    version: int,
    node_ids: tuple[str, ...],
    node_index: Mapping[str, int],
    node_kinds: npt.NDArray[np.uint8],
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weights: FloatArray,
    degree: FloatArray,
    num_edges: int,
) -> ProjectionSnapshot:
    arrays: list[npt.NDArray[Any]] = []
    for given in (node_kinds, indptr, indices, weights, degree):
        a: npt.NDArray[Any] = np.ascontiguousarray(given)
        if a.flags.writeable:
            a.flags.writeable = False
        arrays.append(a)
    kinds, ptr, idx, w, deg = arrays
    return ProjectionSnapshot(version, node_ids, node_index, kinds, ptr, idx, w, deg, num_edges)


def _row_position(snap: ProjectionSnapshot, u: int, v: int) -> tuple[int, bool]:
    """Where ``(u, v)`` is, or would be inserted, in the CSR arrays; and whether it is there."""
    lo, hi = int(snap.indptr[u]), int(snap.indptr[u + 1])
    pos = lo + int(np.searchsorted(snap.indices[lo:hi], v))
    return pos, pos < hi and int(snap.indices[pos]) == v


def _csr_lookup(snap: ProjectionSnapshot, u: int, v: int) -> float:
    pos, present = _row_position(snap, u, v)
    return float(snap.weights[pos]) if present else 0.0
