"""Extraction with any LangChain chat model, cached on disk so that a re-run costs no calls.

The model answers the versioned prompt :func:`extraction_prompt_v1` with the Pydantic response
model :class:`LLMExtractionResponse`: through ``with_structured_output`` when the model supports
it, else as JSON text parsed by a :class:`~langchain_core.output_parsers.PydanticOutputParser`
(the parser's format instructions are then appended to the prompt).

Responses are cached as JSON files (never pickle) under
``<cache_dir>/<model id>/<prompt version>/<passage content hash>.json``. The content hash covers
the passage title, text and timestamp (the prompt shows the timestamp so that the model can
resolve relative dates), so any change to the model, the prompt version or the passage is a
cache miss. Dates in the response are normalised with :mod:`pipelines.extraction.timeparse`
against the passage timestamp when the response is turned into facts, not before caching.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from pipelines.errors import ExtractionError
from pipelines.extraction.timeparse import normalize_date
from pipelines.models import Entity, Extraction, Fact, Passage, canonical_name, stable_id

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

    from pipelines.settings import Settings

__all__ = [
    "LLM_CONFIDENCE",
    "PROMPT_VERSION",
    "ExtractionCache",
    "LLMEntity",
    "LLMExtractionResponse",
    "LLMExtractor",
    "LLMTriple",
    "build_chat_model",
    "extraction_prompt_v1",
    "passage_content_hash",
    "response_to_extraction",
]

logger = logging.getLogger(__name__)

PROMPT_VERSION = "v1"
LLM_CONFIDENCE = 0.9
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# --- response models ------------------------------------------------------------------------


class LLMEntity(BaseModel):
    """An entity named in the passage."""

    name: str = Field(description="the entity as written in the passage, no pronouns")
    type: str | None = Field(
        default=None, description="PERSON, ORG, PLACE, WORK, EVENT, PRODUCT, ROLE or CONCEPT"
    )


class LLMTriple(BaseModel):
    """One claim: a triple with its atomic statement and optional date."""

    subject: str = Field(description="an entity name")
    predicate: str = Field(description="a short lower-case verb phrase, e.g. 'is ceo of'")
    object: str = Field(description="an entity name")
    statement: str = Field(description="one short self-contained sentence with only this claim")
    date: str | None = Field(
        default=None, description="when it holds or happened: YYYY, YYYY-MM or YYYY-MM-DD"
    )


class LLMExtractionResponse(BaseModel):
    """Everything the model extracted from one passage."""

    entities: list[LLMEntity] = Field(default_factory=list)
    triples: list[LLMTriple] = Field(default_factory=list)


# --- prompt ---------------------------------------------------------------------------------

_SYSTEM_V1 = """You build a knowledge graph from one passage of text.
Return:
- entities: every named entity and salient concept in the passage (people, organisations,
  places, works, events, products, roles), written as in the passage. No pronouns, no bare
  dates or numbers.
- triples: every factual claim of the passage as (subject, predicate, object). Subject and
  object are entity names from your list; the predicate is a short lower-case verb phrase
  ("founded", "is ceo of", "moved to"). Replace pronouns with the names they refer to.
  For each triple give:
  - statement: one short, self-contained sentence that states only this claim;
  - date: when the claim happened or started to hold, as YYYY, YYYY-MM or YYYY-MM-DD, if the
    passage says so (resolve relative dates such as "last year" against the passage date);
    otherwise null.
