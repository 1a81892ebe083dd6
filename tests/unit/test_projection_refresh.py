"""The pure half of the incremental refresh: merging a delta of records into a loaded graph.

Every test builds graphs from hand-written records (no database): a graph patched with
:func:`merge_delta` must equal :func:`build_graph` over all the records, and a change a delta
of additions does not explain must be rejected.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from graph.projection import EdgeKind, GraphProjection, NodeKind
from graph.projection_loader import (
    DeltaRejected,
    EntityRecord,
    FactRecord,
    GraphRecords,
    GraphState,
    LoadedGraph,
    PassageRecord,
    build_graph,
    graph_differences,
    merge_delta,
)

V1 = "spacy-v1"


def passage(pid: str, doc: str, index: int, *, archived: bool = False) -> PassageRecord:
    return PassageRecord(pid, doc, None, f"text of {pid}", None, f"{doc}.txt", archived)


def entity(eid: str, *aliases: str) -> EntityRecord:
    return EntityRecord(eid, eid.upper(), eid, aliases or (eid.upper(),))


def fact(fid: str, s: str, o: str, *sources: str, confidence: float = 1.0) -> FactRecord:
    return FactRecord(
        fid, s, "rel", o, f"{s} rel {o}", s, o, None, None, None, confidence, tuple(sources)
    )


def records(
    passages: list[tuple[PassageRecord, int, str | None]],
    entities: list[tuple[EntityRecord, bool]],
    facts: list[FactRecord],
    mentions: list[tuple[str, str]],
    synonyms: list[tuple[str, str, float]],
) -> GraphRecords:
    """Records as the loader reads them: passages with (index, extractor), entities with
    whether the synonym stage checked them."""
    return GraphRecords(
        passages=tuple(p for p, _, _ in passages),
        passage_keys={p.id: (p.document_id, i, p.id) for p, i, _ in passages},
        extracted_by={p.id: v for p, _, v in passages},
        entities=tuple(e for e, _ in entities),
        checked={e.id: c for e, c in entities},
        facts=tuple(facts),
        mentions=tuple(mentions),
        synonyms=tuple(synonyms),
    )


def union(old: GraphRecords, new: GraphRecords) -> GraphRecords:
    """The whole graph after ``new``: its records replace ``old``'s with the same id."""
    ps = {p.id: p for p in old.passages} | {p.id: p for p in new.passages}
    es = {e.id: e for e in old.entities} | {e.id: e for e in new.entities}
    fs = {f.id: f for f in old.facts} | {f.id: f for f in new.facts}
    syn = {(a, b): s for a, b, s in old.synonyms} | {(a, b): s for a, b, s in new.synonyms}
    return GraphRecords(
        passages=tuple(ps.values()),
        passage_keys={**old.passage_keys, **new.passage_keys},
        extracted_by={**old.extracted_by, **new.extracted_by},
        entities=tuple(es.values()),
        checked={**old.checked, **new.checked},
        facts=tuple(fs.values()),
        mentions=tuple(dict.fromkeys(old.mentions + new.mentions)),
        synonyms=tuple((a, b, s) for (a, b), s in syn.items()),
    )


def state_of(rec: GraphRecords, **marks: object) -> GraphState:
    """The fingerprint Neo4j would report for a graph holding exactly ``rec``."""
    versions: dict[str, int] = {}
    for v in rec.extracted_by.values():
        if v is not None:
            versions[v] = versions.get(v, 0) + 1
    base = GraphState(
        documents=len({p.document_id for p in rec.passages}),
        passages=len(rec.passages),
        entities=len(rec.entities),
        facts=len(rec.facts),
        mentions=len(set(rec.mentions)),
        states=sum(len(f.passage_ids) for f in rec.facts),
        synonyms=len({(a, b) for a, b, _ in rec.synonyms}),
        extracted=tuple(sorted(versions.items())),
    )
    return replace(base, **marks)  # type: ignore[arg-type]


# Batch one: two documents; d2's passage not extracted yet, entity "c" not checked for synonyms.
BASE = records(
    passages=[
        (passage("p1", "d1", 0), 0, V1),
        (passage("p2", "d1", 1), 1, V1),
        (passage("p3", "d2", 0), 0, None),
    ],
    entities=[(entity("a"), True), (entity("b"), True), (entity("c"), False)],
    facts=[fact("f1", "a", "b", "p1"), fact("f2", "b", "c", "p2")],
    mentions=[("p1", "a"), ("p1", "b"), ("p2", "b"), ("p2", "c")],
    synonyms=[("a", "b", 0.9)],
)

