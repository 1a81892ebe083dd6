"""Consolidation in Dagster: the ``consolidated_graph`` asset, its checks, job and schedule.

The asset calls :func:`graph.consolidation.consolidate` once and records what it changed;
register the lists at the bottom in ``definitions.py``.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetSelection,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleEvaluationContext,
    asset,
    asset_check,
    define_asset_job,
    schedule,
)

from dagster_project.assets import entity_synonyms
from dagster_project.resources import Neo4jResource, VectorStoreResource
from graph.consolidation import consolidate, find_orphans, single_value_conflicts


@asset(deps=[entity_synonyms], group_name="consolidation", kinds={"neo4j"})
def consolidated_graph(
    neo4j: Neo4jResource, vector_store: VectorStoreResource
) -> MaterializeResult:
    """The graph after consolidation: outdated facts superseded, duplicates merged, weak
    memories archived (and, under a retention policy, deleted)."""
    report = consolidate(neo4j.driver, neo4j.resolved_settings(), store=vector_store.open())
    return MaterializeResult(
        metadata={
            "facts_superseded": report.facts_superseded,
            "facts_unsuperseded": report.facts_unsuperseded,
            "ambiguous_conflicts": report.ambiguous_conflicts,
            "entities_merged": report.entities_merged,
            "facts_merged": report.facts_merged,
            "facts_archived": report.facts_archived,
            "passages_archived": report.passages_archived,
            "restored": report.restored,
            "facts_deleted": report.facts_deleted,
            "passages_deleted": report.passages_deleted,
            "entities_deleted": report.entities_deleted,
            "vectors_removed": report.vectors_removed,
            "single_valued_predicates": MetadataValue.json(list(report.single_valued_predicates)),
            "seconds": round(report.seconds, 3),
        }
    )


@asset_check(asset=consolidated_graph)
def one_current_value_per_single_valued_predicate(neo4j: Neo4jResource) -> AssetCheckResult:
    """No key entity has two current values of a one-value predicate."""
    settings = neo4j.resolved_settings()
    conflicts = single_value_conflicts(neo4j.driver, settings.neo4j_database)
    return AssetCheckResult(
        passed=not conflicts,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "conflicts": len(conflicts),
            "examples": MetadataValue.json(
                [{"predicate": p, "key": k, "facts": list(ids)} for p, k, ids in conflicts[:5]]
            ),
        },
    )


@asset_check(asset=consolidated_graph, blocking=True)
def no_orphans(neo4j: Neo4jResource) -> AssetCheckResult:
    """No passage without a document, fact without a passage, unused entity or stale relation."""
    settings = neo4j.resolved_settings()
    orphans = find_orphans(neo4j.driver, settings.neo4j_database)
    return AssetCheckResult(
        passed=orphans.clean,
        severity=AssetCheckSeverity.ERROR,
        metadata={k: v for k, v in orphans.counts().items()},
    )


consolidation_job = define_asset_job(
    name="consolidation_job",
    selection=AssetSelection.assets(consolidated_graph),
    description="Consolidate the graph: supersede, merge, archive; then check it.",
)


@schedule(
    job=consolidation_job,
    cron_schedule="0 3 * * *",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Nightly consolidation, an hour after the nightly re-ingestion.",
)
def nightly_consolidation_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    when = context.scheduled_execution_time
    return RunRequest(run_key=when.isoformat() if when else None)


consolidation_assets = [consolidated_graph]
consolidation_checks = [one_current_value_per_single_valued_predicate, no_orphans]
consolidation_jobs = [consolidation_job]
consolidation_schedules = [nightly_consolidation_schedule]
