"""``hippograph eval longmemeval`` and ``eval locomo``: memory benchmarks, dense vs graph.

Both benchmarks are conversations with dated sessions. Each *haystack* (one LongMemEval
question's own sessions, or one LoCoMo conversation) is written as conversation sessions in
JSON Lines (``{id, session_id, date, turns: [{speaker, text}]}``, one document per session,
the document id being the session id), ingested through the real stages, consolidated with
``now`` set to the haystack's present (the end of the question's day; the last session of a LoCoMo
conversation) and queried with every method side by side.

**One private server, wiped per haystack.** A private local Neo4j (free loopback ports, data
under ``<data_dir>/eval/<key>``) serves the whole run; before each haystack every node is
deleted (``MATCH (n) DETACH DELETE n``, schema kept) and the FAISS directory removed, and a
fresh :class:`~retrieval.retriever.Retriever` is built, so no question sees another's memory
and no cached projection outlives its graph.

**Passage → session and turn, exactly.** A retrieved passage's ``document_id`` is its session
id. For turns, the session files are read back with the project's own loader and chunked with
the same :class:`~pipelines.chunking.ChunkingConfig` as ingestion (pure functions, the same
passage ids); conversation chunks are made of whole turn lines (a line longer than a chunk is
split and each piece still lies within its line), so a passage's ``[start_char, end_char)``
names the turns it covers: line ``i`` of a session document is the ``i``-th written turn.
Turns whose text is blank are not written, so the line count always equals the turn count
(checked). No marker is put into the turn text, so extraction and embeddings see only what
was said.

Metrics (pure functions below, unit-tested):

- session Recall@k: share of gold sessions among the first ``k`` *distinct* sessions in rank
  order (:func:`~retrieval.evaluation.datasets.recall_at`);
- turn Recall@k: share of gold turns (LongMemEval ``has_answer`` turns, LoCoMo evidence dia
  ids) covered by the first ``k`` passages (:func:`turn_recall_at`);
- knowledge-update ordering (:func:`latest_ranked_first`): for a question with two or more
  answer sessions of distinct dates, the latest-dated answer session holds the current value
  and the others superseded ones; success when the latest session's best passage ranks
  strictly above the best passage of every superseded session (a superseded session that is
  not retrieved ranks last; the latest one not retrieved is a failure).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph import cypher
from graph import ingest as stages
from graph.consolidation import consolidate
from graph.driver import connect
from graph.reader import GraphReader
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from pipelines.chunking import ChunkingConfig, chunk_document
from pipelines.embeddings import embedder_from_settings
from pipelines.errors import InputError
from pipelines.extraction.base import extractor_from_settings
from pipelines.loaders import load_documents, parse_timestamp
from pipelines.settings import ExtractorKind, Settings
from pipelines.vectorstore import VectorStore
from retrieval.config import Preset
from retrieval.evaluation.datasets import DatasetError, Paragraph, iter_records, recall_at
from retrieval.evaluation.multihop import corpus_key, eval_settings
from retrieval.retriever import Retriever

DEFAULT_METHODS: tuple[Preset, ...] = (Preset.DENSE, Preset.PPR_RERANK_TIMELINE)
LONGMEMEVAL_SESSION_KS = (1, 3, 5)
LONGMEMEVAL_TURN_KS = (1, 3, 5)
LOCOMO_TURN_KS = (5, 10)
KNOWLEDGE_UPDATE = "knowledge-update"
LOCOMO_CATEGORIES = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
# Passages retrieved per question: enough for the deepest k and for every session to appear.
RETRIEVAL_DEPTH = 50
# Every node of the private evaluation database (never the user's server; see module notes).

Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    id: str
    speaker: str
    text: str


@dataclass(frozen=True)
class Session:
    id: str
    date: datetime | None
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class MemoryQuestion:
    """One question; ``kind`` is the LongMemEval type or the LoCoMo category name."""

    id: str
    kind: str
    question: str
    as_of: datetime | None
    gold_sessions: frozenset[str]
    gold_turns: frozenset[str]
    latest_session: str | None = None
    superseded_sessions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Haystack:
    """The sessions one memory is built from, the questions asked of it and its present."""

    key: str
    sessions: tuple[Session, ...]
    questions: tuple[MemoryQuestion, ...]
    now: datetime | None


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_LME_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:\s*\(\w+\))?(?:\s+(\d{1,2}):(\d{2}))?")


def parse_longmemeval_date(value: object) -> datetime | None:
    """``2023/05/20 (Sat) 02:21`` as a UTC datetime; ``None`` when it cannot be read."""
    if not isinstance(value, str):
        return None
    match = _LME_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=UTC
        )
    except ValueError:
        return None


def _said(text: object) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def longmemeval_haystack(record: dict[str, Any], where: str = "") -> Haystack:
    """One LongMemEval question with its own haystack of sessions.

    Turn ids are ``<session_id>:<i>`` over the turns with text; ``has_answer`` turns are the
    gold turns. Knowledge-update questions with answer sessions of distinct dates get the
    latest one as ``latest_session`` and the others as ``superseded_sessions``.
    """
    try:
        qid = str(record["question_id"])
        ids = [str(s) for s in record["haystack_session_ids"]]
        dates = [parse_longmemeval_date(d) for d in record["haystack_dates"]]
        raw_sessions = record["haystack_sessions"]
        answer_ids = frozenset(str(s) for s in record["answer_session_ids"])
        kind = str(record["question_type"])
        question = str(record["question"])
        question_date = record.get("question_date")
    except KeyError as e:
        raise DatasetError(f"{where}: missing field {e}") from e
    if not (len(ids) == len(dates) == len(raw_sessions)):
        raise DatasetError(f"{where}: haystack ids, dates and sessions differ in length")
    sessions: list[Session] = []
    gold_turns: set[str] = set()
    for sid, date, raw in zip(ids, dates, raw_sessions, strict=True):
        turns: list[Turn] = []
        for t in raw:
            text = _said(t.get("content"))
            if not text:
                continue
            turn = Turn(f"{sid}:{len(turns)}", str(t.get("role") or "unknown"), text)
            turns.append(turn)
            if t.get("has_answer"):
                gold_turns.add(turn.id)
        if turns:
            sessions.append(Session(sid, date, tuple(turns)))
    latest, superseded = None, frozenset[str]()
    if kind == KNOWLEDGE_UPDATE:
        latest, superseded = latest_and_superseded(answer_ids, dict(zip(ids, dates, strict=True)))
    asked = parse_longmemeval_date(question_date)
    # The question's day, not its minute: in 43 of the 500 questions a haystack session is
    # stamped later on the question's own day (never on a later day), so a minute-exact
    # ``as_of`` would hide evidence the question is about.
    as_of = asked.replace(hour=23, minute=59, second=59) if asked is not None else None
    q = MemoryQuestion(
        id=qid,
        kind=kind,
        question=question,
        as_of=as_of,
        gold_sessions=answer_ids,
        gold_turns=frozenset(gold_turns),
        latest_session=latest,
        superseded_sessions=superseded,
    )
    return Haystack(qid, tuple(sessions), (q,), as_of)


def latest_and_superseded(
    answer_sessions: Iterable[str], dates: dict[str, datetime | None]
) -> tuple[str | None, frozenset[str]]:
    """The latest-dated answer session and the earlier ones; ``(None, {})`` when undecidable.

    Undecidable: fewer than two answer sessions, an undated one, or a tie for the latest date.
    """
    answers = sorted(set(answer_sessions))
    known = {s: d for s in answers if (d := dates.get(s)) is not None}
    if len(answers) < 2 or len(known) < len(answers):
        return None, frozenset()
    dated = sorted(answers, key=known.__getitem__)
    if known[dated[-1]] == known[dated[-2]]:
        return None, frozenset()
    return dated[-1], frozenset(dated[:-1])


def load_longmemeval(
    path: Path,
    *,
    types: Sequence[str] | None = None,
    limit: int | None = None,
    per_type: int | None = None,
    full_types: Sequence[str] = (),
) -> list[Haystack]:
    """LongMemEval questions (one haystack each), filtered by type, in file order.

    ``per_type`` keeps at most that many of each type except ``full_types`` (kept whole);
    ``limit`` then caps the total.
    """
    wanted = set(types) if types else None
    taken: dict[str, int] = defaultdict(int)
    haystacks: list[Haystack] = []
    for where, record in iter_records(path):
        if not isinstance(record, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        kind = str(record.get("question_type"))
        if wanted is not None and kind not in wanted:
            continue
        if per_type is not None and kind not in full_types and taken[kind] >= per_type:
            continue
        haystacks.append(longmemeval_haystack(record, where))
        taken[kind] += 1
        if limit is not None and len(haystacks) >= limit:
            break
    if not haystacks:
        raise DatasetError(f"{path}: no questions (check --types)")
    return haystacks


_DIA_ID = re.compile(r"D(\d+):(\d+)")


def normalise_evidence(evidence: object, known: set[str]) -> tuple[frozenset[str], int]:
    """LoCoMo evidence as known dia ids, and how many given ids could not be resolved.

    The file has a few malformed entries (``"D8:6; D9:17"``, ``"D30:05"``, ``"D"``): every
    ``D<n>:<m>`` inside an entry is taken, leading zeros dropped; ids naming no turn are
    counted as unresolved.
    """
    found: set[str] = set()
    unresolved = 0
    entries = evidence if isinstance(evidence, list) else []
    for entry in entries:
        ids = [f"D{int(a)}:{int(b)}" for a, b in _DIA_ID.findall(str(entry))]
        if not ids:
            unresolved += 1
        for dia in ids:
            if dia in known:
                found.add(dia)
            else:
                unresolved += 1
    return frozenset(found), unresolved


def _locomo_turn_text(turn: dict[str, Any]) -> str:
    text = _said(turn.get("text"))
    caption = _said(turn.get("blip_caption"))
    if caption:
        text = f"{text} [shares a photo: {caption}]".strip()
    return text


def locomo_haystack(record: dict[str, Any], where: str = "") -> tuple[Haystack, int]:
    """One LoCoMo conversation and its questions; also the number of unresolved evidence ids.

    Sessions are ``session_<n>`` with ``session_<n>_date_time``; session ids are
    ``<sample_id>:session_<n>``, turn ids the dia ids. A photo's caption is appended to its
    turn (``[shares a photo: ...]``), as it often holds the evidence. Questions without any
    resolvable evidence are skipped. ``now`` is the last session's date.
    """
    try:
        sample = str(record["sample_id"])
        conversation = record["conversation"]
        qa = record["qa"]
    except KeyError as e:
        raise DatasetError(f"{where}: missing field {e}") from e
    numbers = sorted(
        int(m.group(1))
        for k in conversation
        if (m := re.fullmatch(r"session_(\d+)", k)) and isinstance(conversation[k], list)
    )
    sessions: list[Session] = []
    session_of: dict[str, str] = {}
    for n in numbers:
        sid = f"{sample}:session_{n}"
        raw_date = conversation.get(f"session_{n}_date_time")
        try:
            date = parse_timestamp(raw_date) if raw_date else None
        except ValueError:
            date = None
        turns: list[Turn] = []
        for t in conversation[f"session_{n}"]:
            text = _locomo_turn_text(t)
            if text and "dia_id" in t:
                turns.append(Turn(str(t["dia_id"]), str(t.get("speaker") or "unknown"), text))
                session_of[str(t["dia_id"])] = sid
        if turns:
            sessions.append(Session(sid, date, tuple(turns)))
    known = set(session_of)
    questions: list[MemoryQuestion] = []
    unresolved = 0
    for i, item in enumerate(qa):
        gold, bad = normalise_evidence(item.get("evidence"), known)
        unresolved += bad
        if not gold:
            continue
        category = item.get("category")
        questions.append(
            MemoryQuestion(
                id=f"{sample}:q{i}",
                kind=LOCOMO_CATEGORIES.get(category, str(category))
                if isinstance(category, int)
                else str(category),
                question=str(item["question"]),
                as_of=None,
                gold_sessions=frozenset(session_of[d] for d in gold),
                gold_turns=gold,
            )
        )
    dates = [s.date for s in sessions if s.date is not None]
    return Haystack(sample, tuple(sessions), tuple(questions), max(dates, default=None)), unresolved


def load_locomo(
    path: Path, *, limit_conversations: int | None = None
) -> tuple[list[Haystack], int]:
    """LoCoMo conversations (file order) and the total of unresolved evidence ids."""
    haystacks: list[Haystack] = []
    unresolved = 0
    for where, record in iter_records(path):
        if not isinstance(record, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        haystack, bad = locomo_haystack(record, where)
        haystacks.append(haystack)
        unresolved += bad
        if limit_conversations is not None and len(haystacks) >= limit_conversations:
            break
    if not haystacks:
        raise DatasetError(f"{path}: no conversations")
    return haystacks, unresolved


# --------------------------------------------------------------------------------------------
# Sessions as files, and the passage → turns map
# --------------------------------------------------------------------------------------------


def session_records(sessions: Iterable[Session]) -> list[dict[str, Any]]:
    """The loader's conversation shape, one record per session; the document id is the
    session id."""
    return [
        {
            "id": s.id,
            "session_id": s.id,
            "date": s.date.isoformat() if s.date else None,
            "turns": [{"speaker": t.speaker, "text": t.text} for t in s.turns],
        }
        for s in sessions
    ]


def write_sessions(sessions: Iterable[Session], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in session_records(sessions):
            out.write(json.dumps(record) + "\n")


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def passage_turn_map(
    sessions: Sequence[Session], path: Path, chunking: ChunkingConfig
) -> dict[str, tuple[str, ...]]:
    """Passage id → ids of the turns it covers, for the sessions written to ``path``.

    Reads ``path`` with the project's loader and chunks it as ingestion does, so the passage
    ids are the ingested ones.

    Raises
    ------
    DatasetError
        When the file cannot be read back or a session's lines do not match its turns.
    """
    by_id = {s.id: s for s in sessions}
    mapping: dict[str, tuple[str, ...]] = {}
    for item in load_documents([path]):
        if isinstance(item, InputError):
            raise DatasetError(f"{path}: {item}")
        session = by_id.get(str(item.metadata.get("session_id")))
        if session is None or item.metadata.get("part") is not None:
            raise DatasetError(f"{path}: document {item.id} is not one whole session")
        lines = _line_spans(item.text)
        if len(lines) != len(session.turns):
            raise DatasetError(
                f"{path}: session {session.id} has {len(session.turns)} turns but "
                f"{len(lines)} lines"
            )
        for passage in chunk_document(item, chunking):
            mapping[passage.id] = tuple(
                turn.id
                for turn, (start, end) in zip(session.turns, lines, strict=True)
                if start < passage.end_char and passage.start_char < end
            )
    return mapping


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def turn_recall_at(gold: frozenset[str], ranked_turns: Sequence[Iterable[str]], k: int) -> float:
    """Share of ``gold`` turns covered by the first ``k`` passages (each a set of turn ids)."""
    if not gold:
        return 0.0
    covered: set[str] = set()
    for turns in ranked_turns[:k]:
        covered.update(turns)
    return len(gold & covered) / len(gold)


def session_ranks(ranked_sessions: Sequence[str]) -> dict[str, int]:
    """Each session's best (0-based) passage rank."""
    ranks: dict[str, int] = {}
    for i, session in enumerate(ranked_sessions):
        ranks.setdefault(session, i)
    return ranks


