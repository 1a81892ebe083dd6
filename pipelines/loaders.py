"""Read input files into :class:`~pipelines.models.Document` records, one at a time.

Supported inputs, chosen by file extension:

==========================  ==============================================================
``.txt``                    one plain-text document; title = the file stem
``.md``, ``.markdown``      one Markdown document; title = the first heading, else the stem
``.jsonl``, ``.ndjson``     one document per line: ``{id?, title?, text, timestamp?,
                            metadata?}`` or a conversation session (below)
``.json``                   one record (a session, or a document as above) or a list of them
==========================  ==============================================================

A conversation session is ``{session_id, date?, title?, id?, metadata?, turns: [{speaker,
text}]}`` (a record with ``turns``); it becomes one document whose text holds one
``Speaker: text`` line per non-empty turn, with ``session_id`` and ``speakers`` in its metadata.

:func:`load_documents` is a generator of ``Document | InputError``: a bad file or record yields
an :class:`~pipelines.errors.InputError` naming it (``path`` or ``path:line``) and loading
goes on with the next one. Text files are read in blocks; a file longer than
``max_part_chars`` becomes consecutive part documents (``<id>#part-<n>``, split at a paragraph,
sentence or whitespace boundary), so memory stays bounded by the part size.

JSON Lines files are read line by line and ``.json`` files whole; a record's text longer than
``max_part_chars`` is split into parts the same way.

Document ids are stable. A text or Markdown file's id hashes its source path only, so an edited
file keeps its id and its new version replaces the old one (its ``content_hash`` tells them
apart). A JSON record's id is its own ``id`` when it has one, else a hash of its file, title,
time and text (a record without an id has no identity beyond its content). Pass relative paths
(or ``relative_to``) for ids that are the same on every machine.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from dateutil import parser as date_parser

from pipelines.errors import InputError
from pipelines.models import Document, SourceKind, stable_id

__all__ = [
    "DEFAULT_MAX_PART_CHARS",
    "SUPPORTED_SUFFIXES",
    "InputFormat",
    "LoadResult",
    "collect_documents",
    "detect_format",
    "iter_input_files",
    "load_documents",
    "load_file",
    "markdown_title",
    "parse_timestamp",
]


DEFAULT_MAX_PART_CHARS = 2_000_000
"""Default largest document, in characters; longer inputs are split into parts."""

_BLOCK_CHARS = 1 << 16
_TITLE_SCAN_CHARS = 1 << 16
_SNIFF_BYTES = 8192


class InputFormat(StrEnum):
    """The file formats :func:`load_documents` reads."""

    TEXT = "text"
    MARKDOWN = "markdown"
    JSON_LINES = "jsonl"
    JSON = "json"


_SUFFIXES: dict[str, InputFormat] = {
    ".txt": InputFormat.TEXT,
    ".md": InputFormat.MARKDOWN,
    ".markdown": InputFormat.MARKDOWN,
    ".jsonl": InputFormat.JSON_LINES,
    ".ndjson": InputFormat.JSON_LINES,
    ".json": InputFormat.JSON,
}


SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_SUFFIXES)
"""The file extensions :func:`load_documents` reads (lower case, with the dot)."""


def detect_format(path: Path) -> InputFormat | None:
    """The input format of ``path`` from its extension (case-insensitive), or ``None``."""
    return _SUFFIXES.get(path.suffix.lower())


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """Everything :func:`collect_documents` read: the documents and the inputs it rejected."""

    documents: list[Document] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def load_documents(
    paths: str | Path | Iterable[str | Path],
    *,
    max_part_chars: int = DEFAULT_MAX_PART_CHARS,
    relative_to: str | Path | None = None,
) -> Iterator[Document | InputError]:
    """Read files and directories into documents, streaming, one input at a time.

    Parameters
    ----------
    paths
        Files and directories. Directories are walked recursively in sorted name order,
        skipping hidden entries (names starting with ``.``) and symlinked directories.
    max_part_chars
        The largest document text, in characters. Longer inputs are yielded as consecutive
        parts with ids ``<id>#part-<n>`` (``n`` from 0) and ``part``, ``part_start_char`` and
        ``parent_id`` in their metadata.
    relative_to
        When given, sources (and so content-hash ids) use paths relative to this directory.

    Yields
    ------
    Document | InputError
        A document, or an error naming the bad input (``path`` or ``path:line``); a bad
        input never stops the others.
    """
    if max_part_chars < 1:
        raise ValueError("max_part_chars must be positive")
    base = Path(relative_to) if relative_to is not None else None
    for item in iter_input_files(paths):
        if isinstance(item, InputError):
            yield item
        else:
            yield from load_file(item, max_part_chars=max_part_chars, source=_source(item, base))


def collect_documents(
    paths: str | Path | Iterable[str | Path], *, max_part_chars: int = DEFAULT_MAX_PART_CHARS
) -> LoadResult:
    """:func:`load_documents`, gathered into lists (for small inputs and tests)."""
    result = LoadResult()
    for item in load_documents(paths, max_part_chars=max_part_chars):
        if isinstance(item, InputError):
            result.errors.append(item)
        else:
            result.documents.append(item)
    return result


def iter_input_files(paths: str | Path | Iterable[str | Path]) -> Iterator[Path | InputError]:
    """The files named by ``paths``, directories expanded, each file once, in a stable order."""
    if isinstance(paths, str | Path):
        paths = [paths]
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates: Iterator[Path | InputError] = _walk(path)
        elif path.is_file():
            candidates = iter([path])
        elif path.exists():
            candidates = iter([InputError(str(path), "not a regular file or directory")])
        else:
            candidates = iter([InputError(str(path), "no such file or directory")])
        for item in candidates:
            if isinstance(item, Path):
                key = item.resolve()
                if key in seen:
                    continue
                seen.add(key)
            yield item


def load_file(
    path: Path, *, max_part_chars: int = DEFAULT_MAX_PART_CHARS, source: str | None = None
) -> Iterator[Document | InputError]:
    """The documents in one file (or the errors that stop them), by the file's format."""
    name = source if source is not None else path.as_posix()
    fmt = detect_format(path)
    try:
        if fmt is None:
            known = ", ".join(sorted(_SUFFIXES))
            suffix = path.suffix or "(no extension)"
            yield InputError(name, f"unsupported format {suffix!r}; expected one of {known}")
        elif fmt in (InputFormat.TEXT, InputFormat.MARKDOWN):
            yield from _load_text_file(path, name, fmt, max_part_chars)
        elif fmt is InputFormat.JSON_LINES:
            yield from _load_jsonl_file(path, name, max_part_chars)
        else:
            yield from _load_json_file(path, name, max_part_chars)
    except InputError as e:
        yield e
    except OSError as e:
        yield InputError(name, f"cannot read file: {e.strerror or e}")


