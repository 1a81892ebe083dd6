"""Loading files into documents: formats, ids, timestamps, bad inputs and large files."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.errors import InputError
from pipelines.loaders import (
    collect_documents,
    load_documents,
    markdown_title,
    parse_timestamp,
)
from pipelines.models import Document, SourceKind, stable_id


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[object]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def only_document(items: list[Document | InputError]) -> Document:
    assert len(items) == 1, items
    assert isinstance(items[0], Document), items[0]
    return items[0]


def only_error(items: list[Document | InputError]) -> InputError:
    assert len(items) == 1, items
    assert isinstance(items[0], InputError), items[0]
    return items[0]


SESSION = {
    "session_id": "s1",
    "date": "2023-05-08T13:56:00",
    "turns": [
        {"speaker": "Ann", "text": "I moved to Berlin.\nIt is  great."},
        {"speaker": "Bob", "text": "Congratulations!"},
        {"speaker": "Ann", "text": "   "},
        {"speaker": "Bob", "text": "When did you move?"},
    ],
}


# ------------------------------------------------------------------------------ text files


def test_text_file_is_one_document_with_stem_title_and_content_id(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", "Alice met Bob.\nThey talked.\n")
    doc = only_document(list(load_documents(path)))
    assert doc.kind is SourceKind.TEXT
    assert doc.title == "notes"
    assert doc.text == "Alice met Bob.\nThey talked.\n"
    assert doc.source == path.as_posix()
    assert doc.id == stable_id("doc", path.as_posix())
    assert doc.metadata["path"] == path.as_posix()
    assert doc.timestamp is None


def test_ids_are_stable_across_runs_and_relative_sources(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "Same text.")
    first = only_document(list(load_documents(tmp_path / "a.txt", relative_to=tmp_path)))
    second = only_document(list(load_documents(tmp_path / "a.txt", relative_to=tmp_path)))
    assert first.source == "a.txt"
    assert first.id == second.id == stable_id("doc", "a.txt")


def test_an_edited_file_keeps_its_document_id(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "First version.")
    first = only_document(list(load_documents(path)))
    write(path, "Second version.")
    second = only_document(list(load_documents(path)))
    assert first.id == second.id
    assert first.content_hash != second.content_hash


def test_windows_newlines_and_bom_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_bytes(b"\xef\xbb\xbfline one\r\nline two\r\n")
    doc = only_document(list(load_documents(path)))
    assert doc.text == "line one\nline two\n"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Project Kestrel\n\nBody.", "Project Kestrel"),
        ("Intro line.\n\n## Second level ##\n\nBody.", "Second level"),
        ("Project Heron\n=============\n\nBody.", "Project Heron"),
        ("---\ntitle: meta\n---\n# Real Title\n", "Real Title"),
        ("```\n# not a heading\n```\n\n# After Code\n", "After Code"),
    ],
)
def test_markdown_title_is_the_first_heading(text: str, title: str) -> None:
    assert markdown_title(text) == title


def test_markdown_file_without_heading_is_titled_by_stem(tmp_path: Path) -> None:
    path = write(tmp_path / "plain-notes.md", "Just a paragraph.\n")
    doc = only_document(list(load_documents(path)))
    assert doc.kind is SourceKind.MARKDOWN
    assert doc.title == "plain-notes"


def test_markdown_file_title_from_heading(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.markdown", "# Halvard Robotics\n\nFounded in 2016.\n")
    doc = only_document(list(load_documents(path)))
    assert (doc.kind, doc.title) == (SourceKind.MARKDOWN, "Halvard Robotics")


# ------------------------------------------------------------------------------ JSON Lines


def test_jsonl_records_keep_ids_titles_timestamps_and_metadata(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "news.jsonl",
        [
            {
                "id": "n1",
                "title": "Launch",
                "text": "Halvard launched the Kestrel.",
                "timestamp": "2017-06-16T09:30:00Z",
                "metadata": {"outlet": "Daily"},
            },
            {"text": "No id here.", "timestamp": "2019-03-06"},
        ],
    )
    first, second = load_documents(path)
    assert isinstance(first, Document) and isinstance(second, Document)
    assert first.id == "n1"
    assert first.kind is SourceKind.JSONL
    assert first.title == "Launch"
    assert first.timestamp == datetime(2017, 6, 16, 9, 30, tzinfo=UTC)
    assert first.metadata == {"outlet": "Daily", "path": path.as_posix(), "line": 1}
    assert first.source == f"{path.as_posix()}:1"
    assert second.source == f"{path.as_posix()}:2"
    assert second.timestamp == datetime(2019, 3, 6, tzinfo=UTC)
    assert second.id.startswith("doc:")
    # The same record gives the same id, a different timestamp a different one.
    again = list(load_documents(path))[1]
    assert isinstance(again, Document) and again.id == second.id
    assert second.id != stable_id("doc", path.as_posix(), "", "", "No id here.")


def test_jsonl_bad_records_are_reported_by_line_and_do_not_stop_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps({"text": "Good one."}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": "   "}),
        json.dumps(["a", "list"]),
        json.dumps({"text": 42}),
        json.dumps({"text": "Bad date.", "timestamp": "someday"}),
        "",
        json.dumps({"text": "Last good one."}),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"text": "caf\xe9"}\n')
    items = list(load_documents(path))
    docs = [i for i in items if isinstance(i, Document)]
    errors = {e.source: e.problem for e in items if isinstance(e, InputError)}
    assert [d.text for d in docs] == ["Good one.", "Last good one."]
    name = path.as_posix()
    assert set(errors) == {f"{name}:{n}" for n in (2, 3, 4, 5, 6, 7, 10)}
    assert "malformed JSON" in errors[f"{name}:2"]
    assert "missing 'text'" in errors[f"{name}:3"]
    assert "empty" in errors[f"{name}:4"]
    assert "JSON object" in errors[f"{name}:5"]
    assert "must be a string" in errors[f"{name}:6"]
    assert "date" in errors[f"{name}:7"]
    assert "UTF-8" in errors[f"{name}:10"]
    assert str(next(e for e in items if isinstance(e, InputError))).startswith(f"{name}:2: ")


def test_jsonl_without_records_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.jsonl", "\n\n  \n")
    error = only_error(list(load_documents(path)))
    assert error.source == path.as_posix()
    assert "no JSON Lines records" in error.problem


# ------------------------------------------------------------------------------ conversations


def test_conversation_session_becomes_speaker_lines(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(SESSION))
    doc = only_document(list(load_documents(path)))
    assert doc.kind is SourceKind.CONVERSATION
    assert doc.text == (
        "Ann: I moved to Berlin. It is great.\nBob: Congratulations!\nBob: When did you move?"
    )
    assert doc.timestamp == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert doc.metadata["session_id"] == "s1"
    assert doc.metadata["speakers"] == ["Ann", "Bob"]
    assert doc.metadata["turns"] == 3
    assert doc.source == path.as_posix()
    assert doc.title == "Session s1"


def test_conversation_list_and_jsonl_sessions(tmp_path: Path) -> None:
    other = {**SESSION, "session_id": "s2", "date": "1:56 pm on 8 May, 2023"}
    listed = tmp_path / "chats.json"
    listed.write_text(json.dumps([SESSION, other]))
    lined = write_jsonl(tmp_path / "chats.jsonl", [SESSION, other])
    from_list = [d for d in load_documents(listed) if isinstance(d, Document)]
    from_lines = [d for d in load_documents(lined) if isinstance(d, Document)]
    assert [d.source for d in from_list] == [f"{listed.as_posix()}[0]", f"{listed.as_posix()}[1]"]
    assert [d.source for d in from_lines] == [f"{lined.as_posix()}:1", f"{lined.as_posix()}:2"]
    assert [d.metadata["session_id"] for d in from_lines] == ["s1", "s2"]
    assert from_lines[1].timestamp == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert from_list[0].text == from_lines[0].text
    assert len({d.id for d in from_list}) == 2


@pytest.mark.parametrize(
    ("session", "problem"),
    [
        ({**SESSION, "turns": "hello"}, "'turns' must be a list"),
        ({**SESSION, "turns": [{"text": "hi"}]}, "turn 0: missing 'speaker'"),
        ({**SESSION, "turns": [{"speaker": "Ann"}]}, "turn 0: missing 'text'"),
        ({**SESSION, "turns": [{"speaker": "Ann", "text": " "}]}, "no turns with text"),
        ({"turns": SESSION["turns"]}, "missing 'session_id'"),
        ({**SESSION, "date": "not a date"}, "'date' is not a recognisable date"),
    ],
)
def test_bad_sessions_are_input_errors(tmp_path: Path, session: object, problem: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [session])
    error = only_error(list(load_documents(path)))
    assert error.source == f"{path.as_posix()}:1"
    assert problem in error.problem


def test_malformed_json_file_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '[\n  {"session_id": 1,\n  oops}\n]')
    error = only_error(list(load_documents(path)))
    assert error.source == path.as_posix()
    assert "malformed JSON" in error.problem and "line 3" in error.problem


# ------------------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\n", "only whitespace"),
        ("nul.txt", b"text\x00with\x00nul bytes", "binary"),
        ("latin1.txt", "café au lait".encode("latin-1"), "not valid UTF-8"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "not valid UTF-8"),
        ("binary.jsonl", b'{"text": "a"}\x00\x01\x02', "binary"),
        ("empty.json", b"", "empty file"),
        ("report.pdf", b"%PDF-1.4", "unsupported format '.pdf'"),
        ("README", b"no extension", "unsupported format"),
    ],
)
def test_bad_files_are_input_errors(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = only_error(list(load_documents(path)))
    assert error.source == path.as_posix()
    assert problem in error.problem
    assert str(error).startswith(path.as_posix())


def test_nonexistent_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    error = only_error(list(load_documents([missing])))
    assert error.source == str(missing)
    assert "no such file" in error.problem


def test_directory_walk_is_recursive_sorted_and_survives_bad_files(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "Bee.")
    write(tmp_path / "a" / "z.md", "# Zed\n")
    write(tmp_path / "a" / "c.txt", "Sea.")
    write(tmp_path / ".hidden.txt", "Hidden.")
    write(tmp_path / ".git" / "x.txt", "Hidden too.")
    (tmp_path / "bad.bin").write_bytes(b"\x00\x01")
    write(tmp_path / "c.txt", "")
    result = collect_documents([tmp_path, tmp_path / "b.txt"])
    names = [Path(d.source).relative_to(tmp_path).as_posix() for d in result.documents]
    assert names == ["a/c.txt", "a/z.md", "b.txt"]  # b.txt named twice, loaded once
    assert [Path(e.source).name for e in result.errors] == ["bad.bin", "c.txt"]
    again = collect_documents([tmp_path])
    assert [d.id for d in again.documents] == [d.id for d in result.documents]


# ------------------------------------------------------------------------------ large documents


def paragraphs(count: int) -> str:
    sentence = "The drone inspected turbine blade number {n} before noon. "
    return "".join(
        "".join(sentence.format(n=n * 10 + k) for k in range(5)) + "\n\n" for n in range(count)
    )


def test_large_text_file_is_split_into_parts_at_boundaries(tmp_path: Path) -> None:
    text = paragraphs(200)
    path = write(tmp_path / "big.txt", text)
    parts = [d for d in load_documents(path, max_part_chars=5000)]
    assert all(isinstance(p, Document) for p in parts)
    docs = [p for p in parts if isinstance(p, Document)]
    assert len(docs) > 1
    assert "".join(d.text for d in docs) == text
    assert all(len(d.text) <= 5000 for d in docs)
    parent = stable_id("doc", path.as_posix())
    assert [d.id for d in docs] == [f"{parent}#part-{i}" for i in range(len(docs))]
    assert all(d.text.endswith("\n\n") for d in docs[:-1])  # cut at paragraph breaks
    offsets = [d.metadata["part_start_char"] for d in docs]
    assert offsets == [text.index(d.text) for d in docs]
    assert [d.metadata["part"] for d in docs] == list(range(len(docs)))
    assert {d.metadata["parent_id"] for d in docs} == {parent}
    assert {d.title for d in docs} == {"big"}


def test_part_split_falls_back_to_sentences_then_whitespace(tmp_path: Path) -> None:
    sentences = write(tmp_path / "s.txt", paragraphs(40).replace("\n\n", " "))
    words = write(tmp_path / "w.txt", " ".join(["word"] * 3000))
    for path, ending in ((sentences, "."), (words, "word")):
        docs = [d for d in load_documents(path, max_part_chars=1000) if isinstance(d, Document)]
        assert len(docs) > 1
        assert all(d.text[-1].isspace() for d in docs[:-1]), path
        assert all(d.text.rstrip().endswith(ending) for d in docs[:-1]), path
        assert "".join(d.text for d in docs) == path.read_text()


def test_large_jsonl_record_is_split_into_parts(tmp_path: Path) -> None:
    text = paragraphs(30)
    path = write_jsonl(tmp_path / "big.jsonl", [{"id": "big", "text": text}])
    docs = [d for d in load_documents(path, max_part_chars=2000) if isinstance(d, Document)]
    assert len(docs) > 1
    assert [d.id for d in docs][:2] == ["big#part-0", "big#part-1"]
    assert "".join(d.text for d in docs) == text
    assert all(d.source == f"{path.as_posix()}:1" for d in docs)


def test_large_file_is_read_with_bounded_memory(tmp_path: Path) -> None:
    path = write(tmp_path / "huge.txt", paragraphs(12_000))  # about 4 MB
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = 0
        chars = 0
        for item in load_documents(path, max_part_chars=100_000):
            assert isinstance(item, Document)
            count += 1
            chars += len(item.text)
            del item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert chars == size and count >= size // 100_000
    assert peak < size / 2, f"peak {peak} bytes for a {size}-byte file"


# ------------------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-08", datetime(2023, 5, 8, tzinfo=UTC)),
        ("2023-05-08T13:56:00Z", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        (
            "2023-05-08T13:56:00+02:00",
            datetime(2023, 5, 8, 13, 56, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("May 8, 2023", datetime(2023, 5, 8, tzinfo=UTC)),
        ("8 May 2023 1:56 pm", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("March 2021", datetime(2021, 3, 1, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(value: object, expected: datetime) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("value", ["someday", "8 May", "", None, True, ["2020"]])
def test_parse_timestamp_rejects_unusable_values(value: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value)
