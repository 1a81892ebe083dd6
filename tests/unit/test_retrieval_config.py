"""Presets are data, frozen, and fusion combines max-normalised signals."""

from __future__ import annotations

import pydantic
import pytest

from retrieval.config import PRESETS, Preset, RetrievalConfig, Signal, preset_config
from retrieval.rerank import fuse, max_normalise, ranked
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


def test_result_round_trips_through_json() -> None:
    result = RetrievalResult(query="q", config="dense", reason=ResultReason.EMPTY_GRAPH)
    again = RetrievalResult.model_validate_json(result.model_dump_json())
    assert again == result and again.reason is ResultReason.EMPTY_GRAPH