def latest_ranked_first(
    latest: str, superseded: Iterable[str], ranked_sessions: Sequence[str]
) -> bool:
    """Whether the session with the current value outranks every superseded one.

    A session's rank is that of its best passage; a superseded session not retrieved ranks
    last; when ``latest`` is not retrieved the answer is ``False``.
    """
    ranks = session_ranks(ranked_sessions)
    if latest not in ranks:
        return False
    return all(ranks[latest] < ranks.get(s, len(ranked_sessions)) for s in superseded)


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


@dataclass
class GroupScores:
    """Per-method metric lists of one question type or category."""

    values: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, value: float) -> None:
        self.values[name].append(value)

    def summary(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            name: round(statistics.fmean(v), 4) for name, v in sorted(self.values.items()) if v
        }
        out["n"] = max((len(v) for v in self.values.values()), default=0)
        return out


@dataclass
class HaystackStats:
    key: str
    sessions: int
    before: dict[str, int]
    after: dict[str, int]
    consolidation: dict[str, Any]
    ingest_seconds: float
    consolidation_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "sessions": self.sessions,
            "graph_before_consolidation": self.before,
            "graph_after_consolidation": self.after,
            "consolidation": self.consolidation,
            "ingest_seconds": round(self.ingest_seconds, 2),
            "consolidation_seconds": round(self.consolidation_seconds, 2),
        }