# What ingestion adds: p3's extraction (a new entity, an alias for "a", a second source and a
# higher confidence for f1, a new fact between a and b that already share a synonym edge), a
# new document d0 that sorts before d1, and the synonym stage linking the unchecked entities.
DELTA = records(
    passages=[
        (passage("p0", "d0", 0), 0, V1),
        (passage("p3", "d2", 0), 0, V1),
    ],
    entities=[
        (entity("a", "A", "Alpha"), True),
        (entity("c"), True),
        (entity("d"), True),
        (entity("aa"), True),
    ],
    facts=[
        fact("f1", "a", "b", "p1", "p3", confidence=1.5),
        fact("f0", "b", "a", "p3"),
        fact("f3", "d", "d", "p0"),
        fact("f4", "aa", "c", "p0"),
    ],
    mentions=[("p3", "a"), ("p3", "d"), ("p0", "d"), ("p0", "aa"), ("p0", "c")],
    synonyms=[("c", "d", 0.8), ("a", "aa", 0.95), ("b", "c", 0.7)],
)


def test_merging_additions_equals_building_the_whole_graph() -> None:
    base = build_graph(state_of(BASE), BASE)
    whole = union(BASE, DELTA)
    merged = merge_delta(base, DELTA, state_of(whole))
    expected = build_graph(state_of(whole), whole)
    assert graph_differences(merged, expected) == []
    assert list(merged.passages) == ["p0", "p1", "p2", "p3"]  # canonical order kept
    assert merged.facts["f1"].passage_ids == ("p1", "p3")
    assert merged.facts["f1"].confidence == 1.5
    assert merged.entities["a"].aliases == ("A", "Alpha")
    assert merged.passage_facts["p3"] == ("f0", "f1")
    snap = merged.projection.snapshot()
    assert snap.edge_weight("a", "b") == 2.0 + 0.9  # two facts (both directions) + synonym
    assert snap.edge_weight("d", "d") == 1.0  # a self-loop fact
    assert snap.edge_weight("b", "c") == 1.0 + 0.7
    assert merged.basis is not None and expected.basis is not None
    assert merged.basis.pending == expected.basis.pending == frozenset()
    assert merged.basis.unchecked == expected.basis.unchecked == frozenset()
    assert dict(merged.basis.extracted) == dict(expected.basis.extracted) == {V1: 4}


def test_merging_leaves_the_old_graph_untouched() -> None:
    base = build_graph(state_of(BASE), BASE)
    snap = base.projection.snapshot()
    before = build_graph(state_of(BASE), BASE)
    whole = union(BASE, DELTA)
    merge_delta(base, DELTA, state_of(whole))
    assert base.projection.snapshot() is snap
    assert graph_differences(base, before) == []


def test_merges_chain() -> None:
    """A graph patched twice equals one built from everything."""
    first = records(
        passages=[(passage("p0", "d0", 0), 0, V1)],
        entities=[(entity("d"), False)],
        facts=[fact("f3", "d", "b", "p0")],
        mentions=[("p0", "d")],
        synonyms=[],
    )
    second = records(
        passages=[(passage("p9", "d9", 0), 0, None)],
        entities=[(entity("d"), True)],
        facts=[],
        mentions=[],
        synonyms=[("b", "d", 0.85)],
    )
    one = union(BASE, first)
    two = union(one, second)
    base = build_graph(state_of(BASE), BASE)
    merged = merge_delta(merge_delta(base, first, state_of(one)), second, state_of(two))
    assert graph_differences(merged, build_graph(state_of(two), two)) == []


def test_the_live_view_is_patched_too() -> None:
    archived = records(
        passages=[
            (passage("p1", "d1", 0), 0, V1),
            (passage("p2", "d1", 1, archived=True), 1, V1),
        ],
        entities=[(entity("a"), True), (entity("b"), True)],
        facts=[
            fact("f1", "a", "b", "p1", "p2"),
            replace(fact("f2", "b", "a", "p2"), archived=True),
        ],
        mentions=[("p1", "a"), ("p2", "b")],
        synonyms=[],
    )
    delta = records(
        passages=[(passage("p5", "d5", 0), 0, V1)],
        entities=[(entity("e"), True)],
        facts=[fact("f5", "e", "a", "p5")],
        mentions=[("p5", "e"), ("p5", "a")],
        synonyms=[],
    )
    marks = {"archived": 2, "archived_max": "2025-01-01T00:00:00Z"}
    base = build_graph(state_of(archived, **marks), archived)
    assert base.live is not None and "p2" not in base.live.passages
    whole = union(archived, delta)
    merged = merge_delta(base, delta, state_of(whole, **marks))
    assert merged.live is not None and merged.consolidated
    assert graph_differences(merged, build_graph(state_of(whole, **marks), whole)) == []


