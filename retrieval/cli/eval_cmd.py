"""``hippograph eval``: multi-hop passage recall and the memory benchmarks, side by side."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.settings import ExtractorKind
from retrieval.cli.common import console, expected_errors, fail, print_json, settings
from retrieval.config import Preset
from retrieval.errors import RetrievalError
from retrieval.evaluation.datasets import load_corpus, load_questions, pooled_corpus
from retrieval.evaluation.memory import DEFAULT_METHODS as MEMORY_METHODS
from retrieval.evaluation.memory import (
    KNOWLEDGE_UPDATE,
    LOCOMO_TURN_KS,
    LONGMEMEVAL_SESSION_KS,
    LONGMEMEVAL_TURN_KS,
    MemoryReport,
    load_locomo,
    load_longmemeval,
    run_memory,
)
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


_SHORT = {
    **{f"session_recall@{k}": f"S@{k}" for k in LONGMEMEVAL_SESSION_KS},
    **{f"turn_recall@{k}": f"T@{k}" for k in (*LONGMEMEVAL_TURN_KS, *LOCOMO_TURN_KS)},
    "latest_first": "latest first",
}


def _memory_table(
    title: str, summary: dict[str, dict[str, dict[str, float | int]]], metrics: list[str]
) -> Table:
    """Rows: question kinds; columns: each metric for each method side by side."""
    table = Table(title=title)
    table.add_column("kind")
    table.add_column("n", justify="right")
    methods = list(summary)
    for metric in metrics:
        for method in methods:
            table.add_column(f"{_SHORT.get(metric, metric)}\n{method}", justify="right")
    kinds = sorted({k for groups in summary.values() for k in groups}, key=lambda k: k == "all")
    for kind in kinds:
        if all(summary[m].get(kind, {}).get(metric) is None for m in methods for metric in metrics):
            continue
        first = summary[methods[0]].get(kind, {})
        cells = [kind, str(first.get("n", 0))]
        for metric in metrics:
            for method in methods:
                value = summary[method].get(kind, {}).get(metric)
                cells.append("" if value is None else f"{value:.3f}")
        table.add_row(*cells)
    return table


def _write_report(out: Path, header: dict[str, object], report: MemoryReport) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**header, **report.as_dict()}, indent=1), encoding="utf-8")


def _print_timings(report: MemoryReport) -> None:
    timings = report.timings()
    largest = report.largest()
    console.print(f"timings: {json.dumps(timings)}")
    if largest is not None:
        console.print(
            f"largest haystack {largest.key}: {largest.sessions} sessions, consolidation "
            f"{largest.consolidation_seconds:.2f} s, graph before {largest.before}, "
            f"after {largest.after}"
        )
    if report.unmapped_passages:
        console.print(f"[yellow]{report.unmapped_passages} retrieved passages had no turn map")


@contextmanager
def _haystack_progress(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=True,
    ) as bar:
        task = bar.add_task("haystacks", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield progress


@app.command()
def longmemeval(
    data: Annotated[
        Path, typer.Option(help="LongMemEval questions (e.g. longmemeval_oracle.json)")
    ],
    types: Annotated[
        list[str] | None, typer.Option("--types", help="question types to run (repeat)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    per_type: Annotated[
        int | None, typer.Option(help="at most N questions of each type (file order)")
    ] = None,
    full_type: Annotated[
        list[str] | None, typer.Option(help="a type exempt from --per-type (repeat)")
    ] = None,
    method: Annotated[
        list[Preset] | None, typer.Option(help="methods (repeat; default: dense and graph)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write the full report as JSON")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scores as JSON")] = False,
) -> None:
    """Each question's sessions as its own memory: evidence-session and answer-turn Recall@k
    per question type, and how often the latest value outranks superseded ones."""
    cfg = settings()
    with expected_errors():
        try:
            haystacks = load_longmemeval(
                data, types=types, limit=limit, per_type=per_type, full_types=full_type or ()
            )
        except RetrievalError as e:
            raise fail(str(e)) from e
        with _haystack_progress(not as_json) as progress:
            report = run_memory(
                haystacks,
                base=cfg,
                name="longmemeval",
                methods=method or MEMORY_METHODS,
                session_ks=LONGMEMEVAL_SESSION_KS,
                turn_ks=LONGMEMEVAL_TURN_KS,
                progress=progress,
            )
    if out is not None:
        header = {
            "data": str(data),
            "types": types,
            "limit": limit,
            "per_type": per_type,
            "full_types": full_type,
        }
        _write_report(out, {**header, "questions": len(haystacks)}, report)
    summary = report.summary()
    if as_json:
        print_json(summary)
        return
    title = f"{data.name}: {len(haystacks)} questions"
    sessions = [f"session_recall@{k}" for k in LONGMEMEVAL_SESSION_KS]
    console.print(_memory_table(f"{title}, evidence sessions", summary, sessions))
    turns = [f"turn_recall@{k}" for k in LONGMEMEVAL_TURN_KS]
    console.print(_memory_table(f"{title}, answer turns", summary, turns))
    updates = {m: {k: v for k, v in g.items() if k == KNOWLEDGE_UPDATE} for m, g in summary.items()}
    console.print(
        _memory_table("latest value ranked above superseded ones", updates, ["latest_first"])
    )
    _print_timings(report)


@app.command()
def locomo(
    data: Annotated[Path, typer.Option(help="LoCoMo conversations (locomo10.json)")],
    limit_conversations: Annotated[
        int | None, typer.Option(help="only the first N conversations")
    ] = None,
    method: Annotated[
        list[Preset] | None, typer.Option(help="methods (repeat; default: dense and graph)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write the full report as JSON")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scores as JSON")] = False,
) -> None:
    """Each conversation as one memory: evidence (dialogue id) Recall@k per category."""
    cfg = settings()
    with expected_errors():
        try:
            haystacks, unresolved = load_locomo(data, limit_conversations=limit_conversations)
        except RetrievalError as e:
            raise fail(str(e)) from e
        with _haystack_progress(not as_json) as progress:
            report = run_memory(
                haystacks,
                base=cfg,
                name="locomo",
                methods=method or MEMORY_METHODS,
                turn_ks=LOCOMO_TURN_KS,
                progress=progress,
            )
    questions = sum(len(h.questions) for h in haystacks)
    if out is not None:
        header = {
            "data": str(data),
            "conversations": len(haystacks),
            "questions": questions,
            "unresolved_evidence_ids": unresolved,
        }
        _write_report(out, header, report)
    summary = report.summary()
    if as_json:
        print_json(summary)
        return
    metrics = [f"turn_recall@{k}" for k in LOCOMO_TURN_KS]
    title = f"{data.name}: {len(haystacks)} conversations, {questions} questions (temporal = 2)"
    console.print(_memory_table(title, summary, metrics))
    _print_timings(report)
