"""The ``hippograph`` command line."""

from __future__ import annotations

import typer

from retrieval.cli import (
    consolidate_cmd,
    eval_cmd,
    explore_cmd,
    ingest_cmd,
    neo4j_cmd,
    query_cmd,
)

app = typer.Typer(
    name="hippograph",
    help="hippograph: a temporal knowledge-graph memory for LLM applications.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(neo4j_cmd.app, name="neo4j")
app.command()(ingest_cmd.ingest)
app.command()(ingest_cmd.stats)
app.command()(ingest_cmd.reindex)
app.command()(query_cmd.query)
app.command()(consolidate_cmd.consolidate)
app.command()(consolidate_cmd.forget)
app.command()(consolidate_cmd.restore)
app.command()(explore_cmd.explore)
app.add_typer(eval_cmd.app, name="eval")


def main() -> None:
    """Console entry point."""
    app()
