"""Query seeding: passages titled by a name in the query become seeds (no database)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import numpy as np

from graph.projection_loader import LoadedGraph
from retrieval.config import PRESETS, Preset
from retrieval.seeding import Mention, build_link_index, link_query, title_keys


def _graph() -> LoadedGraph:
    def entity(eid: str, name: str) -> SimpleNamespace:
        return SimpleNamespace(id=eid, name=name, canonical=name.lower(), aliases=())

    def passage(pid: str, title: str | None) -> SimpleNamespace:
        return SimpleNamespace(id=pid, title=title)

    entities = {"e1": entity("e1", "Elia Kazan"), "e2": entity("e2", "country")}
    passages = {
        "p1": passage("p1", "Elia Kazan"),
        "p2": passage("p2", "A Letter to Elia"),
        "p3": passage("p3", "Country (music)"),
        "p4": passage("p4", None),
    }
    stub = SimpleNamespace(
        entities=entities,
        passages=passages,
        facts={},
        entity_passages={"e1": ("p1", "p2"), "e2": ("p3", "p4")},
    )
    return cast(LoadedGraph, stub)


def _link(mentions: list[Mention], **update: float) -> dict[str, float]:
    graph = _graph()
    config = PRESETS[Preset.PPR].model_copy(update=update)
    seeds = link_query(
        graph,
        build_link_index(graph),
        mentions,
        query_vector=np.zeros(4, dtype=np.float32),
        mention_vectors=np.zeros((len(mentions), 4), dtype=np.float32),
        entity_vectors=None,
        fact_vectors=None,
        config=config,
    )
    assert "e1" in seeds.entities or not any(m.named for m in mentions)
    return dict(seeds.passages)


def test_title_keys_drop_a_trailing_qualifier() -> None:
    assert title_keys("Pothos (genus)") == {"pothos genus", "pothos"}
    assert title_keys("The Hawk") == {"hawk"}
    assert title_keys(None) == set()


def test_a_named_mention_seeds_the_passage_it_titles() -> None:
    assert _link([Mention("Elia Kazan", named=True)]) == {"p1": 1.0}


def test_common_nouns_and_a_zero_title_weight_seed_no_passage() -> None:
    assert _link([Mention("country", named=False)]) == {}
    assert _link([Mention("Elia Kazan", named=True)], title_weight=0.0) == {}
