"""The Dagster definitions load and their sensor and schedule request the right runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dagster import build_schedule_context, build_sensor_context, instance_for_test

from dagster_project import defs
from dagster_project.jobs import inbox_sensor, nightly_ingest_schedule
from dagster_project.partitions import SOURCES
from pipelines.settings import get_settings


def test_definitions_load_with_assets_checks_job_schedule_and_sensor() -> None:
    repo = defs.get_repository_def()
    asset_keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {
        "documents",
        "extracted_facts",
        "faiss_index",
        "entity_synonyms",
        "consolidated_graph",
    } <= asset_keys
    check_names = {key.name for key in repo.asset_graph.asset_check_keys}
    assert check_names == {
        "faiss_passage_count_matches_neo4j",
        "every_fact_has_provenance",
        "unique_canonical_entity_names",
        "one_current_value_per_single_valued_predicate",
        "no_orphans",
    }
    assert defs.resolve_job_def("ingest_job").partitions_def is not None
    assert defs.resolve_job_def("consolidation_job").partitions_def is None
    assert repo.has_schedule_def("nightly_ingest_schedule")
    assert repo.has_schedule_def("nightly_consolidation_schedule")
    assert repo.has_sensor_def("inbox_sensor")


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIPPOGRAPH_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "data" / "inbox"
    folder.mkdir(parents=True)
    return folder


def test_inbox_sensor_adds_partitions_and_requests_runs_for_new_or_changed_files(
    inbox: Path,
) -> None:
    (inbox / "a.md").write_text("# A\n\nAna joined Acme.", encoding="utf-8")
    (inbox / "ignored.docx").write_bytes(b"PK")
    with instance_for_test() as instance:
        result = inbox_sensor(build_sensor_context(instance=instance))
        keys = [r.partition_key for r in result.run_requests]
        assert keys == [str((inbox / "a.md").resolve())]
        assert result.dynamic_partitions_requests[0].partition_keys == keys
        cursor = result.cursor
        assert json.loads(cursor) and str((inbox / "a.md").resolve()) in json.loads(cursor)

        # Nothing changed: nothing requested.
        again = inbox_sensor(build_sensor_context(instance=instance, cursor=cursor))
        assert again.run_requests == []

        # A modified file is requested again; it is already a partition.
        instance.add_dynamic_partitions(SOURCES, keys)
        path = inbox / "a.md"
        path.write_text("# A\n\nAna left Acme.", encoding="utf-8")
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))
        changed = inbox_sensor(build_sensor_context(instance=instance, cursor=cursor))
        assert [r.partition_key for r in changed.run_requests] == keys
        assert changed.dynamic_partitions_requests == []


def test_nightly_schedule_requests_every_known_source() -> None:
    with instance_for_test() as instance:
        instance.add_dynamic_partitions(SOURCES, ["/x/a.md", "/x/b.jsonl"])
        with build_schedule_context(instance=instance) as context:
            requests = nightly_ingest_schedule(context)
        assert sorted(r.partition_key for r in requests) == ["/x/a.md", "/x/b.jsonl"]


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()
