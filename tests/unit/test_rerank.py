"""The iterative rerank's bridge and hop steps on hand-built graphs (no database, no embedder).

The graph mirrors the sample's two-hop question: "Where was the designer of the Kestrel born?"
A top passage says the Kestrel is an inspection drone, was built, launched and renamed by
Halvard (a hub) and designed by Elias Brandt; the answer passage says where Elias Brandt was
born and never mentions the Kestrel. Similarities are given as tables, so each test controls
what an embedder would say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from graph.projection_loader import (
    EntityRecord,
    FactRecord,
    GraphRecords,
    GraphState,
    LoadedGraph,
    PassageRecord,
    build_graph,
)
from retrieval import rerank
from retrieval.config import Preset, preset_config

QUERY = "Where was the designer of the Kestrel drone born?"

# fact id: (subject, predicate, object, passage)
FACTS = {
    "f_type": ("kestrel", "be", "drone", "p_product"),
    "f_built": ("halvard", "build", "kestrel", "p_product"),
    "f_launch": ("halvard", "launch", "kestrel", "p_product"),
    "f_rename": ("halvard", "rename", "kestrel", "p_product"),
    "f_design": ("brandt", "design", "kestrel", "p_product"),
    "f_born": ("brandt", "be born in", "tartu", "p_prize"),
    "f_lives": ("brandt", "live in", "tallinn", "p_prize"),
    "f_hq": ("halvard", "be based in", "porto", "p_company"),
}
NAMES = {
    "kestrel": "Kestrel drone",
    "drone": "inspection drone",
    "halvard": "Halvard Robotics",
    "brandt": "Elias Brandt",
    "tartu": "Tartu",
    "tallinn": "Tallinn",
    "porto": "Porto",
}
# The query's similarity to each fact: the design fact is only 4th, behind three facts
# joining the Kestrel to the hub and one to its type.
QUERY_SIM = {
    "f_type": 0.72,
    "f_built": 0.71,
    "f_launch": 0.70,
    "f_rename": 0.69,
    "f_design": 0.63,
    "f_born": 0.30,
    "f_lives": 0.25,
    "f_hq": 0.40,
}


def sample_graph() -> LoadedGraph:
    passages = ("p_product", "p_prize", "p_company")
    facts = tuple(
        FactRecord(
            fid,
            NAMES[s],
            p,
            NAMES[o],
            f"{NAMES[s]} {p} {NAMES[o]}",
            s,
            o,
            None,
            None,
            None,
            1.0,
            (pid,),
        )  # fmt: skip
        for fid, (s, p, o, pid) in FACTS.items()
    )
    mentions = sorted({(pid, e) for s, _, o, pid in FACTS.values() for e in (s, o)})
    records = GraphRecords(
        passages=tuple(
            PassageRecord(pid, pid, None, f"text of {pid}", None, None) for pid in passages
        ),
        passage_keys={pid: (pid, 0, pid) for pid in passages},
        extracted_by=dict.fromkeys(passages, "v"),
        entities=tuple(EntityRecord(e, n, n.lower(), (n,)) for e, n in NAMES.items()),
        checked=dict.fromkeys(NAMES, True),
        facts=facts,
        mentions=tuple(mentions),
        synonyms=(),
    )
    return build_graph(GraphState(), records)


def fact_similarity(fact_ids: Sequence[str]) -> Mapping[str, float]:
    return {f: QUERY_SIM[f] for f in fact_ids}


def hop_similarity(
    questions: Sequence[str], fact_ids: Sequence[Sequence[str]]
) -> list[dict[str, float]]:
    """A question naming Elias Brandt and asking where he was born matches the birth fact."""
    out = []
    for question, ids in zip(questions, fact_ids, strict=True):
        born = "Elias Brandt" in question and "born" in question
        out.append({f: (0.83 if f == "f_born" and born else 0.35) for f in ids})
    return out


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("designer", "design", True),
        ("married", "marry", True),
        ("director", "directed", True),
        ("founder", "found", True),
        ("born", "bear", False),
        ("drone", "drive", False),
        ("cat", "cats", False),  # too short to tell apart from chance
    ],
)
def test_stem_match(a: str, b: str, same: bool) -> None:
    assert rerank._stem_match(a, b) is same


def test_hop_question_replaces_the_resolved_span_with_the_bridge() -> None:
    q = rerank.hop_question(QUERY, ["Kestrel drone", "Kestrel"], "design", "Elias Brandt")
    assert q == "Where was the Elias Brandt born?"


def test_no_hop_when_the_predicate_answers_no_relation_in_the_query() -> None:
    assert rerank.hop_question(QUERY, ["Kestrel"], "be", "inspection drone") is None
    assert rerank.hop_question(QUERY, ["Kestrel"], "launch", "Halvard Robotics") is None


def test_words_of_an_anchor_name_do_not_count_as_the_relation() -> None:
    # "drone" is part of the anchor "Kestrel drone", not a relation the fact resolves.
    q = rerank.hop_question(
        QUERY, ["Kestrel drone"], "be first commercial drone of", "Halvard Robotics"
    )
    assert q is None


def test_a_long_span_keeps_the_words_between_the_resolved_ones() -> None:
    query = "Who founded the company that acquired the band's record label Parlophone?"
    q = rerank.hop_question(query, ["Parlophone"], "found", "EMI")
    assert q == "Who EMI the company that acquired the band's record label?"


def test_bridges_are_distinct_entities() -> None:
    """Three facts join the Kestrel to the hub; the hub takes one bridge slot, not three."""
    graph = sample_graph()
    cfg = preset_config(Preset.PPR_RERANK)
    picked = rerank._bridges(
        graph, ["p_product"], {"kestrel": 1.0}, {"kestrel": 1.0}, fact_similarity, cfg
    )
    assert set(picked) == {"drone", "halvard", "brandt"}
    assert picked["halvard"][1] == "f_built"  # its most query-like fact
    assert picked["brandt"][1] == "f_design"
    assert sum(w for w, _ in picked.values()) == pytest.approx(cfg.bridge_weight)


def test_later_rounds_extend_only_the_previous_bridges() -> None:
    """From the frontier {Halvard}, Porto is one hop further; the Kestrel facts are not
    offered again."""
    graph = sample_graph()
    cfg = preset_config(Preset.PPR_RERANK).model_copy(update={"fact_min_similarity": 0.1})
    anchors = {"kestrel": 1.0, "halvard": 0.2}
    picked = rerank._bridges(
        graph, ["p_product", "p_company"], anchors, {"halvard": 0.2}, fact_similarity, cfg
    )
    assert set(picked) == {"porto"}
    assert picked["porto"][0] == pytest.approx(0.2 * cfg.bridge_weight)


def test_the_hop_seeds_the_answer_passage_that_never_names_the_anchor() -> None:
    graph = sample_graph()
    cfg = preset_config(Preset.PPR_RERANK).model_copy(update={"rerank_rounds": 1})
    common = {
        "anchors": {"kestrel"},
        "dense": {"p_product": 0.6, "p_company": 0.5, "p_prize": 0.1},
        "lexical": {},
        "fact_match": {},
        "allowed": None,
        "top_k": 2,
        "fact_similarity": fact_similarity,
    }
    with_hop = rerank.graph_rank(
        graph,
        {"kestrel": 1.0},
        config=cfg,
        query=QUERY,
        hop_similarity=hop_similarity,
        **common,  # type: ignore[arg-type]
    )
    hop = with_hop.hops["brandt"]
    assert hop.question == "Where was the Elias Brandt born?"
    assert (hop.fact_id, hop.passage_ids) == ("f_born", ("p_prize",))
    assert set(with_hop.hops) == {"brandt"}  # no hop through the type or the hub
    without = rerank.graph_rank(
        graph,
        {"kestrel": 1.0},
        config=cfg.model_copy(update={"hop_weight": 0.0}),
        query=QUERY,
        hop_similarity=hop_similarity,
        **common,  # type: ignore[arg-type]
    )
    assert not without.hops
    assert with_hop.components["p_prize"].ppr > 2 * without.components["p_prize"].ppr
    assert rerank.ranked(with_hop.components).index("p_prize") < rerank.ranked(
        without.components
    ).index("p_prize")


def test_a_hop_below_the_similarity_floor_seeds_nothing() -> None:
    graph = sample_graph()
    cfg = preset_config(Preset.PPR_RERANK).model_copy(
        update={"rerank_rounds": 1, "hop_min_similarity": 0.9}
    )
    ranking = rerank.graph_rank(
        graph,
        {"kestrel": 1.0},
        anchors={"kestrel"},
        dense={},
        lexical={},
        fact_match={},
        allowed=None,
        top_k=2,
        fact_similarity=fact_similarity,
        config=cfg,
        query=QUERY,
        hop_similarity=hop_similarity,
    )
    assert not ranking.hops
