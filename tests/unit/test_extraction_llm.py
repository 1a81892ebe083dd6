"""The LLM extractor with fake chat models: parsing, structured output, the on-disk cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda

from pipelines.errors import ExtractionError
from pipelines.extraction import llm_extractor
from pipelines.extraction.base import Extractor, extractor_from_settings
from pipelines.extraction.llm_extractor import (
    PROMPT_VERSION,
    LLMExtractionResponse,
    LLMExtractor,
    build_chat_model,
    extraction_prompt_v1,
)
from pipelines.models import Passage
from pipelines.settings import ExtractorKind, Settings

TIMESTAMP = datetime(2024, 5, 15, tzinfo=UTC)

RESPONSE: dict[str, Any] = {
    "entities": [{"name": "Ana Lima", "type": "person"}, {"name": "Acme"}],
    "triples": [
        {
            "subject": "Ana Lima",
            "predicate": "joined",
            "object": "Acme",
            "statement": "Ana Lima joined Acme.",
            "date": "last year",
        },
        {
            "subject": "Ana Lima",
            "predicate": "is cto of",
            "object": "Acme",
            "statement": "Ana Lima is the CTO of Acme.",
            "date": "2021-03-01",
        },
        {"subject": "", "predicate": "is", "object": "Acme", "statement": "x"},  # dropped
    ],
}


class ScriptedChatModel(BaseChatModel):
    """Answers every prompt with the same text and records the prompts it was sent."""

    reply: str
    prompts: list[list[BaseMessage]] = []
    fail_on: str | None = None

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(messages)
        if self.fail_on is not None and any(self.fail_on in str(m.content) for m in messages):
            raise RuntimeError("provider is down")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


class StructuredChatModel(ScriptedChatModel):
    """A model with native structured output: returns the response model directly."""

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:
        def answer(messages: list[BaseMessage]) -> Any:
            self.prompts.append(messages)
            return schema.model_validate(RESPONSE)

        return RunnableLambda(answer)


def passage(text: str = "Ana Lima joined Acme last year.", index: int = 0) -> Passage:
    return Passage(
        id=f"p:{index}",
        document_id="doc:1",
        index=index,
        text=text,
        title="Ana Lima",
        start_char=0,
        end_char=len(text),
        timestamp=TIMESTAMP,
    )


def scripted() -> ScriptedChatModel:
    return ScriptedChatModel(reply="```json\n" + json.dumps(RESPONSE) + "\n```", prompts=[])


def test_json_text_answer_becomes_entities_and_dated_facts(tmp_path: Path) -> None:
    extractor = LLMExtractor(scripted(), model_id="fake", cache_dir=tmp_path)
    [ex] = extractor.extract([passage()])
    facts = {(f.subject, f.predicate, f.object): f for f in ex.facts}
    assert set(facts) == {("Ana Lima", "joined", "Acme"), ("Ana Lima", "is cto of", "Acme")}
    assert facts["Ana Lima", "joined", "Acme"].valid_at == datetime(2023, 1, 1, tzinfo=UTC)
    assert facts["Ana Lima", "is cto of", "Acme"].valid_at == datetime(2021, 3, 1, tzinfo=UTC)
    assert facts["Ana Lima", "joined", "Acme"].statement == "Ana Lima joined Acme."
    assert {(e.name, e.label) for e in ex.entities} == {("Ana Lima", "PERSON"), ("Acme", "CONCEPT")}
    assert ex.extractor == "llm:fake:v1" == extractor.name
    assert ex.passage_id == "p:0"


def test_json_fallback_appends_format_instructions(tmp_path: Path) -> None:
    model = scripted()
    LLMExtractor(model, cache_dir=tmp_path).extract([passage()])
    [prompt] = model.prompts
    assert "JSON" in str(prompt[-1].content)  # PydanticOutputParser's format instructions
    assert "triples" in str(prompt[-1].content)


def test_cache_prevents_a_second_call(tmp_path: Path) -> None:
    model = scripted()
    first = LLMExtractor(model, model_id="fake", cache_dir=tmp_path).extract([passage()])
    again = LLMExtractor(model, model_id="fake", cache_dir=tmp_path).extract([passage()])
    assert len(model.prompts) == 1
    assert again == first


def test_only_uncached_passages_reach_the_model(tmp_path: Path) -> None:
    model = scripted()
    extractor = LLMExtractor(model, model_id="fake", cache_dir=tmp_path)
    extractor.extract([passage("first text", 0)])
    results = extractor.extract([passage("first text", 0), passage("second text", 1)])
    assert len(model.prompts) == 2
    assert "second text" in str(model.prompts[-1][1].content)
    assert [r.passage_id for r in results] == ["p:0", "p:1"]


def test_cache_key_covers_model_prompt_version_and_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted()
    LLMExtractor(model, model_id="fake-a", cache_dir=tmp_path).extract([passage()])
    LLMExtractor(model, model_id="fake-b", cache_dir=tmp_path).extract([passage()])
    assert len(model.prompts) == 2  # another model is a miss
    LLMExtractor(model, model_id="fake-a", cache_dir=tmp_path).extract([passage("edited")])
    assert len(model.prompts) == 3  # other content is a miss
    monkeypatch.setattr(llm_extractor, "PROMPT_VERSION", "v2")
    LLMExtractor(model, model_id="fake-a", cache_dir=tmp_path).extract([passage()])
    assert len(model.prompts) == 4  # another prompt version is a miss


def test_cache_files_are_plain_json(tmp_path: Path) -> None:
    LLMExtractor(scripted(), model_id="openai:gpt-4o", cache_dir=tmp_path).extract([passage()])
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].suffix == ".json"
    assert files[0].parent.name == PROMPT_VERSION
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert record["model"] == "openai:gpt-4o"
    assert record["prompt_version"] == "v1"
    assert record["content_hash"].startswith("content:")
    assert LLMExtractionResponse.model_validate(record["response"]).triples[0].date == "last year"


def test_unreadable_cache_file_is_a_miss(tmp_path: Path) -> None:
    model = scripted()
    LLMExtractor(model, model_id="fake", cache_dir=tmp_path).extract([passage()])
    [file] = [p for p in tmp_path.rglob("*.json")]
    file.write_text("{not json", encoding="utf-8")
    [ex] = LLMExtractor(model, model_id="fake", cache_dir=tmp_path).extract([passage()])
    assert len(model.prompts) == 2
    assert len(ex.facts) == 2


def test_native_structured_output_is_used_when_available(tmp_path: Path) -> None:
    model = StructuredChatModel(reply="not used", prompts=[])
    [ex] = LLMExtractor(model, model_id="fake", cache_dir=tmp_path).extract([passage()])
    assert len(ex.facts) == 2
    [prompt] = model.prompts
    assert len(prompt) == 2  # the versioned prompt alone, no format instructions


def test_model_failure_is_an_extraction_error_and_successes_stay_cached(
    tmp_path: Path,
) -> None:
    model = ScriptedChatModel(reply=json.dumps(RESPONSE), prompts=[], fail_on="broken")
    extractor = LLMExtractor(model, model_id="fake", cache_dir=tmp_path, max_concurrency=1)
    with pytest.raises(ExtractionError, match="p:1"):
        extractor.extract([passage("fine", 0), passage("broken", 1)])
    calls = len(model.prompts)
    [ex] = extractor.extract([passage("fine", 0)])
    assert len(model.prompts) == calls  # the good passage was cached before the error
    assert len(ex.facts) == 2


def test_answer_that_is_not_the_response_model_is_an_error(tmp_path: Path) -> None:
    model = ScriptedChatModel(reply='{"triples": "nope"}', prompts=[])
    with pytest.raises(ExtractionError):
        LLMExtractor(model, cache_dir=tmp_path).extract([passage()])
    assert not list(tmp_path.rglob("*.json"))  # nothing invalid is cached


def test_prompt_v1_shows_title_date_and_text() -> None:
    messages = extraction_prompt_v1(passage("Ana Lima joined Acme yesterday."))
    assert PROMPT_VERSION == "v1"
    assert isinstance(messages[0], SystemMessage) and isinstance(messages[1], HumanMessage)
    human = str(messages[1].content)
    assert "Title: Ana Lima" in human
    assert "Passage date: 2024-05-15" in human
    assert "Ana Lima joined Acme yesterday." in human
    assert "statement" in str(messages[0].content) and "date" in str(messages[0].content)


def test_without_cache_dir_every_run_calls_the_model() -> None:
    model = scripted()
    extractor = LLMExtractor(model, model_id="fake", cache_dir=None)
    extractor.extract([passage()])
    extractor.extract([passage()])
    assert len(model.prompts) == 2


def test_factory_builds_the_llm_extractor(tmp_path: Path) -> None:
    settings = Settings(extractor=ExtractorKind.LLM, data_dir=tmp_path)
    extractor = extractor_from_settings(settings, chat_model=scripted())
    assert isinstance(extractor, LLMExtractor) and isinstance(extractor, Extractor)
    assert extractor.cache is not None
    assert extractor.cache.root == tmp_path / "cache" / "llm_extraction"
    with pytest.raises(ExtractionError, match="llm_model"):
        extractor_from_settings(settings)


def test_build_chat_model_reports_bad_specs_as_extraction_errors() -> None:
    with pytest.raises(ExtractionError, match="no_such_provider"):
        build_chat_model("no_such_provider:some-model")