def parse_timestamp(value: object) -> datetime:
    """A timezone-aware datetime from an ISO 8601 string, a common date string or epoch seconds.

    Naive values are taken as UTC. Missing month or day default to 1; a string without a year
    is rejected rather than silently given the current one.

    Raises
    ------
    ValueError
        When ``value`` is not a recognisable date.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(float(value), tz=UTC)
    elif isinstance(value, str) and value.strip():
        parsed = _parse_date_string(value.strip())
    else:
        raise ValueError(f"expected a date string or epoch seconds, got {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Walking
# --------------------------------------------------------------------------------------------


def _walk(directory: Path) -> Iterator[Path | InputError]:
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as e:
        yield InputError(str(directory), f"cannot list directory: {e.strerror or e}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                yield from _walk(entry)
        elif entry.is_file():
            yield entry


def _source(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            pass
    return path.as_posix()


# --------------------------------------------------------------------------------------------
# Plain text and Markdown
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TextScan:
    """What a first pass over a text file learnt: its id, size, title and (if small) text."""

    doc_id: str
    chars: int
    head: str
    text: str | None


def _open_text(path: Path) -> IO[str]:
    # utf-8-sig drops a byte-order mark; newline=None turns \r\n and \r into \n.
    return path.open(encoding="utf-8-sig", errors="strict", newline=None)


def _read_blocks(stream: IO[str], source: str) -> Iterator[str]:
    while True:
        try:
            block = stream.read(_BLOCK_CHARS)
        except UnicodeDecodeError as e:
            raise InputError(
                source, f"not valid UTF-8 ({e.reason}): binary or differently encoded file"
            ) from e
        if not block:
            return
        if "\x00" in block:
            raise InputError(source, "binary file (contains NUL bytes)")
        yield block


def _scan_text_file(path: Path, source: str, max_part_chars: int) -> _TextScan:
    """First pass: validate the whole file and hash it, keeping at most one part in memory."""
    kept: list[str] | None = []
    head: list[str] = []
    chars = 0
    blank = True
    with _open_text(path) as stream:
        for block in _read_blocks(stream, source):
            if chars < _TITLE_SCAN_CHARS:
                head.append(block[: _TITLE_SCAN_CHARS - chars])
            chars += len(block)
            blank = blank and block.isspace()
            if kept is not None:
                if chars <= max_part_chars:
                    kept.append(block)
                else:
                    kept = None
    if blank:
        raise InputError(source, "empty file" if chars == 0 else "file holds only whitespace")
    text = "".join(kept) if kept is not None else None
    return _TextScan(doc_id=stable_id("doc", source), chars=chars, head="".join(head), text=text)


def _load_text_file(
    path: Path, source: str, fmt: InputFormat, max_part_chars: int
) -> Iterator[Document | InputError]:
    scan = _scan_text_file(path, source, max_part_chars)
    kind = SourceKind.MARKDOWN if fmt is InputFormat.MARKDOWN else SourceKind.TEXT
    title = (markdown_title(scan.head) if kind is SourceKind.MARKDOWN else None) or path.stem
    # For a file too large for one document, ``whole`` is the template its parts copy.
    whole = Document(
        id=scan.doc_id,
        source=source,
        kind=kind,
        title=title,
        text=scan.text if scan.text is not None else "",
        metadata={"path": path.as_posix(), "format": fmt.value},
    )
    if scan.text is not None:
        yield whole
        return
    with _open_text(path) as stream:
        pieces = _split_stream(stream, max_part_chars, source)
        seen = yield from _part_documents(whole, pieces)
    if seen != scan.chars:
        yield InputError(source, "file changed while it was being read; re-run to reload it")


# --------------------------------------------------------------------------------------------
# Parts of large documents
# --------------------------------------------------------------------------------------------

_PARAGRAPH_END = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_LINE_END = re.compile(r"\n\s*")
_WHITESPACE = re.compile(r"\s+")


def _split_point(text: str, limit: int, *, prefer_lines: bool) -> int:
    """Where to cut ``text`` (longer than ``limit``): the last good boundary within ``limit``.

    Tries paragraph breaks, then sentence ends (line ends first for conversations), then any
    whitespace, looking only in the second half of the window so parts stay large; falls back
    to a hard cut at ``limit``.
    """
    window_start = limit // 2
    window = text[window_start:limit]
    order = (_PARAGRAPH_END, _LINE_END, _SENTENCE_END, _WHITESPACE)
    if not prefer_lines:
        order = (_PARAGRAPH_END, _SENTENCE_END, _LINE_END, _WHITESPACE)
    for pattern in order:
        last = None
        for last in pattern.finditer(window):  # noqa: B007 - we want the last match
            pass
        if last is not None and last.end() > 0:
            return window_start + last.end()
    return limit


def _split_stream(stream: IO[str], limit: int, source: str) -> Iterator[str]:
    """Consecutive pieces of at most ``limit`` characters, cut at good boundaries."""
    carry = ""
    while True:
        try:
            block = stream.read(limit - len(carry))
        except UnicodeDecodeError as e:
            raise InputError(source, f"not valid UTF-8 ({e.reason})") from e
        text = carry + block
        if not block:
            if text:
                yield text
            return
        if len(text) < limit:
            carry = text
            continue
        cut = _split_point(text, limit, prefer_lines=False)
        yield text[:cut]
        carry = text[cut:]


def _split_text(text: str, limit: int, *, prefer_lines: bool) -> Iterator[str]:
    start = 0
    while len(text) - start > limit:
        cut = _split_point(text[start : start + limit + 1], limit, prefer_lines=prefer_lines)
        yield text[start : start + cut]
        start += cut
    if start < len(text):
        yield text[start:]


def _part_documents(
    whole: Document, pieces: Iterable[str]
) -> Generator[Document | InputError, None, int]:
    """One document per non-blank piece, ids ``<id>#part-<n>``; returns the characters seen."""
    offset = 0
    index = 0
    for piece in pieces:
        if not piece.isspace():
            metadata = {
                **whole.metadata,
                "part": index,
                "part_start_char": offset,
                "parent_id": whole.id,
            }
            yield whole.model_copy(
                update={"id": f"{whole.id}#part-{index}", "text": piece, "metadata": metadata}
            )
            index += 1
        offset += len(piece)
    return offset


