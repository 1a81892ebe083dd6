"""``hippograph consolidate``, ``hippograph forget`` and ``hippograph restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graph.consolidation import consolidate as run_consolidation
from graph.consolidation import find_orphans, forget_source
from graph.consolidation import restore as restore_items
from pipelines.vectorstore import VectorStore
from retrieval.cli.common import (
    console,
    expected_errors,
    fail,
    open_driver,
    print_json,
    settings,
)


def consolidate(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would change, write nothing")
    ] = False,
) -> None:
    """Consolidate the graph in-process (what the Dagster consolidation_job runs): supersede
    outdated facts, merge duplicates, archive weak memories."""
    cfg = settings()
    with expected_errors(), open_driver(cfg, write=not dry_run) as driver:
        store = None if dry_run else VectorStore.open(cfg.vector_dir)
        report = run_consolidation(driver, cfg, store=store, dry_run=dry_run)
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    title = "hippograph consolidate" + (" (dry run)" if dry_run else "")
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        if key in ("dry_run", "single_valued_predicates"):
            continue
        table.add_row(key.replace("_", " "), str(round(value, 3) if key == "seconds" else value))
    console.print(table)
    console.print("one-value predicates: " + ", ".join(report.single_valued_predicates))


def _source_keys(source: str) -> list[str]:
    """The source as given, and as the loader records it (relative to the working directory)."""
    keys = [source]
    path = Path(source)
    if path.exists():
        try:
            rel = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            rel = path.as_posix()
        for key in (rel, path.resolve().as_posix()):
            if key not in keys:
                keys.append(key)
    return keys


def forget(
    source: Annotated[str, typer.Option("--source", help="a document id or a source path")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Delete a source: its documents, passages, the facts no other source states, orphaned
    entities and their vectors. Exits 1 when nothing matches."""
    cfg = settings()
    with expected_errors(), open_driver(cfg, write=True) as driver:
        store = VectorStore.open(cfg.vector_dir)
        result = None
        for key in _source_keys(source):
            result = forget_source(driver, cfg.neo4j_database, key, store=store, settings=cfg)
            if result.documents:
                break
        orphans = find_orphans(driver, cfg.neo4j_database)
    if result is None or not result.documents:
        raise fail(f"no document with id or source {source!r}")
    data = {**result.as_dict(), "orphans": orphans.counts(), "no_orphans": orphans.clean}
    if as_json:
        print_json(data)
    else:
        console.print(
            f"forgot {len(result.documents)} document(s): {result.passages} passages, "
            f"{result.facts} facts, {result.entities} entities, "
            f"{result.vectors_removed} vectors; "
            + ("no orphans left" if orphans.clean else f"orphans: {orphans.counts()}")
        )
    if not orphans.clean:
        raise typer.Exit(1)


def restore(
    ids: Annotated[list[str], typer.Option("--id", help="fact or passage id (repeatable)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Restore archived facts or passages (they count as recalled, so they stay)."""
    cfg = settings()
    with expected_errors(), open_driver(cfg) as driver:
        restored = restore_items(driver, cfg.neo4j_database, ids)
    missing = sorted(set(ids) - set(restored))
    if as_json:
        print_json({"restored": restored, "not_archived_or_unknown": missing})
    else:
        console.print(f"restored {len(restored)}: {', '.join(restored) or '-'}")
        if missing:
            console.print(f"[yellow]not archived or unknown:[/] {', '.join(missing)}")
    if not restored:
        raise typer.Exit(1)
