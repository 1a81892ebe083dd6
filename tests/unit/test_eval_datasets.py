"""Question files in the MuSiQue/HippoRAG and HotpotQA shapes, corpora and recall@k."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.evaluation.datasets import (
    DatasetError,
    Paragraph,
    load_corpus,
    load_questions,
    pooled_corpus,
    recall_at,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchdata" / "multihop"

MUSIQUE = {
    "id": "q1",
    "question": "Where was the designer of the Kestrel born?",
    "paragraphs": [
        {
            "title": "Kestrel",
            "paragraph_text": "The Kestrel was designed by Elias.",
            "is_supporting": True,
        },
        {"title": "Elias", "text": "Elias was born in Tartu.", "is_supporting": True},
        {
            "title": "Kite",
            "paragraph_text": "The Kite was designed by Jonas.",
            "is_supporting": False,
        },
    ],
}
HOTPOT = {
    "_id": "h1",
    "question": "Which city?",
    "context": [["Kestrel", ["The Kestrel ", "was designed by Elias."]], ["Kite", ["Kite."]]],
    "supporting_facts": [["Kestrel", 0], ["Kestrel", 1]],
}


def test_musique_list_and_hotpot_jsonl_are_read_into_one_shape(tmp_path: Path) -> None:
    listed = tmp_path / "m.json"
    listed.write_text(json.dumps([MUSIQUE]), encoding="utf-8")
    lines = tmp_path / "h.json"
    lines.write_text(json.dumps(HOTPOT) + "\n", encoding="utf-8")
    (m,) = load_questions(listed)
    assert m.id == "q1" and m.gold_titles == {"Kestrel", "Elias"}
    assert m.paragraphs[1] == Paragraph("Elias", "Elias was born in Tartu.")
    (h,) = load_questions(lines)
    assert h.id == "h1" and h.gold_titles == {"Kestrel"}
    assert h.paragraphs[0].text == "The Kestrel was designed by Elias."


def test_pooled_corpus_deduplicates_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    second = {**MUSIQUE, "id": "q2"}
    path.write_text(json.dumps(MUSIQUE) + "\n" + json.dumps(second) + "\n", encoding="utf-8")
    questions = load_questions(path)
    assert len(questions) == 2
    assert len(pooled_corpus(questions)) == 3


def test_bad_records_name_the_file_and_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(MUSIQUE) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        load_questions(path)
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"question": "?"}]), encoding="utf-8")
    with pytest.raises(DatasetError, match="neither the MuSiQue shape"):
        load_questions(other)


def test_recall_counts_distinct_titles_in_rank_order() -> None:
    gold = frozenset({"A", "B"})
    assert recall_at(gold, ["A", "A", "C", "B"], 2) == 0.5
    assert recall_at(gold, ["A", "A", "C", "B"], 3) == 1.0
    assert recall_at(gold, [], 5) == 0.0


@pytest.mark.skipif(not SHARED.exists(), reason="shared benchmark data not present")
def test_shared_question_files_load() -> None:
    musique = load_questions(SHARED / "hipporag_legacy" / "musique_train.json")
    assert len(musique) == 100 and all(q.gold_titles for q in musique)
    corpus = load_corpus(SHARED / "hipporag_legacy" / "musique_train_corpus.json")
    assert len(corpus) == 1890
    hotpot = load_questions(SHARED / "migres_dev200" / "hotpot.json")
    assert len(hotpot) == 200 and all(q.gold_titles for q in hotpot)
    dev = load_questions(SHARED / "migres_dev200" / "musique.json")
    assert len(dev) == 200
