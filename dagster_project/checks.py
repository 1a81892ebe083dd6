"""Asset checks: each tests one property of what ingestion stored."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from dagster_project.assets import entity_synonyms, extracted_facts, faiss_index
from dagster_project.resources import Neo4jResource, VectorStoreResource
from graph.reader import GraphReader


@asset_check(asset=faiss_index, blocking=True)
def faiss_passage_count_matches_neo4j(
    neo4j: Neo4jResource, vector_store: VectorStoreResource
) -> AssetCheckResult:
    """FAISS holds exactly one passage vector per passage in Neo4j."""
    settings = neo4j.resolved_settings()
    in_graph = GraphReader(neo4j.driver, settings.neo4j_database).counts().passages
    in_faiss = len(vector_store.open().collection("passage"))
    return AssetCheckResult(
        passed=in_graph == in_faiss,
        metadata={"neo4j_passages": in_graph, "faiss_passages": in_faiss},
    )


@asset_check(asset=extracted_facts)
def every_fact_has_provenance(neo4j: Neo4jResource) -> AssetCheckResult:
    """Every fact is stated by a passage of a document and links its subject and object."""
    settings = neo4j.resolved_settings()
    missing = GraphReader(neo4j.driver, settings.neo4j_database).facts_without_provenance()
    return AssetCheckResult(
        passed=not missing,
        severity=AssetCheckSeverity.ERROR,
        metadata={"facts_without_provenance": len(missing), "examples": ", ".join(missing[:5])},
    )


@asset_check(asset=entity_synonyms)
def unique_canonical_entity_names(neo4j: Neo4jResource) -> AssetCheckResult:
    """No two entities share a canonical name."""
    settings = neo4j.resolved_settings()
    dups = GraphReader(neo4j.driver, settings.neo4j_database).duplicate_canonical_names()
    return AssetCheckResult(
        passed=not dups,
        metadata={"duplicates": len(dups), "examples": ", ".join(c for c, _ in dups[:5])},
    )


ingestion_checks = [
    faiss_passage_count_matches_neo4j,
    every_fact_has_provenance,
    unique_canonical_entity_names,
]
