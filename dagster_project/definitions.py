"""hippograph's Dagster definitions: ``dagster dev -m dagster_project``."""

from dagster import Definitions

from dagster_project.assets import ingestion_assets
from dagster_project.checks import ingestion_checks
from dagster_project.consolidation import (
    consolidation_assets,
    consolidation_checks,
    consolidation_jobs,
    consolidation_schedules,
)
from dagster_project.jobs import inbox_sensor, ingest_job, nightly_ingest_schedule
from dagster_project.resources import (
    EmbedderResource,
    ExtractorResource,
    Neo4jResource,
    SettingsResource,
    VectorStoreResource,
)

_settings = SettingsResource()

defs = Definitions(
    assets=[*ingestion_assets, *consolidation_assets],
    asset_checks=[*ingestion_checks, *consolidation_checks],
    jobs=[ingest_job, *consolidation_jobs],
    schedules=[nightly_ingest_schedule, *consolidation_schedules],
    sensors=[inbox_sensor],
    resources={
        "neo4j": Neo4jResource(settings=_settings),
        "embedder": EmbedderResource(settings=_settings),
        "extractor": ExtractorResource(settings=_settings),
        "vector_store": VectorStoreResource(settings=_settings),
    },
)