@dataclass
class MemoryReport:
    """Scores by method, then by question kind (plus ``all``), and per-question rows."""

    scores: dict[str, dict[str, GroupScores]]
    latencies_ms: dict[str, list[float]]
    fallbacks: dict[str, int]
    per_question: list[dict[str, Any]]
    haystacks: list[HaystackStats]
    extractor: str
    unmapped_passages: int
    seconds: float

    def summary(self) -> dict[str, dict[str, dict[str, float | int]]]:
        return {
            method: {kind: group.summary() for kind, group in sorted(groups.items())}
            for method, groups in self.scores.items()
        }

    def timings(self) -> dict[str, Any]:
        def p50(values: Sequence[float]) -> float:
            return round(statistics.median(values), 2) if values else 0.0

        return {
            "total_seconds": round(self.seconds, 1),
            "ingest_seconds": round(sum(h.ingest_seconds for h in self.haystacks), 1),
            "consolidation_seconds": round(sum(h.consolidation_seconds for h in self.haystacks), 1),
            "query_p50_ms": {m: p50(v) for m, v in self.latencies_ms.items()},
        }

    def largest(self) -> HaystackStats | None:
        return max(self.haystacks, key=lambda h: h.before.get("passages", 0), default=None)

    def as_dict(self) -> dict[str, Any]:
        largest = self.largest()
        return {
            "extractor": self.extractor,
            "methods": self.summary(),
            "fallbacks": self.fallbacks,
            "timings": self.timings(),
            "unmapped_passages": self.unmapped_passages,
            "largest_haystack": largest.as_dict() if largest else None,
            "haystacks": [h.as_dict() for h in self.haystacks],
            "per_question": self.per_question,
        }


