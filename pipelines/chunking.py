"""Chunk documents into overlapping passages that respect sentence boundaries.

A document is cut into *units*: sentences (from :func:`split_sentences`, a fast offline
rule-based splitter) or, for conversations, turn lines. Units longer than the chunk limit are
split at whitespace. Consecutive units are packed greedily into chunks of at most
``max_chars`` characters, and each chunk after the first repeats the last
``overlap_sentences`` units of the previous one (as many as fit). Chunk text is an exact
slice of the document text, so ``start_char``/``end_char`` index into ``Document.text``.

Passage ids hash the document id and the chunk text, so they are the same on every machine;
a chunk whose text repeats an earlier chunk of the same document is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipelines.models import Document, Passage, SourceKind, stable_id
from pipelines.settings import Settings

__all__ = [
    "ChunkingConfig",
    "Span",
    "chunk_document",
    "chunk_documents",
    "split_long_span",
    "split_sentences",
]

Span = tuple[int, int]
"""A ``[start, end)`` character range of a text."""


@dataclass(frozen=True)
class ChunkingConfig:
    """How documents are chunked.

    Attributes
    ----------
    max_chars
        The longest passage, in characters.
    overlap_sentences
        How many trailing sentences (turns, for conversations) of a chunk the next chunk
        repeats.
    """

    max_chars: int = 1200
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError("max_chars must be positive")
        if self.overlap_sentences < 0:
            raise ValueError("overlap_sentences must not be negative")

    @classmethod
    def from_settings(cls, settings: Settings) -> ChunkingConfig:
        return cls(
            max_chars=settings.chunk_max_chars,
            overlap_sentences=settings.chunk_overlap_sentences,
        )


# --------------------------------------------------------------------------------------------
# Sentence splitting
# --------------------------------------------------------------------------------------------

# Words that end with a period but rarely end a sentence (compared lower case, without the dot).
# fmt: off
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "ft", "gen", "col", "lt",
    "sgt", "capt", "cmdr", "adm", "maj", "rev", "hon", "gov", "sen", "rep", "pres", "supt",
    "insp", "messrs", "mme", "mlle", "e.g", "i.e", "cf", "vs", "viz", "al", "approx", "dept",
    "univ", "assn", "bros", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
))
# Abbreviations that only precede a number: "No. 5", "Fig. 3", "pp. 10-12".
_NUMBER_ABBREVIATIONS = frozenset((
    "no", "nos", "fig", "figs", "vol", "vols", "pp", "p", "ch", "sec", "art", "op", "eq",
))
# fmt: on

_TERMINATOR = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_BLOCK_LINE = re.compile(r"\n[ \t]*(?=#{1,6}\s|[-*+]\s|>|\d{1,3}[.)]\s|\||```|~~~)")
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t][^\n]*$", re.MULTILINE)
_NON_SPACE = re.compile(r"\S")
_PREVIOUS_WORD = re.compile(r"(\S+)$")


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``, without surrounding whitespace.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (plus closing quotes or brackets) followed
    by whitespace and a word that does not start in lower case, unless the word before the
    period is a known abbreviation ("Dr.", "e.g."), a dotted acronym ("U.S.") or an initial
    ("J."). Paragraph breaks, Markdown headings and the start of list items, quotes and tables
    always end a sentence.
    """
    cuts = {m.end() for m in _PARAGRAPH_BREAK.finditer(text)}
    cuts.update(m.start() for m in _BLOCK_LINE.finditer(text))
    cuts.update(m.end() for m in _HEADING_LINE.finditer(text))
    cuts.update(m.end() for m in _TERMINATOR.finditer(text) if _ends_sentence(text, m))
    return _spans_between(text, sorted(cuts))


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether the terminator ``match`` (followed by whitespace) ends a sentence."""
    following = _NON_SPACE.search(text, match.end())
    if following is None:
        return True
    next_char = text[following.start()]
    if next_char.islower():
        return False
    if not match.group().startswith(".") or match.group().startswith(".."):
        return True
    word_match = _PREVIOUS_WORD.search(text, max(0, match.start() - 32), match.start())
    word = word_match.group(1).lstrip("\"'“‘([") if word_match else ""
    return not _is_abbreviation(word, next_char)


def _is_abbreviation(word: str, next_char: str) -> bool:
    """Whether ``word`` (the text before a period) is an abbreviation that does not end here."""
    lowered = word.lower()
    if lowered in _ABBREVIATIONS:
        return True
    if next_char.isdigit() and lowered in _NUMBER_ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "J. R. R. Tolkien"
    # A dotted acronym such as "U.S" or "Ph.D": letters separated by single periods.
    return "." in word and all(len(piece) <= 2 and piece.isalpha() for piece in word.split("."))


def _spans_between(text: str, cuts: list[int]) -> list[Span]:
    spans: list[Span] = []
    start = 0
    for end in [*cuts, len(text)]:
        span = _strip(text, start, end)
        if span is not None:
            spans.append(span)
        start = max(start, end)
    return spans


def _strip(text: str, start: int, end: int) -> Span | None:
    """``[start, end)`` without leading and trailing whitespace, or ``None`` if blank."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def split_long_span(text: str, span: Span, max_chars: int) -> list[Span]:
    """``span`` cut at whitespace into pieces of at most ``max_chars`` characters.

    A run without whitespace longer than ``max_chars`` (a URL, a hash) is cut hard.
    """
    start, end = span
    pieces: list[Span] = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = _last_space(text, start, limit + 1)
        piece_end = cut if cut is not None and cut > start else limit
        stripped = _strip(text, start, piece_end)
        if stripped is not None:
            pieces.append(stripped)
        start = piece_end
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _last_space(text: str, start: int, stop: int) -> int | None:
    for i in range(min(stop, len(text)) - 1, start, -1):
        if text[i].isspace():
            return i
    return None


