"""Run ``ingest_job`` through Dagster in-process, one partition per source file.

``python -m dagster_project.run PATH...`` registers each file as a partition of the
``sources`` dynamic partitions and materialises it against the persistent Dagster instance
(``DAGSTER_HOME``, by default ``<data_dir>/dagster``), so the runs show in the Dagster UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, ExecuteInProcessResult

from dagster_project.definitions import defs
from dagster_project.partitions import SOURCES
from pipelines.loaders import detect_format
from pipelines.settings import Settings


def source_files(paths: Sequence[Path]) -> list[Path]:
    """The supported files named by ``paths`` (directories walked recursively, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p.resolve()
                for p in sorted(path.rglob("*"))
                if p.is_file() and detect_format(p) is not None
            )
        else:
            files.append(path.resolve())
    return files


def dagster_instance(settings: Settings) -> DagsterInstance:
    """The persistent instance under ``DAGSTER_HOME`` (default ``<data_dir>/dagster``)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").touch(exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.get()


def run_ingest(paths: Sequence[Path], instance: DagsterInstance) -> bool:
    """Materialise ``ingest_job`` for each source file; True when every run succeeded."""
    keys = [str(p) for p in source_files(paths)]
    known = set(instance.get_dynamic_partitions(SOURCES))
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions(SOURCES, new)
    job = defs.resolve_job_def("ingest_job")
    ok = True
    for key in keys:
        result = job.execute_in_process(
            partition_key=key, instance=instance, raise_on_error=False, run_config=_QUIET
        )
        ok = ok and result.success
        if not result.success:
            print(f"FAILED {key} (run {result.run_id}); see the run in the Dagster UI")  # noqa: T201
            continue
        docs = _metadata(result, "documents")
        facts = _metadata(result, "extracted_facts")
        print(  # noqa: T201
            f"ok  {key}: {docs.get('documents_written', 0)} documents written, "
            f"{docs.get('documents_unchanged', 0)} unchanged, "
            f"{docs.get('passages_written', 0)} passages, {facts.get('facts', 0)} facts "
            f"(run {result.run_id[:8]})"
        )
    return ok


# Dagster's console logger at DEBUG prints every step event; warnings are enough here.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _metadata(result: ExecuteInProcessResult, node: str) -> dict[str, Any]:
    events = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in events[0].metadata.items()} if events else {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    settings = Settings()
    return 0 if run_ingest(args.paths, dagster_instance(settings)) else 1


if __name__ == "__main__":
    sys.exit(main())
