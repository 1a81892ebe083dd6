"""``hippograph ingest`` and ``hippograph stats`` as a user runs them, on each input kind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import Driver
from typer.testing import CliRunner

from graph.driver import resolve_password
from pipelines.settings import Settings, get_settings
from retrieval.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture
def cli_env(
    clean_graph: Driver, neo4j_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point the CLI at the test server with a fresh data directory."""
    monkeypatch.setenv("HIPPOGRAPH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEO4J_URI", neo4j_settings.bolt_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", resolve_password(neo4j_settings))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("name", "documents"),
    [
        ("biography_priya_nandakumar.txt", 1),
        ("halvard_product_history.md", 1),
        ("news.jsonl", 10),
        ("conversations.json", 4),
    ],
)
def test_ingest_each_input_kind_then_stats_agree(cli_env: Path, name: str, documents: int) -> None:
    code, out = run("ingest", str(SAMPLE / name), "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["documents"] == documents
    assert summary["passages"] >= documents
    assert summary["facts"] > 0
    assert summary["errors"] == []

    code, out = run("stats", "--json")
    assert code == 0, out
    stats = json.loads(out)
    assert stats["neo4j"]["documents"] == documents
    assert stats["neo4j"]["passages"] == summary["passages"]
    assert stats["faiss"]["passage"] == stats["neo4j"]["passages"]
    assert stats["faiss"]["entity"] == stats["neo4j"]["entities"]

    # Re-ingesting the same input adds nothing.
    code, out = run("ingest", str(SAMPLE / name), "--json")
    assert code == 0, out
    again = json.loads(out)
    assert again["documents"] == 0 and again["documents_unchanged"] == documents
    code, out = run("stats", "--json")
    assert json.loads(out) == stats


def test_ingest_reports_bad_input_and_exits_non_zero(cli_env: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Ines Varga moved to Lisbon in 2020.", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{broken\n', encoding="utf-8")
    code, out = run("ingest", str(good), str(bad), str(tmp_path / "missing.md"))
    assert code == 1
    assert "bad.jsonl:2" in out
    assert "missing.md" in out
    assert "documents" in out


def test_reindex_rebuilds_lost_vector_files(cli_env: Path) -> None:
    code, out = run("ingest", str(SAMPLE / "halvard_product_history.md"), "--json")
    assert code == 0, out
    vectors = cli_env / "vectors"
    for file in vectors.iterdir():
        file.unlink()
    code, out = run("reindex")
    assert code == 0, out
    assert json.loads(out)["added"]["passage"] > 0
    code, out = run("stats", "--json")
    stats = json.loads(out)
    assert stats["faiss"]["passage"] == stats["neo4j"]["passages"]


def test_stats_without_a_password_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIPPOGRAPH_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    get_settings.cache_clear()
    try:
        code, out = run("stats")
    finally:
        get_settings.cache_clear()
    assert code == 1
    assert "password" in out.lower()


def test_ingest_with_cached_openie_triples(cli_env: Path, tmp_path: Path) -> None:
    records = [
        {"id": "p1", "title": "Kestrel", "text": "The Kestrel was designed by Elias Brandt."},
        {"id": "p2", "title": "Elias Brandt", "text": "Elias Brandt was born in Tartu."},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    openie = tmp_path / "openie.json"
    openie.write_text(
        json.dumps(
            {
                "docs": [
                    {
                        "passage": "Kestrel\nThe Kestrel was designed by Elias Brandt.",
                        "extracted_entities": ["Kestrel", "Elias Brandt"],
                        "extracted_triples": [["Kestrel", "designed by", "Elias Brandt"]],
                    },
                    {
                        "passage": "Elias Brandt\nElias Brandt was born in Tartu.",
                        "extracted_entities": ["Elias Brandt", "Tartu"],
                        "extracted_triples": [["Elias Brandt", "born in", "Tartu"]],
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    code, out = run("ingest", str(corpus), "--openie", str(openie), "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["facts"] == 2
    code, out = run("stats", "--json")
    stats = json.loads(out)["neo4j"]
    # Kestrel, Elias Brandt and Tartu; the bridge entity is shared by both passages' facts.
    assert stats["entities"] == 3 and stats["facts"] == 2 and stats["relations"] == 2
