"""The Dagster ingestion assets materialise against the real Neo4j, with their checks."""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance, materialize
from neo4j import Driver

from dagster_project.assets import ingestion_assets
from dagster_project.checks import ingestion_checks
from dagster_project.partitions import SOURCES
from dagster_project.resources import (
    EmbedderResource,
    ExtractorResource,
    Neo4jResource,
    SettingsResource,
    VectorStoreResource,
)
from graph.driver import resolve_password
from graph.reader import GraphReader
from pipelines.settings import Settings


def test_ingest_assets_materialise_one_source_with_passing_checks(
    clean_graph: Driver, neo4j_settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "history.md"
    source.write_text(
        "# History\n\nIn March 2019, Ana Lima became the CTO of Halvard Robotics.\n\n"
        "Halvard Robotics moved its headquarters to Berlin in 2018.",
        encoding="utf-8",
    )
    settings = SettingsResource(data_dir=str(tmp_path / "data"))
    neo4j = Neo4jResource(
        settings=settings,
        uri=neo4j_settings.bolt_uri,
        user=neo4j_settings.neo4j_user,
        password=resolve_password(neo4j_settings),
    )
    key = str(source)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(SOURCES, [key])
        result = materialize(
            [*ingestion_assets, *ingestion_checks],
            partition_key=key,
            instance=instance,
            resources={
                "neo4j": neo4j,
                "embedder": EmbedderResource(settings=settings),
                "extractor": ExtractorResource(settings=settings),
                "vector_store": VectorStoreResource(settings=settings),
            },
        )
    assert result.success
    docs = result.asset_materializations_for_node("documents")[0].metadata
    assert docs["documents_written"].value == 1
    facts = result.asset_materializations_for_node("extracted_facts")[0].metadata
    assert facts["facts"].value >= 2
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {
        "faiss_passage_count_matches_neo4j",
        "every_fact_has_provenance",
        "unique_canonical_entity_names",
    }
    assert all(c.passed for c in checks)
    counts = GraphReader(clean_graph, neo4j_settings.neo4j_database).counts()
    assert counts.documents == 1 and counts.facts >= 2
