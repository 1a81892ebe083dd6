"""``hippograph ingest``, ``hippograph stats`` and ``hippograph reindex``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from graph import ingest as stages
from graph.reader import VECTOR_KINDS, GraphReader
from pipelines.embeddings import embedder_from_settings
from pipelines.extraction.base import extractor_from_settings
from pipelines.settings import ExtractorKind
from pipelines.vectorstore import VectorStore
from retrieval.cli.common import console, expected_errors, open_driver, print_json, settings


def _summary_dict(summary: stages.IngestSummary) -> dict[str, object]:
    docs = summary.documents
    return {
        "documents": docs.documents,
        "documents_unchanged": docs.unchanged,
        "documents_replaced": docs.replaced,
        "passages": docs.passages,
        "passages_removed": docs.passages_removed,
        "passages_extracted": summary.extraction.passages,
        "entities": summary.extraction.entities,
        "facts": summary.extraction.facts,
        "synonym_edges": summary.synonym_edges,
        "vectors_added": summary.vectors.added,
        "errors": [str(e) for e in docs.errors],
        "seconds": round(summary.seconds, 3),
        "seconds_by_stage": {k: round(v, 3) for k, v in asdict(summary.times).items()},
    }


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to ingest")],
    extractor: Annotated[
        ExtractorKind | None, typer.Option(help="extractor (default: from settings, spacy)")
    ] = None,
    openie: Annotated[
        Path | None, typer.Option(help="HippoRAG OpenIE results file (implies --extractor openie)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Ingest documents into Neo4j and FAISS (the same stages as the Dagster ingest_job)."""
    cfg = settings()
    kind = ExtractorKind.OPENIE if openie is not None else extractor
    if kind is not None:
        cfg = cfg.model_copy(update={"extractor": kind})
    with expected_errors(), open_driver(cfg, write=True) as driver:
        engine = extractor_from_settings(cfg, openie_file=str(openie) if openie else None)
        store = VectorStore.open(cfg.vector_dir)
        embedder = embedder_from_settings(cfg)
        columns = (
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, disable=as_json, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, n: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=None)
                bar.advance(tasks[stage], n)

            summary = stages.ingest(
                driver,
                cfg,
                paths,
                extractor=engine,
                embedder=embedder,
                store=store,
                progress=progress,
            )
    data = _summary_dict(summary)
    if as_json:
        print_json(data)
    else:
        table = Table(title="hippograph ingest", show_header=False)
        for key in (
            "documents",
            "documents_unchanged",
            "documents_replaced",
            "passages",
            "passages_removed",
            "entities",
            "facts",
            "synonym_edges",
            "seconds",
        ):
            table.add_row(key.replace("_", " "), str(data[key]))
        console.print(table)
        for error in data["errors"]:  # type: ignore[attr-defined]
            console.print(f"[yellow]skipped:[/] {error}")
    if summary.documents.errors:
        raise typer.Exit(1)


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Counts as stored in Neo4j and in the FAISS collections."""
    cfg = settings()
    with expected_errors(), open_driver(cfg) as driver:
        counts = GraphReader(driver, cfg.neo4j_database).counts().as_dict()
        store = VectorStore.open(cfg.vector_dir)
        vectors = {kind: len(store.collection(kind)) for kind in VECTOR_KINDS}
    data = {"neo4j": counts, "faiss": vectors}
    if as_json:
        print_json(data)
        return
    table = Table(title="hippograph stats")
    table.add_column("store")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row("neo4j", key.replace("_", " "), str(value))
    for key, value in vectors.items():
        table.add_row("faiss", f"{key} vectors", str(value))
    console.print(table)


def reindex() -> None:
    """Rebuild the FAISS collections from Neo4j (embeds what is missing, drops what is stale)."""
    cfg = settings()
    with expected_errors(), open_driver(cfg) as driver:
        store = VectorStore.open(cfg.vector_dir)
        result = stages.vector_stage(driver, cfg, embedder_from_settings(cfg), store)
    print_json({"added": result.added, "removed": result.removed, "total": result.total})
