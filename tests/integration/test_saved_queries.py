"""The saved queries return sensible rows on the sample graph (data/sample, ingested as in
test_ingest.py), and ``hippograph explore`` runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from neo4j import Driver
from typer.testing import CliRunner

from graph.ingest import IngestSummary
from graph.saved_queries import QueryResult, load_query, run_saved_query
from pipelines.settings import Settings
from retrieval.cli import explore_cmd

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def sample(
    neo4j_driver: Driver,
    neo4j_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    ingest_paths: Callable[[Settings, list[Path]], IngestSummary],
) -> Settings:
    """The session server holding exactly the sample corpus (for this module's tests)."""
    settings = neo4j_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("saved-queries-data")}
    )
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n", database_=settings.neo4j_database)
    summary = ingest_paths(settings, [SAMPLE])
    assert summary.documents.errors == []
    return settings


def run(driver: Driver, settings: Settings, query: str, **params: object) -> QueryResult:
    return run_saved_query(driver, settings.neo4j_database, load_query(query), params)


def test_neighbourhood_of_halvard_robotics(neo4j_driver: Driver, sample: Settings) -> None:
    result = run(neo4j_driver, sample, "entity_neighbourhood", name="halvard robotics", limit=200)
    assert len(result.rows) > 10
    assert {r["entity"]["properties"]["name"] for r in result.rows} == {"Halvard Robotics"}
    neighbours = {r["neighbour"]["properties"]["name"] for r in result.rows}
    assert {"Berlin", "Brightwater Sensing"} <= neighbours
    assert {r["relation"] for r in result.rows} <= {"RELATES", "SYNONYM"}
    relates = [r for r in result.rows if r["relation"] == "RELATES"]
    assert all(r["predicate"] == r["rel"]["properties"]["predicate"] for r in relates)
    assert (
        len(run(neo4j_driver, sample, "entity_neighbourhood", name="Halvard Robotics").rows) == 25
    )
    assert run(neo4j_driver, sample, "entity_neighbourhood", name="Nobody Here").rows == ()


def test_timeline_is_in_time_order_and_marks_status(neo4j_driver: Driver, sample: Settings) -> None:
    result = run(neo4j_driver, sample, "entity_timeline", name="Priya Nandakumar")
    assert len(result.rows) > 5
    times = [r["time"] for r in result.rows if r["time"] is not None]
    assert times == sorted(times)
    first_dated = next(r for r in result.rows if r["time"] is not None)
    assert "1988" in first_dated["statement"]  # born in Mysore in 1988
    assert all(r["status"] in {"current", "superseded", "expired", "ended"} for r in result.rows)
    assert all("Priya Nandakumar" in (r["entity"] or "") for r in result.rows)
    assert any("Halvard Robotics" in r["statement"] for r in result.rows)


def test_provenance_leads_back_to_document_and_passage(
    neo4j_driver: Driver, sample: Settings
) -> None:
    result = run(neo4j_driver, sample, "fact_provenance", fact="headquarters to Berlin")
    assert result.rows
    for row in result.rows:
        assert "berlin" in row["statement"].lower()
        assert row["source"].startswith(str(SAMPLE)) or "sample" in row["source"]
        assert row["start_char"] < row["end_char"]
        assert row["excerpt"]
        assert row["d"]["labels"] == ["Document"] and row["f"]["labels"] == ["Fact"]
    by_id = run(neo4j_driver, sample, "fact_provenance", fact=result.rows[0]["fact_id"])
    assert {r["fact_id"] for r in by_id.rows} == {result.rows[0]["fact_id"]}


def test_archived_is_empty_before_consolidation_marks_anything(
    neo4j_driver: Driver, sample: Settings
) -> None:
    assert run(neo4j_driver, sample, "archived").rows == ()
    db = sample.neo4j_database
    neo4j_driver.execute_query(
        "MATCH (f:Fact) WITH f ORDER BY f.id LIMIT 2 "
        "SET f.archived = true, f.archived_at = datetime('2024-01-01T00:00:00Z'), "
        "f.archived_reason = 'test'",
        database_=db,
    )
    try:
        rows = run(neo4j_driver, sample, "archived").rows
        assert [r["kind"] for r in rows] == ["Fact", "Fact"]
        assert all(r["reason"] == "test" and r["what"] for r in rows)
    finally:
        neo4j_driver.execute_query(
            "MATCH (f:Fact) WHERE f.archived_reason = 'test' "
            "REMOVE f.archived, f.archived_at, f.archived_reason",
            database_=db,
        )


def test_overview_has_one_row_per_document(neo4j_driver: Driver, sample: Settings) -> None:
    result = run(neo4j_driver, sample, "overview")
    documents, _, _ = neo4j_driver.execute_query(
        "MATCH (d:Document) RETURN count(d) AS n", database_=sample.neo4j_database
    )
    assert len(result.rows) == documents[0]["n"] >= 8
    assert sum(r["facts"] for r in result.rows) > 50
    assert all(r["passages"] >= 1 for r in result.rows)
    dated = [r for r in result.rows if r["first_fact"]]
    assert dated and all(r["first_fact"] <= r["last_fact"] for r in dated)


def test_explore_command_runs_a_saved_query(
    sample: Settings, neo4j_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's settings (its password file lives under their data directory).
    monkeypatch.setattr(explore_cmd, "settings", lambda: neo4j_settings)
    app = typer.Typer()
    app.command()(explore_cmd.explore)
    runner = CliRunner()

    out = runner.invoke(app, ["entity_timeline", "-p", "name=Priya Nandakumar", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["query"] == "entity_timeline" and len(data["rows"]) > 5

    table = runner.invoke(app, ["overview"])
    assert table.exit_code == 0 and "overview" in table.output

    listed = runner.invoke(app, ["--list"])
    assert listed.exit_code == 0 and "entity_neighbourhood" in listed.output

    missing = runner.invoke(app, ["entity_timeline"])
    assert missing.exit_code == 1 and "missing required parameter" in missing.output
