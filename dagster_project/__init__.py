"""hippograph's Dagster project: ingestion (and later consolidation) as assets and jobs."""

from dagster_project.definitions import defs

__all__ = ["defs"]