def score_question(
    q: MemoryQuestion,
    ranked: Sequence[tuple[str, tuple[str, ...]]],
    *,
    session_ks: Sequence[int],
    turn_ks: Sequence[int],
) -> dict[str, float]:
    """Every metric of one question from its ranked ``(session id, turn ids)`` passages."""
    sessions = [s for s, _ in ranked]
    turns = [t for _, t in ranked]
    out: dict[str, float] = {}
    for k in session_ks:
        out[f"session_recall@{k}"] = recall_at(q.gold_sessions, sessions, k)
    if q.gold_turns:  # a few LongMemEval questions mark no answer turn
        for k in turn_ks:
            out[f"turn_recall@{k}"] = turn_recall_at(q.gold_turns, turns, k)
    if q.latest_session is not None:
        out["latest_first"] = float(
            latest_ranked_first(q.latest_session, q.superseded_sessions, sessions)
        )
    return out


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def haystacks_key(haystacks: Sequence[Haystack], extractor: str) -> str:
    """A data-directory key for the run (the multi-hop harness's corpus key over sessions)."""
    return corpus_key(
        [
            Paragraph(s.id, "\n".join(t.text for t in s.turns))
            for h in haystacks
            for s in h.sessions
        ],
        extractor,
    )


def run_memory(
    haystacks: Sequence[Haystack],
    *,
    base: Settings,
    name: str,
    extractor: ExtractorKind = ExtractorKind.SPACY,
    methods: Sequence[Preset | str] = DEFAULT_METHODS,
    session_ks: Sequence[int] = (),
    turn_ks: Sequence[int] = (),
    progress: Progress | None = None,
) -> MemoryReport:
    """Build each haystack's memory in one private server, then score every method on it."""
    started = time.perf_counter()
    key = f"{name}-{haystacks_key(haystacks, str(extractor))}"
    workdir = (base.data_dir / "eval" / key).resolve()
    settings = eval_settings(base, workdir, extractor, chunk_max_chars=base.chunk_max_chars)
    chunking = ChunkingConfig.from_settings(settings)
    sessions_file = workdir / "sessions.jsonl"
    scores: dict[str, dict[str, GroupScores]] = {str(m): defaultdict(GroupScores) for m in methods}
    latencies: dict[str, list[float]] = {str(m): [] for m in methods}
    fallbacks = {str(m): 0 for m in methods}
    rows: list[dict[str, Any]] = []
    stats: list[HaystackStats] = []
    unmapped = 0
    depth = max([RETRIEVAL_DEPTH, *session_ks, *turn_ks])
    server = LocalNeo4j(settings, dist_root=base.neo4j_home / "dist")
    server.start()
    try:
        driver = connect(settings)
        try:
            ensure_schema(driver, settings.neo4j_database)
            embedder = embedder_from_settings(base)
            engine = extractor_from_settings(settings)
            reader = GraphReader(driver, settings.neo4j_database)
            for i, haystack in enumerate(haystacks):
                driver.execute_query(cypher.DELETE_EVERYTHING, database_=settings.neo4j_database)
                shutil.rmtree(settings.vector_dir, ignore_errors=True)
                write_sessions(haystack.sessions, sessions_file)
                turn_map = passage_turn_map(haystack.sessions, sessions_file, chunking)
                t0 = time.perf_counter()
                store = VectorStore.open(settings.vector_dir)
                stages.ingest(
                    driver,
                    settings,
                    [sessions_file],
                    extractor=engine,
                    embedder=embedder,
                    store=store,
                )
                t1 = time.perf_counter()
                before = reader.counts().as_dict()
                report = consolidate(driver, settings, store=store, now=haystack.now)
                t2 = time.perf_counter()
                stats.append(
                    HaystackStats(
                        key=haystack.key,
                        sessions=len(haystack.sessions),
                        before=before,
                        after=reader.counts().as_dict(),
                        consolidation=report.as_dict(),
                        ingest_seconds=t1 - t0,
                        consolidation_seconds=t2 - t1,
                    )
                )
                retriever = Retriever.from_settings(
                    settings,
                    driver=driver,
                    store=VectorStore.open(settings.vector_dir),
                    embedder=embedder,
                )
                if haystack.questions:  # untimed: loads the projection, BM25 and links
                    retriever.retrieve(haystack.questions[0].question, top_k=1, record_access=False)
                for q in haystack.questions:
                    row: dict[str, Any] = {
                        "id": q.id,
                        "kind": q.kind,
                        "gold_sessions": sorted(q.gold_sessions),
                        "gold_turns": sorted(q.gold_turns),
                    }
                    if q.latest_session is not None:
                        row["latest_session"] = q.latest_session
                    for method in methods:
                        m = str(method)
                        t = time.perf_counter()
                        result = retriever.retrieve(
                            q.question,
                            top_k=depth,
                            as_of=q.as_of,
                            config=method,
                            record_access=False,
                        )
                        latencies[m].append((time.perf_counter() - t) * 1000)
                        if result.reason is not None:
                            fallbacks[m] += 1
                        ranked = []
                        for p in result.passages:
                            if p.id not in turn_map:
                                unmapped += 1
                            ranked.append((p.document_id, turn_map.get(p.id, ())))
                        metrics = score_question(q, ranked, session_ks=session_ks, turn_ks=turn_ks)
                        for metric, value in metrics.items():
                            scores[m][q.kind].add(metric, value)
                            scores[m]["all"].add(metric, value)
                        row[m] = {
                            **{k: round(v, 4) for k, v in metrics.items()},
                            "sessions": list(dict.fromkeys(s for s, _ in ranked))[:5],
                        }
                    rows.append(row)
                if progress is not None:
                    progress("haystacks", i + 1, len(haystacks))
            return MemoryReport(
                scores=scores,
                latencies_ms=latencies,
                fallbacks=fallbacks,
                per_question=rows,
                haystacks=stats,
                extractor=engine.name,
                unmapped_passages=unmapped,
                seconds=time.perf_counter() - started,
            )
        finally:
            driver.close()
    finally:
        server.stop()