Extract only what the passage states."""


def extraction_prompt_v1(passage: Passage) -> list[BaseMessage]:
    """The extraction prompt, version 1: a system message and the passage."""
    from langchain_core.messages import HumanMessage, SystemMessage

    lines = []
    if passage.title:
        lines.append(f"Title: {passage.title}")
    if passage.timestamp is not None:
        lines.append(f"Passage date: {passage.timestamp.date().isoformat()}")
    lines.append(f"Passage:\n{passage.text}")
    return [SystemMessage(content=_SYSTEM_V1), HumanMessage(content="\n".join(lines))]


def passage_content_hash(passage: Passage) -> str:
    """Hash of everything the prompt shows: title, text and timestamp."""
    timestamp = passage.timestamp.isoformat() if passage.timestamp else ""
    return stable_id("content", passage.title or "", passage.text, timestamp)


# --- cache ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheKey:
    model: str
    prompt_version: str
    content_hash: str


class ExtractionCache:
    """LLM responses as JSON files, one per (model, prompt version, passage content)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: CacheKey) -> Path:
        digest = key.content_hash.split(":", 1)[-1]
        return self.root / _safe(key.model) / _safe(key.prompt_version) / f"{digest}.json"

    def get(self, key: CacheKey) -> LLMExtractionResponse | None:
        """The cached response, or ``None`` (a missing or unreadable file is a miss)."""
        path = self.path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            return LLMExtractionResponse.model_validate(record["response"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as e:
            logger.warning("ignoring unreadable cache file %s: %s", path, e)
            return None

    def put(self, key: CacheKey, response: LLMExtractionResponse) -> None:
        """Write atomically (temporary file, then rename)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "model": key.model,
            "prompt_version": key.prompt_version,
            "content_hash": key.content_hash,
            "response": response.model_dump(mode="json"),
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f, ensure_ascii=False, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "_"


# --- extractor ------------------------------------------------------------------------------


class LLMExtractor:
    """Entities, triples and atomic facts from a chat model, with an on-disk response cache.

    Parameters
    ----------
    model:
        Any LangChain chat model.
    model_id:
        Identifies the model in the cache and in :attr:`name`; defaults to the model's
        ``model_name``/``model`` attribute or its class name.
    cache_dir:
        Where responses are cached; ``None`` disables the cache.
    max_concurrency:
        Parallel model calls within one :meth:`extract` call.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        model_id: str | None = None,
        cache_dir: Path | None = None,
        max_concurrency: int = 4,
    ) -> None:
        self.model = model
        self.model_id = model_id or _model_identifier(model)
        self.cache = ExtractionCache(cache_dir) if cache_dir is not None else None
        self.max_concurrency = max_concurrency

    @classmethod
    def from_settings(cls, settings: Settings, model: BaseChatModel | None = None) -> LLMExtractor:
        """Build from ``settings.llm_model`` (or use ``model``), caching under the cache dir."""
        if model is None and not settings.llm_model:
            raise ExtractionError("the LLM extractor needs settings.llm_model ('provider:model')")
        chat_model = model if model is not None else build_chat_model(str(settings.llm_model))
        return cls(
            chat_model,
            model_id=settings.llm_model if model is None else None,
            cache_dir=settings.cache_dir / "llm_extraction",
        )

    @property
    def name(self) -> str:
        return f"llm:{self.model_id}:{PROMPT_VERSION}"

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        """One :class:`Extraction` per passage; only uncached passages reach the model."""
        keys = [CacheKey(self.model_id, PROMPT_VERSION, passage_content_hash(p)) for p in passages]
        cached = {i: r for i, k in enumerate(keys) if (r := self._cached(k)) is not None}
        missing = [i for i in range(len(passages)) if i not in cached]
        fresh = self._call([passages[i] for i in missing], [keys[i] for i in missing])
        responses = {**cached, **dict(zip(missing, fresh, strict=True))}
        return [
            response_to_extraction(responses[i], passage, self.name)
            for i, passage in enumerate(passages)
        ]

    def _cached(self, key: CacheKey) -> LLMExtractionResponse | None:
        return self.cache.get(key) if self.cache is not None else None

    def _call(
        self, passages: Sequence[Passage], keys: Sequence[CacheKey]
    ) -> list[LLMExtractionResponse]:
        """Ask the model about every passage; cache each success before reporting a failure."""
        if not passages:
            return []
        runnable = _structured_runnable(self.model)
        outputs = runnable.batch(
            [extraction_prompt_v1(p) for p in passages],
            config={"max_concurrency": self.max_concurrency},
            return_exceptions=True,
        )
        responses: list[LLMExtractionResponse] = []
        failures: list[tuple[Passage, Exception]] = []
        for passage, key, output in zip(passages, keys, outputs, strict=True):
            try:
                response = _as_response(output)
            except Exception as e:  # the model's error or an answer that does not validate
                failures.append((passage, e))
                continue
            if self.cache is not None:
                self.cache.put(key, response)
            responses.append(response)
        if failures:
            passage, error = failures[0]
            raise ExtractionError(
                f"{self.model_id} failed on {len(failures)} passage(s), first {passage.id}: {error}"
            ) from error
        return responses


def build_chat_model(spec: str, **kwargs: Any) -> BaseChatModel:
    """A chat model from ``"provider:model"`` via ``langchain.chat_models.init_chat_model``.

    ``temperature`` defaults to 0 so that extraction is as repeatable as the provider allows.
    The provider's integration package (e.g. ``langchain-openai``) must be installed.
    """
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as e:
        raise ExtractionError("building a chat model needs the 'langchain' package") from e
    kwargs.setdefault("temperature", 0)
    try:
        model = init_chat_model(spec, **kwargs)
    except (ImportError, ValueError) as e:
        raise ExtractionError(f"cannot build chat model {spec!r}: {e}") from e
    return model  # type: ignore[return-value]


def response_to_extraction(
    response: LLMExtractionResponse, passage: Passage, extractor: str
) -> Extraction:
    """Entities and facts of one response; dates resolve against the passage timestamp."""
    entities: dict[str, Entity] = {}
    facts: dict[str, Fact] = {}
    for entity in response.entities:
        _add_entity(entities, entity.name, (entity.type or "CONCEPT").upper())
    for triple in response.triples:
        if not canonical_name(triple.subject) or not canonical_name(triple.object):
            continue
        valid_at = normalize_date(triple.date, passage.timestamp) if triple.date else None
        fact = Fact.create(
            triple.subject,
            triple.predicate,
            triple.object,
            statement=triple.statement.strip() or None,
            valid_at=valid_at,
            confidence=LLM_CONFIDENCE,
        )
        facts.setdefault(fact.id, fact)
        _add_entity(entities, triple.subject, "CONCEPT")
        _add_entity(entities, triple.object, "CONCEPT")
    return Extraction(
        passage_id=passage.id,
        entities=tuple(entities.values()),
        facts=tuple(facts.values()),
        extractor=extractor,
    )


def _add_entity(entities: dict[str, Entity], name: str, label: str) -> None:
    canon = canonical_name(name)
    if canon and canon not in entities:
        entities[canon] = Entity.from_name(name, label)


def _model_identifier(model: BaseChatModel) -> str:
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _structured_runnable(model: BaseChatModel) -> Runnable[Any, Any]:
    """``with_structured_output`` when supported, else JSON text through a Pydantic parser."""
    try:
        return model.with_structured_output(LLMExtractionResponse)
    except NotImplementedError:
        pass
    from langchain_core.output_parsers import PydanticOutputParser
    from langchain_core.runnables import RunnableLambda

    parser = PydanticOutputParser(pydantic_object=LLMExtractionResponse)
    instructions = parser.get_format_instructions()

    def with_instructions(messages: list[BaseMessage]) -> list[BaseMessage]:
        from langchain_core.messages import SystemMessage

        return [*messages, SystemMessage(content=instructions)]

    return RunnableLambda(with_instructions) | model | parser


def _as_response(output: Any) -> LLMExtractionResponse:
    """The validated response; re-raises an exception the batch returned in its place."""
    if isinstance(output, Exception):
        raise output
    if isinstance(output, LLMExtractionResponse):
        return output
    return LLMExtractionResponse.model_validate(output)
