"""Jobs, schedules and sensors."""

import json
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    schedule,
    sensor,
)

from dagster_project.assets import ingestion_assets
from dagster_project.partitions import SOURCES, sources_partitions
from pipelines.loaders import detect_format
from pipelines.settings import Settings

ingest_job = define_asset_job(
    name="ingest_job",
    selection=AssetSelection.assets(*ingestion_assets),
    description="Ingest one source: documents, extraction, vectors and synonyms.",
)


def inbox_files(inbox: Path) -> dict[str, float]:
    """Supported files under ``inbox`` with their modification times."""
    if not inbox.is_dir():
        return {}
    return {
        str(p.resolve()): p.stat().st_mtime
        for p in sorted(inbox.rglob("*"))
        if p.is_file() and detect_format(p) is not None
    }


@sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Ingests files that appear in (or change under) the inbox folder.",
)
def inbox_sensor(context: SensorEvaluationContext) -> SensorResult:
    seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    current = inbox_files(Settings().inbox_dir)
    changed = sorted(path for path, mtime in current.items() if seen.get(path) != mtime)
    known = set(context.instance.get_dynamic_partitions(SOURCES))
    new = [p for p in changed if p not in known]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"{p}@{current[p]}", partition_key=p) for p in changed],
        dynamic_partitions_requests=[sources_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(current, sort_keys=True),
    )


@schedule(
    job=ingest_job,
    cron_schedule="0 2 * * *",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Nightly re-ingestion of every known source (unchanged documents are skipped).",
)
def nightly_ingest_schedule(context: ScheduleEvaluationContext) -> list[RunRequest]:
    keys = context.instance.get_dynamic_partitions(SOURCES)
    return [RunRequest(partition_key=k) for k in keys]
