"""``hippograph explore NAME``: run a saved Cypher query (``graph/queries/``) and print its rows."""

from __future__ import annotations

import typer
from rich.table import Table

from graph.saved_queries import (
    QueryResult,
    SavedQuery,
    caption,
    list_queries,
    load_query,
    parse_assignments,
    run_saved_query,
)
from retrieval.cli.common import console, expected_errors, open_driver, print_json, settings

MAX_COLUMNS = 8
"""Tables show at most this many columns (graph elements last); --json has them all."""


def explore(
    name: str | None = typer.Argument(
        None, help="The saved query to run (see --list).", show_default=False
    ),
    param: list[str] = typer.Option(  # noqa: B008
        [],
        "--param",
        "-p",
        help="A query parameter as key=value; repeat for more.",
        metavar="KEY=VALUE",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    list_only: bool = typer.Option(False, "--list", help="List the saved queries and exit."),
    cypher: bool = typer.Option(
        False,
        "--cypher",
        help="Print the query with a :params line to paste into the Neo4j Browser; run nothing.",
    ),
) -> None:
    """Run a saved query over the graph: an entity's neighbourhood or timeline, a fact's
    provenance, what consolidation archived, or an overview."""
    with expected_errors():
        if list_only or name is None:
            _print_list(list_queries(), as_json=as_json)
            return
        query = load_query(name)
        values = parse_assignments(param, query.name)
        if cypher:
            typer.echo(query.browser_text(values))
            return
        cfg = settings()
        with open_driver(cfg) as driver:
            result = run_saved_query(driver, cfg.neo4j_database, query, values)
    if as_json:
        print_json(result.to_json())
    else:
        _print_rows(result)


def _print_list(queries: tuple[SavedQuery, ...], *, as_json: bool) -> None:
    if as_json:
        print_json(
            [
                {
                    "name": q.name,
                    "description": q.description,
                    "params": [
                        {
                            "name": p.name,
                            "type": p.type.value,
                            "required": p.required,
                            "default": p.default,
                            "description": p.description,
                        }
                        for p in q.params
                    ],
                    "example": dict(q.example),
                }
                for q in queries
            ]
        )
        return
    table = Table(title="saved queries (hippograph explore NAME --param key=value)")
    table.add_column("name", style="bold")
    table.add_column("parameters")
    table.add_column("what it shows")
    for q in queries:
        params = "\n".join(p.describe() for p in q.params) or "-"
        example = " ".join(f'-p "{k}={v}"' for k, v in q.example)
        what = q.description + (f"\n[dim]e.g. {example}[/]" if example else "")
        table.add_row(q.name, params, what)
    console.print(table)


def _print_rows(result: QueryResult) -> None:
    if not result.rows:
        console.print(f"[yellow]{result.query}: no rows[/] (parameters: {dict(result.params)})")
        return
    scalar = [c for c in result.columns if not _is_graph_column(result, c)]
    graph = [c for c in result.columns if c not in scalar]
    columns = (scalar + graph)[:MAX_COLUMNS]
    table = Table(title=f"{result.query} ({len(result.rows)} rows)")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in result.rows:
        table.add_row(*(caption(row[c]) for c in columns))
    console.print(table)


def _is_graph_column(result: QueryResult, column: str) -> bool:
    value = next((r[column] for r in result.rows if r[column] is not None), None)
    return isinstance(value, dict) and ("labels" in value or "type" in value)
