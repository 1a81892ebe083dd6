"""Multi-hop QA question files, read into one shape.

Two input shapes are read, as a JSON list or JSON Lines:

- MuSiQue / HippoRAG: ``{id, question, paragraphs: [{title, paragraph_text | text,
  is_supporting}]}``;
- HotpotQA: ``{_id, question, context: [[title, [sentences]]], supporting_facts: [[title, i]]}``.

A gold passage is a corpus passage whose title matches a supporting paragraph's title.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import RetrievalError


class DatasetError(RetrievalError):
    """A question or corpus file cannot be read; the message names the file (and record)."""


@dataclass(frozen=True)
class Paragraph:
    title: str
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    gold_titles: frozenset[str]
    paragraphs: tuple[Paragraph, ...]


def iter_records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for a JSON list file or a JSON Lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from e
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}: invalid JSON ({e})") from e
        for i, record in enumerate(data):
            yield f"{path}[{i}]", record
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{number}: invalid JSON ({e.msg})") from e


def _musique(record: dict[str, Any], where: str) -> EvalQuestion:
    paragraphs = []
    gold = set()
    for p in record["paragraphs"]:
        text = p.get("paragraph_text", p.get("text"))
        if not isinstance(text, str) or "title" not in p:
            raise DatasetError(f"{where}: a paragraph lacks title or paragraph_text/text")
        paragraphs.append(Paragraph(str(p["title"]), text))
        if p.get("is_supporting"):
            gold.add(str(p["title"]))
    return EvalQuestion(str(record["id"]), record["question"], frozenset(gold), tuple(paragraphs))


def _hotpot(record: dict[str, Any], where: str) -> EvalQuestion:
    paragraphs = []
    for item in record["context"]:
        if not (isinstance(item, list) and len(item) == 2):
            raise DatasetError(f"{where}: context items must be [title, [sentences]]")
        title, sentences = item
        paragraphs.append(Paragraph(str(title), "".join(sentences)))
    gold = frozenset(str(fact[0]) for fact in record["supporting_facts"])
    return EvalQuestion(str(record["_id"]), record["question"], gold, tuple(paragraphs))


def load_questions(path: Path, *, limit: int | None = None) -> list[EvalQuestion]:
    """Questions in either supported shape (detected per record).

    Raises
    ------
    DatasetError
        On unreadable files, malformed records or a record of neither shape.
    """
    questions: list[EvalQuestion] = []
    for where, record in iter_records(path):
        if not isinstance(record, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        try:
            if "paragraphs" in record:
                questions.append(_musique(record, where))
            elif "context" in record and "supporting_facts" in record:
                questions.append(_hotpot(record, where))
            else:
                raise DatasetError(
                    f"{where}: neither the MuSiQue shape (paragraphs) nor the HotpotQA shape "
                    "(context, supporting_facts)"
                )
        except KeyError as e:
            raise DatasetError(f"{where}: missing field {e}") from e
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return questions


def load_corpus(path: Path) -> list[Paragraph]:
    """A corpus file: a JSON list (or JSON Lines) of ``{title, text}``."""
    corpus = []
    for where, record in iter_records(path):
        if not isinstance(record, dict) or "text" not in record:
            raise DatasetError(f"{where}: expected an object with title and text")
        corpus.append(Paragraph(str(record.get("title", "")), str(record["text"])))
    return corpus


def pooled_corpus(questions: Iterable[EvalQuestion]) -> list[Paragraph]:
    """Every question's paragraphs, deduplicated by (title, text), in first-seen order."""
    return list(dict.fromkeys(p for q in questions for p in q.paragraphs))


def recall_at(gold: frozenset[str], ranked_titles: Sequence[str], k: int) -> float:
    """Share of gold titles among the first ``k`` distinct retrieved titles.

    Titles are deduplicated in rank order first, so a document split into several passages
    counts once (as in HippoRAG's passage recall).
    """
    if not gold:
        return 0.0
    distinct = list(dict.fromkeys(ranked_titles))[:k]
    return len(gold.intersection(distinct)) / len(gold)