def _maybe_split(document: Document, max_part_chars: int) -> Iterator[Document | InputError]:
    if len(document.text) <= max_part_chars:
        yield document
        return
    prefer_lines = document.kind is SourceKind.CONVERSATION
    pieces = _split_text(document.text, max_part_chars, prefer_lines=prefer_lines)
    yield from _part_documents(document, pieces)


# --------------------------------------------------------------------------------------------
# Markdown titles
# --------------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?(?:^ {0,3}\1[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_SETEXT_HEADING = re.compile(r"^ {0,3}(\S[^\n]*?)[ \t]*\n {0,3}(?:=+|-+)[ \t]*$", re.MULTILINE)


def markdown_title(text: str) -> str | None:
    """The text of the first ATX (``# Title``) or setext (``Title`` / ``=====``) heading.

    Front matter and fenced code blocks are skipped. Returns ``None`` when there is none.
    """
    body = _FRONT_MATTER.sub("", text, count=1)
    body = _FENCE.sub("", body)
    matches = [m for m in (_ATX_HEADING.search(body), _SETEXT_HEADING.search(body)) if m]
    if not matches:
        return None
    first = min(matches, key=lambda m: m.start())
    title = first.group(1).strip()
    return title or None


# --------------------------------------------------------------------------------------------
# JSON Lines and JSON
# --------------------------------------------------------------------------------------------


