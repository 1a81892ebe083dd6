"""Recording access never fails a query (hermetic: a fake driver, no socket)."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from neo4j import Driver
from neo4j.exceptions import ServiceUnavailable

from pipelines.embeddings import NumpyEmbeddings
from pipelines.vectorstore import VectorStore
from retrieval.results import RetrievalResult, RetrievedPassage
from retrieval.retriever import Retriever

RESULT = RetrievalResult(
    query="q",
    config="test",
    passages=[RetrievedPassage(id="passage:1", text="t", score=1.0, rank=1, document_id="d")],
)


class _FailingDriver:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def execute_query(self, query: str, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        raise ServiceUnavailable("down")


def _retriever(driver: _FailingDriver, monkeypatch: pytest.MonkeyPatch) -> Retriever:
    retriever = Retriever(
        cast(Driver, driver),
        embedder=cast(NumpyEmbeddings, object()),
        store=VectorStore(dim=3),
    )
    monkeypatch.setattr(retriever, "_current", lambda **_: None)
    monkeypatch.setattr(retriever, "_retrieve", lambda *_: RESULT)
    return retriever


def test_failed_access_record_logs_and_returns_the_result(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    driver = _FailingDriver()
    retriever = _retriever(driver, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="retrieval.retriever"):
        result = retriever.retrieve("q", record_access=True)
    assert result is RESULT
    assert driver.calls and driver.calls[0]["passage_ids"] == ["passage:1"]
    assert "could not record access" in caplog.text


def test_presets_do_not_record_access(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = _FailingDriver()
    retriever = _retriever(driver, monkeypatch)
    assert retriever.retrieve("q") is RESULT
    assert driver.calls == []
