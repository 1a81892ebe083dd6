"""``hippograph eval multihop``: passage recall of every method, side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipelines.settings import ExtractorKind
from retrieval.cli.common import console, expected_errors, fail, print_json, settings
from retrieval.config import Preset
from retrieval.errors import RetrievalError
from retrieval.evaluation.datasets import load_corpus, load_questions, pooled_corpus
from retrieval.evaluation.multihop import DEFAULT_METHODS, KS, run_multihop

app = typer.Typer(help="Benchmarks on public data.", no_args_is_help=True)


@app.command()
def multihop(
    questions: Annotated[Path, typer.Option(help="MuSiQue/HippoRAG or HotpotQA questions")],
    corpus: Annotated[
        Path | None, typer.Option(help="{title, text} corpus (default: pool the questions')")
    ] = None,
    openie: Annotated[
        Path | None, typer.Option(help="HippoRAG OpenIE file: use its triples, not spaCy")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    method: Annotated[
        list[Preset] | None, typer.Option(help="methods to run (repeat; default: all baselines)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="also write the full report as JSON")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print {method: scores} as JSON")] = False,
) -> None:
    """Ingest the corpus into its own database and report Recall@2/@5 per method."""
    cfg = settings()
    with expected_errors():
        try:
            qs = load_questions(questions, limit=limit)
            paragraphs = load_corpus(corpus) if corpus is not None else pooled_corpus(qs)
        except RetrievalError as e:
            raise fail(str(e)) from e
        report = run_multihop(
            qs,
            paragraphs,
            base=cfg,
            extractor=ExtractorKind.OPENIE if openie is not None else ExtractorKind.SPACY,
            openie_file=openie,
            methods=method or DEFAULT_METHODS,
        )
    summary = report.summary()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        full = {
            "questions": str(questions),
            "corpus": str(corpus) if corpus else "pooled",
            "corpus_passages": report.corpus_passages,
            "extractor": report.extractor,
            "ingest_seconds": round(report.ingest_seconds, 1),
            "methods": summary,
            "per_question": report.per_question,
        }
        out.write_text(json.dumps(full, indent=1), encoding="utf-8")
    if as_json:
        print_json(summary)
        return
    table = Table(
        title=f"{questions.name}: {len(qs)} questions, {report.corpus_passages} passages, "
        f"extractor {report.extractor}"
    )
    table.add_column("method")
    for k in KS:
        table.add_column(f"R@{k}", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("fallbacks", justify="right")
    for name, scores in summary.items():
        table.add_row(
            name,
            *(f"{scores[f'recall@{k}']:.3f}" for k in KS),
            str(scores.get("p50_ms", "")),
            str(scores["fallbacks"]),
        )
    console.print(table)
