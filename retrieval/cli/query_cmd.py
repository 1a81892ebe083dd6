"""``hippograph query``: retrieve passages and facts for a question."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from retrieval.cli.common import console, fail, print_json, settings
from retrieval.config import Preset
from retrieval.errors import RetrievalError
from retrieval.results import RetrievalResult
from retrieval.retriever import Retriever


def query(
    text: Annotated[str, typer.Argument(help="the question")],
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="passages to return")] = 5,
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="only facts valid and known then")
    ] = None,
    preset: Annotated[Preset, typer.Option(help="retrieval preset")] = Preset.PPR_RERANK_TIMELINE,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    record_access: Annotated[
        bool,
        typer.Option(
            "--record-access/--no-record-access",
            help="count the returned passages and facts as recalled (slows their forgetting)",
        ),
    ] = True,
) -> None:
    """Retrieve the passages, facts and timeline that answer a question."""
    cfg = settings()
    try:
        with Retriever.connect(cfg) as retriever:
            result = retriever.retrieve(
                text, top_k=top_k, as_of=as_of, config=preset, record_access=record_access
            )
    except RetrievalError as e:
        raise fail(str(e)) from e
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    _print(result)


def _print(result: RetrievalResult) -> None:
    if result.reason is not None:
        console.print(f"[yellow]note:[/] {result.reason.value}")
    seeds = ", ".join(f"{s.name} ({s.weight:.2f})" for s in result.seeds[:8])
    console.print(f"[bold]seeds:[/] {seeds or '-'}")
    table = Table(title=f"{result.query}  [{result.config}]")
    for column in ("#", "score", "title", "passage", "why"):
        table.add_column(column)
    for p in result.passages:
        c = p.explanation.components
        why = (
            f"ppr {c.ppr:.3g} dense {c.dense:.2f} bm25 {c.lexical:.2f} fact {c.fact_match:.2f}"
            + (f"\npath: {' > '.join(p.explanation.path)}" if p.explanation.path else "")
            + (f"\nhop: {p.explanation.hop_question}" if p.explanation.hop_question else "")
        )
        text = p.text if len(p.text) < 160 else p.text[:157] + "..."
        table.add_row(str(p.rank), f"{p.score:.3f}", p.title or "", text, why)
    console.print(table)
    facts = Table(title="facts")
    for column in ("statement", "valid at", "status"):
        facts.add_column(column)
    for f in result.facts[:8]:
        status = "current"
        if f.superseded:
            status = "superseded" + (f" (until {f.invalid_at.date()})" if f.invalid_at else "")
        facts.add_row(f.statement, str(f.valid_at.date()) if f.valid_at else "", status)
    console.print(facts)
    if result.timeline:
        console.print("[bold]timeline[/]")
        for t in result.timeline:
            mark = " (superseded)" if t.superseded else ""
            console.print(f"  {t.time.date() if t.time else '?'}  {t.statement}{mark}")