def test_records_come_in_canonical_order_whatever_order_they_are_read_in() -> None:
    shuffled = replace(
        BASE,
        passages=BASE.passages[::-1],
        entities=BASE.entities[::-1],
        facts=BASE.facts[::-1],
        mentions=BASE.mentions[::-1],
    )
    a, b = build_graph(state_of(BASE), BASE), build_graph(state_of(BASE), shuffled)
    assert graph_differences(a, b) == []
    assert list(a.entities) == ["a", "b", "c"]


def base_graph() -> LoadedGraph:
    return build_graph(state_of(BASE), BASE)


@pytest.mark.parametrize(
    ("delta", "state", "reason"),
    [
        # forget: a passage (and its mentions and source link) gone, nothing added
        (GraphRecords(), replace(state_of(BASE), passages=2, mentions=2, states=1), "passages"),
        # a deletion hidden behind an addition: one passage added, one deleted
        (
            records([(passage("p7", "d7", 0), 0, None)], [], [], [], []),
            state_of(BASE),
            "passages: 4 after the delta, 3",
        ),
        # entity merge: one entity fewer
        (GraphRecords(), replace(state_of(BASE), entities=2), "entities"),
        # supersession and archiving are reloaded in full
        (GraphRecords(), replace(state_of(BASE), supersedes=1), "supersedes changed"),
        (GraphRecords(), replace(state_of(BASE), archived=1), "archived changed"),
        # a re-extraction by another version moves passages between versions
        (
            GraphRecords(),
            replace(state_of(BASE), extracted=((V1, 1), ("spacy-v2", 1))),
            "passages per extractor",
        ),
        # a re-read fact that lost a source, or changed its subject
        (
            records([], [], [fact("f1", "a", "b")], [], []),
            replace(state_of(BASE), states=1),
            "lost a source",
        ),
        (
            records([], [], [fact("f1", "c", "b", "p1")], [], []),
            state_of(BASE),
            "subject or object",
        ),
        # a passage that moved within its document (a replaced document)
        (records([(passage("p2", "d1", 5), 5, V1)], [], [], [], []), state_of(BASE), "moved"),
    ],
)
def test_changes_a_delta_cannot_explain_are_rejected(
    delta: GraphRecords, state: GraphState, reason: str
) -> None:
    with pytest.raises(DeltaRejected, match=reason):
        merge_delta(base_graph(), delta, state)


def test_a_live_view_has_no_basis_to_merge_into() -> None:
    archived = replace(
        BASE, passages=(replace(BASE.passages[0], archived=True), *BASE.passages[1:])
    )
    graph = build_graph(state_of(archived), archived)
    assert graph.live is not None and graph.live.basis is None
    with pytest.raises(DeltaRejected, match="no delta basis"):
        merge_delta(graph.live, GraphRecords(), state_of(archived))


def test_a_forked_projection_does_not_touch_its_origin() -> None:
    proj = GraphProjection.from_edges(
        [("a", NodeKind.ENTITY), ("b", NodeKind.ENTITY), ("p", NodeKind.PASSAGE)],
        [("a", "b", 1.0, EdgeKind.FACT), ("p", "a", 1.0, EdgeKind.MENTION)],
    )
    proj.remove_node("b")
    snap = proj.snapshot()
    fork = GraphProjection.from_snapshot(snap)
    fork.add_node("c", NodeKind.ENTITY)
    fork.add_edge("a", "c", 2.0, EdgeKind.SYNONYM)
    fork.remove_edge("p", "a")
    new = fork.snapshot()
    assert proj.snapshot() is snap and snap.num_nodes == 2 and snap.edge_weight("p", "a") == 1.0
    assert new.version == snap.version + 1
    assert sorted(new.node_index) == ["a", "c", "p"]
    assert new.edge_weight("a", "c") == 2.0 and new.edge_weight("p", "a") == 0.0
    assert "b" not in new and new.num_nodes == 3
    proj.add_edge("p", "a", 1.0, EdgeKind.MENTION)
    assert fork.snapshot() is new
