"""Thin ingestion assets: each calls one stage of :mod:`graph.ingest` and records metadata.

Every stage stores its output in Neo4j or FAISS (the system of record), so assets return
``MaterializeResult``s with counts and timings rather than passing data through Dagster.
"""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from dagster_project.partitions import sources_partitions
from dagster_project.resources import (
    EmbedderResource,
    ExtractorResource,
    Neo4jResource,
    VectorStoreResource,
)
from graph import ingest
from graph.reader import GraphReader


@asset(partitions_def=sources_partitions, group_name="ingestion", kinds={"neo4j"})
def documents(context: AssetExecutionContext, neo4j: Neo4jResource) -> MaterializeResult:
    """Documents and their passages from one source file, written to Neo4j."""
    times = ingest.StageTimes()
    result = ingest.write_document_stage(
        neo4j.driver, neo4j.resolved_settings(), [Path(context.partition_key)], times=times
    )
    for error in result.errors:
        context.log.warning(str(error))
    return MaterializeResult(
        metadata={
            "documents_written": result.documents,
            "documents_unchanged": result.unchanged,
            "documents_replaced": result.replaced,
            "passages_written": result.passages,
            "passages_removed": result.passages_removed,
            "input_errors": MetadataValue.json([str(e) for e in result.errors]),
            "seconds_load": round(times.load, 3),
            "seconds_write": round(times.write_documents, 3),
        }
    )


@asset(partitions_def=sources_partitions, deps=[documents], group_name="ingestion", kinds={"neo4j"})
def extracted_facts(neo4j: Neo4jResource, extractor: ExtractorResource) -> MaterializeResult:
    """Entities, triples and atomic facts of every passage not yet extracted."""
    times = ingest.StageTimes()
    engine = extractor.get()
    result = ingest.extract_stage(neo4j.driver, neo4j.resolved_settings(), engine, times=times)
    return MaterializeResult(
        metadata={
            "extractor": engine.name,
            "passages": result.passages,
            "entities": result.entities,
            "facts": result.facts,
            "seconds_extract": round(times.extract, 3),
            "seconds_write": round(times.write_facts, 3),
        }
    )


@asset(
    partitions_def=sources_partitions,
    deps=[extracted_facts],
    group_name="ingestion",
    kinds={"faiss"},
)
def faiss_index(
    neo4j: Neo4jResource, embedder: EmbedderResource, vector_store: VectorStoreResource
) -> MaterializeResult:
    """Passage, entity and fact vectors in FAISS, kept equal to what Neo4j holds."""
    times = ingest.StageTimes()
    result = ingest.vector_stage(
        neo4j.driver, neo4j.resolved_settings(), embedder.get(), vector_store.open(), times=times
    )
    metadata: dict[str, int | float] = {"seconds_embed": round(times.embed, 3)}
    for kind, total in result.total.items():
        metadata[f"{kind}_vectors"] = total
        metadata[f"{kind}_vectors_added"] = result.added[kind]
        metadata[f"{kind}_vectors_removed"] = result.removed[kind]
    return MaterializeResult(metadata=metadata)


@asset(
    partitions_def=sources_partitions, deps=[faiss_index], group_name="ingestion", kinds={"neo4j"}
)
def entity_synonyms(neo4j: Neo4jResource, vector_store: VectorStoreResource) -> MaterializeResult:
    """SYNONYM edges between entities whose name embeddings are close (new entities only)."""
    times = ingest.StageTimes()
    settings = neo4j.resolved_settings()
    written = ingest.synonym_stage(neo4j.driver, settings, vector_store.open(), times=times)
    counts = GraphReader(neo4j.driver, settings.neo4j_database).counts()
    return MaterializeResult(
        metadata={
            "synonym_edges_written": written,
            "synonym_edges_total": counts.synonym_edges,
            "threshold": settings.synonym_threshold,
            "seconds": round(times.synonyms, 3),
        }
    )


ingestion_assets = [documents, extracted_facts, faiss_index, entity_synonyms]