def _reject_binary(path: Path, source: str) -> None:
    with path.open("rb") as f:
        if b"\x00" in f.read(_SNIFF_BYTES):
            raise InputError(source, "binary file (contains NUL bytes)")


def _load_jsonl_file(
    path: Path, source: str, max_part_chars: int
) -> Iterator[Document | InputError]:
    _reject_binary(path, source)
    records = 0
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{source}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield InputError(where, f"not valid UTF-8 ({e.reason})")
                continue
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            records += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                yield InputError(where, f"malformed JSON: {e.msg} at column {e.colno}")
                continue
            context = {"path": path.as_posix(), "line": lineno}
            yield from _record_documents(record, where, source, context, max_part_chars)
    if records == 0:
        yield InputError(source, "empty file: no JSON Lines records")


def _load_json_file(
    path: Path, source: str, max_part_chars: int
) -> Iterator[Document | InputError]:
    _reject_binary(path, source)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(source, f"not valid UTF-8 ({e.reason})") from e
    if not text.strip():
        raise InputError(source, "empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            source, f"malformed JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from e
    if isinstance(data, list):
        if not data:
            raise InputError(source, "empty list: no sessions")
        for i, record in enumerate(data):
            context = {"path": path.as_posix(), "index": i}
            yield from _record_documents(record, f"{source}[{i}]", source, context, max_part_chars)
    else:
        context = {"path": path.as_posix()}
        yield from _record_documents(data, source, source, context, max_part_chars)


def _record_documents(
    record: object, where: str, origin: str, context: dict[str, Any], max_part_chars: int
) -> Iterator[Document | InputError]:
    """The document(s) of one JSON record; ``where`` names the record, ``origin`` its file."""
    if not isinstance(record, dict):
        yield InputError(where, f"expected a JSON object, got {_json_type(record)}")
        return
    try:
        if "turns" in record:
            document = _session_document(record, where, origin, context)
        else:
            document = _text_record_document(record, where, origin, context)
    except InputError as e:
        yield e
        return
    yield from _maybe_split(document, max_part_chars)


def _text_record_document(
    record: Mapping[str, Any], where: str, origin: str, context: dict[str, Any]
) -> Document:
    if "text" not in record:
        raise InputError(where, "missing 'text'")
    text = record["text"]
    if not isinstance(text, str):
        raise InputError(where, f"'text' must be a string, got {_json_type(text)}")
    if not text.strip():
        raise InputError(where, "empty 'text'")
    title = _optional_str(record, "title", where)
    timestamp = _optional_timestamp(record, "timestamp", where)
    metadata = {**_optional_metadata(record, where), **context}
    return Document(
        id=_record_id(record, where, origin, title, timestamp, text),
        source=where,
        kind=SourceKind.JSONL,
        title=title,
        text=text,
        timestamp=timestamp,
        metadata=metadata,
    )


def _session_document(
    record: Mapping[str, Any], where: str, origin: str, context: dict[str, Any]
) -> Document:
    session_id = record.get("session_id")
    if session_id is None or isinstance(session_id, bool) or session_id == "":
        raise InputError(where, "missing 'session_id'")
    if not isinstance(session_id, str | int):
        raise InputError(where, f"'session_id' must be a string, got {_json_type(session_id)}")
    timestamp = _optional_timestamp(record, "date", where)
    lines, speakers = _turn_lines(record["turns"], where)
    text = "\n".join(lines)
    title = _optional_str(record, "title", where) or _session_title(str(session_id))
    metadata = {
        **_optional_metadata(record, where),
        **context,
        "session_id": str(session_id),
        "speakers": speakers,
        "turns": len(lines),
    }
    return Document(
        id=_record_id(record, where, origin, title, timestamp, text),
        source=where,
        kind=SourceKind.CONVERSATION,
        title=title,
        text=text,
        timestamp=timestamp,
        metadata=metadata,
    )


def _session_title(session_id: str) -> str:
    """``Session 3`` for id ``3``; an id that already says "session" is the title as it is."""
    return session_id if session_id.lower().startswith("session") else f"Session {session_id}"


def _turn_lines(turns: object, where: str) -> tuple[list[str], list[str]]:
    """``Speaker: text`` lines (one per non-empty turn, whitespace collapsed) and the speakers."""
    if not isinstance(turns, list):
        raise InputError(where, f"'turns' must be a list, got {_json_type(turns)}")
    lines: list[str] = []
    speakers: dict[str, None] = {}
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise InputError(where, f"turn {i}: expected an object, got {_json_type(turn)}")
        speaker, text = turn.get("speaker"), turn.get("text")
        if not isinstance(speaker, str) or not speaker.strip():
            raise InputError(where, f"turn {i}: missing 'speaker'")
        if text is None:
            raise InputError(where, f"turn {i}: missing 'text'")
        if not isinstance(text, str):
            raise InputError(where, f"turn {i}: 'text' must be a string, got {_json_type(text)}")
        said = " ".join(text.split())
        if said:
            name = " ".join(speaker.split())
            speakers.setdefault(name, None)
            lines.append(f"{name}: {said}")
    if not lines:
        raise InputError(where, "session has no turns with text")
    return lines, list(speakers)


# --------------------------------------------------------------------------------------------
# Record fields
# --------------------------------------------------------------------------------------------


def _record_id(
    record: Mapping[str, Any],
    where: str,
    origin: str,
    title: str | None,
    timestamp: datetime | None,
    text: str,
) -> str:
    """The record's own ``id`` if it has one, else a hash of its file, title, time and text."""
    given = record.get("id")
    if given is None:
        stamp = timestamp.isoformat() if timestamp else ""
        return stable_id("doc", origin, title or "", stamp, text)
    if isinstance(given, bool) or not isinstance(given, str | int) or given == "":
        raise InputError(where, f"'id' must be a non-empty string or integer, got {given!r}")
    return str(given)


def _optional_str(record: Mapping[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(where, f"'{key}' must be a string, got {_json_type(value)}")
    return value.strip() or None


def _optional_timestamp(record: Mapping[str, Any], key: str, where: str) -> datetime | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except ValueError as e:
        raise InputError(where, f"'{key}' is not a recognisable date: {value!r}") from e


def _optional_metadata(record: Mapping[str, Any], where: str) -> dict[str, Any]:
    value = record.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(where, f"'metadata' must be an object, got {_json_type(value)}")
    return dict(value)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_DEFAULT_A = datetime(2000, 1, 1)
_DEFAULT_B = datetime(2001, 2, 2)


def _parse_date_string(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        first = date_parser.parse(text, default=_DEFAULT_A)
        second = date_parser.parse(text, default=_DEFAULT_B)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"unrecognised date {text!r}") from e
    if first.year != second.year:
        raise ValueError(f"date {text!r} has no year")
    return first
