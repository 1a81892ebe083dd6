"""Presets are data, frozen, and fusion combines normalised signals."""

from __future__ import annotations

import pydantic
import pytest

from retrieval.config import PRESETS, Fusion, Preset, RetrievalConfig, Signal, preset_config
from retrieval.rerank import (
    fuse,
    max_normalise,
    minmax_normalise,
    ranked,
    reciprocal_ranks,
)
from retrieval.results import ResultReason, RetrievalResult


def test_every_preset_is_defined_and_named() -> None:
    assert set(PRESETS) == set(Preset)
    for name, cfg in PRESETS.items():
        assert cfg.name == name
    assert PRESETS[Preset.DENSE].signals == {Signal.DENSE}
    assert PRESETS[Preset.BM25].signals == {Signal.LEXICAL}
    assert PRESETS[Preset.HYBRID].signals == {Signal.DENSE, Signal.LEXICAL}
    assert PRESETS[Preset.PPR].rerank_rounds == 0
    assert PRESETS[Preset.PPR_RERANK].rerank_rounds > 0 and not PRESETS[Preset.PPR_RERANK].timeline
    assert PRESETS[Preset.PPR_RERANK_TIMELINE].timeline


def test_configs_are_frozen_and_validated() -> None:
    cfg = preset_config("ppr")
    with pytest.raises(pydantic.ValidationError):
        cfg.damping = 0.9  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        RetrievalConfig(damping=1.0)
    assert cfg.model_copy(update={"damping": 0.8}).damping == 0.8
    assert preset_config(cfg) is cfg
    with pytest.raises(ValueError):
        preset_config("nonsense")


def test_max_normalise() -> None:
    assert max_normalise({"a": 2.0, "b": 1.0}) == {"a": 1.0, "b": 0.5}
    assert max_normalise({"a": 0.0}) == {"a": 0.0}


def test_fusion_weights_signals_and_keeps_components() -> None:
    cfg = RetrievalConfig(ppr_weight=1.0, dense_weight=0.5, lexical_weight=0.0)
    out = fuse(
        ppr={"p1": 0.2, "p2": 0.1},
        dense={"p2": 0.9, "p3": 0.45},
        lexical={"p3": 7.0},
        fact_match={},
        config=cfg,
    )
    assert out["p1"].fused == pytest.approx(1.0)
    assert out["p2"].fused == pytest.approx(0.5 + 0.5)
    assert out["p3"].fused == pytest.approx(0.25)  # lexical weighs 0 here
    assert out["p3"].lexical == 7.0 and out["p2"].ppr == 0.1
    assert ranked(out) == ["p1", "p2", "p3"]  # tie broken by id


def test_minmax_and_reciprocal_rank_normalisation() -> None:
    assert minmax_normalise({"a": 3.0, "b": 2.0, "c": 1.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert minmax_normalise({"a": 0.4, "b": 0.4}) == {"a": 1.0, "b": 1.0}
    assert minmax_normalise({}) == {}
    rr = reciprocal_ranks({"a": 0.1, "b": 0.9, "c": 0.0}, 60)
    assert rr == {"b": pytest.approx(60 / 61), "a": pytest.approx(60 / 62)}  # c scored nothing


def test_rrf_fusion_ignores_score_scales() -> None:
    cfg = RetrievalConfig(fusion=Fusion.RRF, rrf_k=1, ppr_weight=0.0, dense_weight=1.0)
    out = fuse(
        ppr={},
        dense={"p1": 0.9, "p2": 0.8},
        lexical={"p2": 100.0, "p1": 1.0},
        fact_match={},
        config=cfg.model_copy(update={"lexical_weight": 1.0}),
    )
    assert out["p1"].fused == pytest.approx(out["p2"].fused)  # first once, second once


def test_baseline_presets_score_their_one_signal() -> None:
    for preset, signal in ((Preset.DENSE, "dense"), (Preset.BM25, "lexical")):
        cfg = PRESETS[preset]
        out = fuse(
            ppr={},
            dense={"p1": 0.5} if signal == "dense" else {},
            lexical={"p1": 3.0} if signal == "lexical" else {},
            fact_match={},
            config=cfg,
        )
        assert out["p1"].fused > 0.0


def test_result_round_trips_through_json() -> None:
    result = RetrievalResult(query="q", config="dense", reason=ResultReason.EMPTY_GRAPH)
    again = RetrievalResult.model_validate_json(result.model_dump_json())
    assert again == result and again.reason is ResultReason.EMPTY_GRAPH