# --------------------------------------------------------------------------------------------
# Units and packing
# --------------------------------------------------------------------------------------------


def _units(document: Document, max_chars: int) -> list[Span]:
    """The spans chunks are built from: sentences, or turn lines for conversations."""
    text = document.text
    if document.kind is SourceKind.CONVERSATION:
        coarse = _line_spans(text)
        units: list[Span] = []
        for line in coarse:
            if line[1] - line[0] <= max_chars:
                units.append(line)
            else:
                units.extend(_offset(split_sentences(text[line[0] : line[1]]), line[0]))
    else:
        units = split_sentences(text)
    return [piece for unit in units for piece in split_long_span(text, unit, max_chars)]


def _line_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    start = 0
    for line in text.split("\n"):
        span = _strip(text, start, start + len(line))
        if span is not None:
            spans.append(span)
        start += len(line) + 1
    return spans


def _offset(spans: list[Span], by: int) -> list[Span]:
    return [(start + by, end + by) for start, end in spans]


def _pack(units: list[Span], config: ChunkingConfig, headings: set[int]) -> list[Span]:
    """Greedy packing of unit indexes into ``[first, last)`` ranges, with overlap.

    Headings (unit indexes in ``headings``) are soft boundaries: a chunk that is at least half
    full ends before a heading, the next chunk starts at the heading without overlap, and no
    chunk ends with a heading when it holds other units. Either move is skipped when the
    heading and the unit after it would not fit in one chunk (a lone heading is no passage).
    """
    ranges: list[Span] = []
    first, count = 0, len(units)
    starts = {i for i in headings if _opens_chunk(units, i, config.max_chars)}
    while first < count:
        last = first + 1
        while last < count and units[last][1] - units[first][0] <= config.max_chars:
            if last in starts and units[last - 1][1] - units[first][0] >= config.max_chars // 2:
                break
            last += 1
        if last < count and last - first > 1 and (last - 1) in starts:
            last -= 1
        ranges.append((first, last))
        if last >= count:
            break
        first = last if last in starts else _next_start(units, first, last, config)
    return ranges


def _opens_chunk(units: list[Span], heading: int, max_chars: int) -> bool:
    """Whether a chunk can start at ``heading`` and still hold the unit after it."""
    after = heading + 1
    return after < len(units) and units[after][1] - units[heading][0] <= max_chars


def _next_start(units: list[Span], first: int, last: int, config: ChunkingConfig) -> int:
    """Where the chunk after ``[first, last)`` starts: overlap units that still fit with the
    next new unit."""
    start = max(last - config.overlap_sentences, first + 1)
    while start < last and units[last][1] - units[start][0] > config.max_chars:
        start += 1
    return start


def _heading_units(document: Document, units: list[Span]) -> set[int]:
    if document.kind is not SourceKind.MARKDOWN:
        return set()
    text = document.text
    return {i for i, (start, end) in enumerate(units) if _HEADING_LINE.fullmatch(text[start:end])}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def chunk_document(document: Document, config: ChunkingConfig | None = None) -> list[Passage]:
    """The passages of one document, in order, with overlap; ``[]`` for a blank document."""
    config = config or ChunkingConfig()
    units = _units(document, config.max_chars)
    ranges = _pack(units, config, _heading_units(document, units))
    passages: list[Passage] = []
    seen: set[str] = set()
    for first, last in ranges:
        start, end = units[first][0], units[last - 1][1]
        text = document.text[start:end]
        passage_id = stable_id("passage", document.id, text)
        if passage_id in seen:
            continue
        seen.add(passage_id)
        passages.append(
            Passage(
                id=passage_id,
                document_id=document.id,
                index=len(passages),
                text=text,
                title=document.title,
                start_char=start,
                end_char=end,
                timestamp=document.timestamp,
            )
        )
    return passages


def chunk_documents(
    documents: Iterable[Document], config: ChunkingConfig | None = None
) -> Iterator[Passage]:
    """The passages of many documents, streaming, document by document."""
    config = config or ChunkingConfig()
    for document in documents:
        yield from chunk_document(document, config)
