"""LongMemEval and LoCoMo parsing, the passage → session/turn map and the memory metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.chunking import ChunkingConfig
from retrieval.evaluation.datasets import DatasetError
from retrieval.evaluation.memory import (
    MemoryQuestion,
    Session,
    Turn,
    latest_and_superseded,
    latest_ranked_first,
    load_locomo,
    load_longmemeval,
    locomo_haystack,
    longmemeval_haystack,
    normalise_evidence,
    parse_longmemeval_date,
    passage_turn_map,
    score_question,
    session_records,
    turn_recall_at,
    write_sessions,
)

LME_KU = {
    "question_id": "ku1",
    "question_type": "knowledge-update",
    "question": "What is my personal best in the 5K?",
    "answer": "25:50",
    "question_date": "2023/06/01 (Thu) 00:58",
    "haystack_dates": ["2023/05/27 (Sat) 10:20", "2023/05/25 (Thu) 20:21"],
    "haystack_session_ids": ["new", "old"],
    "haystack_sessions": [
        [
            {"role": "user", "content": "My best is now 25:50.", "has_answer": True},
            {"role": "assistant", "content": "Congratulations!", "has_answer": False},
        ],
        [
            {"role": "user", "content": "   ", "has_answer": False},
            {"role": "user", "content": "I ran the 5K in 27:12.", "has_answer": True},
        ],
    ],
    "answer_session_ids": ["old", "new"],
}

LME_OTHER = {
    **LME_KU,
    "question_id": "t1",
    "question_type": "temporal-reasoning",
    "question_date": "not a date",
}

LOCOMO = {
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Caroline",
        "speaker_b": "Melanie",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Caroline", "dia_id": "D1:1", "text": "Hey Mel!"},
            {"speaker": "Melanie", "dia_id": "D1:2", "text": "Hi!  How are   you?"},
            {
                "speaker": "Caroline",
                "dia_id": "D1:3",
                "text": "I went to a support group yesterday.",
                "blip_caption": "a photo of a rainbow flag",
            },
        ],
        "session_2_date_time": "7:00 pm on 20 May, 2023",
        "session_2": [
            {"speaker": "Melanie", "dia_id": "D2:1", "text": "I painted a lake."},
            {"speaker": "Caroline", "dia_id": "D2:2", "text": ""},
        ],
        "session_3_date_time": "9:00 am on 1 June, 2023",
    },
    "qa": [
        {"question": "When?", "answer": "7 May 2023", "evidence": ["D1:3"], "category": 2},
        {"question": "What?", "evidence": ["D2:1; D1:02"], "category": 4},
        {"question": "None?", "evidence": ["D9:9", "D"], "category": 5},
    ],
}


# ---- parsing --------------------------------------------------------------------------------


def test_longmemeval_dates() -> None:
    assert parse_longmemeval_date("2023/05/20 (Sat) 02:21") == datetime(
        2023, 5, 20, 2, 21, tzinfo=UTC
    )
    assert parse_longmemeval_date("2023/05/20") == datetime(2023, 5, 20, tzinfo=UTC)
    assert parse_longmemeval_date("2023/13/40 (Sat) 02:21") is None
    assert parse_longmemeval_date("yesterday") is None
    assert parse_longmemeval_date(None) is None


def test_longmemeval_haystack_sessions_turns_and_update() -> None:
    h = longmemeval_haystack(LME_KU)
    assert h.key == "ku1"
    assert [s.id for s in h.sessions] == ["new", "old"]
    # the blank turn is dropped and turn ids count only the turns written
    assert [t.id for t in h.sessions[1].turns] == ["old:0"]
    assert h.sessions[1].turns[0].text == "I ran the 5K in 27:12."
    (q,) = h.questions
    assert q.gold_sessions == {"new", "old"}
    assert q.gold_turns == {"new:0", "old:0"}
    assert q.latest_session == "new"
    assert q.superseded_sessions == {"old"}
    # the end of the question's day: sessions stamped later that day stay visible
    assert q.as_of == h.now == datetime(2023, 6, 1, 23, 59, 59, tzinfo=UTC)


def test_longmemeval_other_types_have_no_update_and_bad_date_is_none() -> None:
    (q,) = longmemeval_haystack(LME_OTHER).questions
    assert q.latest_session is None and q.superseded_sessions == frozenset()
    assert q.as_of is None


def test_longmemeval_missing_field() -> None:
    record = {k: v for k, v in LME_KU.items() if k != "haystack_sessions"}
    with pytest.raises(DatasetError, match="haystack_sessions"):
        longmemeval_haystack(record, "f[0]")


def test_load_longmemeval_filters(tmp_path: Path) -> None:
    path = tmp_path / "lme.json"
    records = [{**LME_KU, "question_id": f"ku{i}"} for i in range(3)] + [
        {**LME_OTHER, "question_id": f"t{i}"} for i in range(3)
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    assert len(load_longmemeval(path)) == 6
    assert [h.key for h in load_longmemeval(path, types=["temporal-reasoning"])] == [
        "t0",
        "t1",
        "t2",
    ]
    assert [h.key for h in load_longmemeval(path, limit=2)] == ["ku0", "ku1"]
    picked = load_longmemeval(path, per_type=1, full_types=["knowledge-update"])
    assert [h.key for h in picked] == ["ku0", "ku1", "ku2", "t0"]
    with pytest.raises(DatasetError, match="no questions"):
        load_longmemeval(path, types=["nope"])


def test_latest_and_superseded_undecidable_cases() -> None:
    d1, d2 = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 2, 1, tzinfo=UTC)
    assert latest_and_superseded(["a", "b", "c"], {"a": d1, "b": d2, "c": d1}) == (
        "b",
        frozenset({"a", "c"}),
    )
    assert latest_and_superseded(["a"], {"a": d1}) == (None, frozenset())
    assert latest_and_superseded(["a", "b"], {"a": d1, "b": None}) == (None, frozenset())
    assert latest_and_superseded(["a", "b"], {"a": d2, "b": d2}) == (None, frozenset())


def test_normalise_evidence() -> None:
    known = {"D1:2", "D2:1", "D30:5"}
    assert normalise_evidence(["D2:1; D1:02", "D30:05"], known) == (
        frozenset({"D1:2", "D2:1", "D30:5"}),
        0,
    )
    assert normalise_evidence(["D", "D9:9", "D2:1"], known) == (frozenset({"D2:1"}), 2)
    assert normalise_evidence(None, known) == (frozenset(), 0)


def test_locomo_haystack() -> None:
    h, unresolved = locomo_haystack(LOCOMO)
    assert h.key == "conv-x"
    # session_3 has a date but no turns; the blank turn D2:2 is dropped
    assert [s.id for s in h.sessions] == ["conv-x:session_1", "conv-x:session_2"]
    assert [t.id for t in h.sessions[1].turns] == ["D2:1"]
    assert h.sessions[0].turns[1].text == "Hi! How are you?"
    assert h.sessions[0].turns[2].text.endswith("[shares a photo: a photo of a rainbow flag]")
    assert h.sessions[0].date == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert h.now == datetime(2023, 5, 20, 19, 0, tzinfo=UTC)
    # the third question has no resolvable evidence: skipped, its two ids counted
    assert unresolved == 2
    assert [(q.kind, q.gold_turns) for q in h.questions] == [
        ("temporal", {"D1:3"}),
        ("single-hop", {"D2:1", "D1:2"}),
    ]
    assert h.questions[1].gold_sessions == {"conv-x:session_1", "conv-x:session_2"}


def test_load_locomo_limit(tmp_path: Path) -> None:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([LOCOMO, {**LOCOMO, "sample_id": "conv-y"}]), encoding="utf-8")
    haystacks, unresolved = load_locomo(path, limit_conversations=1)
    assert [h.key for h in haystacks] == ["conv-x"] and unresolved == 2


# ---- sessions as files and the passage → turns map -------------------------------------------


def _session(sid: str, n: int, chars: int = 40) -> Session:
    turns = tuple(
        Turn(f"{sid}:{i}", "user" if i % 2 == 0 else "assistant", f"turn {i} " + "x" * chars)
        for i in range(n)
    )
    return Session(sid, datetime(2023, 5, 1, tzinfo=UTC), turns)


def test_session_records_use_the_session_id_as_document_id() -> None:
    (record,) = session_records([_session("s1", 1)])
    assert record["id"] == record["session_id"] == "s1"
    assert record["date"] == "2023-05-01T00:00:00+00:00"
    assert record["turns"] == [{"speaker": "user", "text": "turn 0 " + "x" * 40}]


def test_passage_turn_map_covers_whole_turns(tmp_path: Path) -> None:
    sessions = [_session("s1", 6), _session("s2", 2)]
    path = tmp_path / "sessions.jsonl"
    write_sessions(sessions, path)
    # each line is "user: turn i xxx..." of about 53 characters: two lines fit in 120
    mapping = passage_turn_map(sessions, path, ChunkingConfig(max_chars=120, overlap_sentences=0))
    covered = sorted(mapping.values())
    assert covered == [
        ("s1:0", "s1:1"),
        ("s1:2", "s1:3"),
        ("s1:4", "s1:5"),
        ("s2:0", "s2:1"),
    ]


def test_passage_turn_map_with_overlap_and_long_turn(tmp_path: Path) -> None:
    long_turn = Turn("s1:1", "user", "A long sentence here. " * 20)
    sessions = [
        Session(
            "s1",
            None,
            (Turn("s1:0", "user", "short"), long_turn, Turn("s1:2", "assistant", "ok")),
        )
    ]
    path = tmp_path / "sessions.jsonl"
    write_sessions(sessions, path)
    mapping = passage_turn_map(sessions, path, ChunkingConfig(max_chars=100))
    # every passage maps to at least one turn, and the long turn's pieces map to it alone
    assert all(mapping.values())
    assert any(turns == ("s1:1",) for turns in mapping.values())
    assert {t for turns in mapping.values() for t in turns} == {"s1:0", "s1:1", "s1:2"}


def test_passage_turn_map_detects_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "sessions.jsonl"
    write_sessions([_session("s1", 3)], path)
    with pytest.raises(DatasetError, match="3 lines"):
        passage_turn_map([_session("s1", 2)], path, ChunkingConfig())


# ---- metrics --------------------------------------------------------------------------------


def test_turn_recall_at() -> None:
    ranked = [("a", "b"), ("c",), ("d", "a")]
    gold = frozenset({"a", "d", "z"})
    assert turn_recall_at(gold, ranked, 1) == pytest.approx(1 / 3)
    assert turn_recall_at(gold, ranked, 2) == pytest.approx(1 / 3)
    assert turn_recall_at(gold, ranked, 3) == pytest.approx(2 / 3)
    assert turn_recall_at(frozenset(), ranked, 3) == 0.0


def test_latest_ranked_first() -> None:
    # passages' sessions in rank order; a session's rank is its best passage's
    assert latest_ranked_first("new", ["old"], ["new", "old", "new"])
    assert not latest_ranked_first("new", ["old"], ["old", "new"])
    # the superseded session not retrieved ranks last
    assert latest_ranked_first("new", ["old"], ["x", "new"])
    # the latest not retrieved fails
    assert not latest_ranked_first("new", ["old"], ["x"])
    assert not latest_ranked_first("new", ["old"], [])
    # every superseded one must be outranked
    assert not latest_ranked_first("c", ["a", "b"], ["a", "c", "b"])
    assert latest_ranked_first("c", ["a", "b"], ["c", "b", "a"])


def test_score_question() -> None:
    q = MemoryQuestion(
        id="q",
        kind="knowledge-update",
        question="?",
        as_of=None,
        gold_sessions=frozenset({"new", "old"}),
        gold_turns=frozenset({"new:0", "old:3"}),
        latest_session="new",
        superseded_sessions=frozenset({"old"}),
    )
    ranked = [("old", ("old:2", "old:3")), ("old", ("old:4",)), ("new", ("new:0",))]
    scores = score_question(q, ranked, session_ks=(1, 3), turn_ks=(1, 3))
    assert scores == {
        "session_recall@1": 0.5,
        "session_recall@3": 1.0,
        "turn_recall@1": 0.5,
        "turn_recall@3": 1.0,
        "latest_first": 0.0,
    }
    no_turns = MemoryQuestion("q2", "multi-session", "?", None, frozenset({"new"}), frozenset())
    assert score_question(no_turns, ranked, session_ks=(1,), turn_ks=(1,)) == {
        "session_recall@1": 0.0
    }
