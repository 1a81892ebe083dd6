"""The extraction interface and the factory that picks an implementation from settings.

Three implementations satisfy :class:`Extractor`:

- :class:`~pipelines.extraction.spacy_extractor.SpacyExtractor` (default, offline);
- :class:`~pipelines.extraction.llm_extractor.LLMExtractor` (any LangChain chat model, cached);
- :class:`~pipelines.extraction.openie.OpenIEExtractor` (HippoRAG OpenIE result files).

Implementations are imported only when chosen, so that spaCy or LangChain are loaded only by
the runs that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pipelines.errors import ExtractionError
from pipelines.models import Extraction, Passage
from pipelines.settings import ExtractorKind, Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["Extractor", "extractor_from_settings"]


@runtime_checkable
class Extractor(Protocol):
    """Turns passages into extractions, one per passage and in the same order.

    The batch signature lets an implementation amortise its model over many passages
    (spaCy's ``nlp.pipe``, an LLM's concurrent calls).
    """

    @property
    def name(self) -> str:
        """Name and version, recorded in :attr:`Extraction.extractor`."""
        ...

    def extract(self, passages: Sequence[Passage]) -> list[Extraction]:
        """One extraction per passage, in order; an empty extraction when nothing is found."""
        ...


def extractor_from_settings(
    settings: Settings,
    *,
    chat_model: BaseChatModel | None = None,
    openie_file: Path | str | None = None,
) -> Extractor:
    """The extractor ``settings.extractor`` names. No model is loaded here.

    Parameters
    ----------
    settings:
        ``extractor`` picks the implementation; ``spacy_model``, ``llm_model`` and
        ``cache_dir`` configure it.
    chat_model:
        For the LLM extractor: a ready chat model (tests, custom clients) instead of building
        one from ``settings.llm_model``.
    openie_file:
        For the OpenIE extractor: the HippoRAG OpenIE result file (read here, once).

    Raises
    ------
    ExtractionError
        If the chosen extractor lacks its configuration.
    """
    if settings.extractor is ExtractorKind.SPACY:
        from pipelines.extraction.spacy_extractor import SpacyExtractor

        return SpacyExtractor.from_settings(settings)
    if settings.extractor is ExtractorKind.LLM:
        from pipelines.extraction.llm_extractor import LLMExtractor

        return LLMExtractor.from_settings(settings, model=chat_model)
    if settings.extractor is ExtractorKind.OPENIE:
        if openie_file is None:
            raise ExtractionError("the OpenIE extractor needs openie_file (a HippoRAG file)")
        from pipelines.extraction.openie import OpenIEExtractor

        return OpenIEExtractor.from_file(openie_file)
    raise ExtractionError(f"unknown extractor {settings.extractor!r}")
