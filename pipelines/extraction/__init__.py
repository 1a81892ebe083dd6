"""Extraction: passages in, entities and (subject, predicate, object) facts with times out.

The interface and the factory live in :mod:`pipelines.extraction.base`; the implementations in
:mod:`~pipelines.extraction.spacy_extractor`, :mod:`~pipelines.extraction.llm_extractor` and
:mod:`~pipelines.extraction.openie` (import them from there: they pull in spaCy or LangChain);
date normalisation in :mod:`~pipelines.extraction.timeparse`.
"""

from pipelines.extraction.base import Extractor, extractor_from_settings
from pipelines.extraction.timeparse import Granularity, ParsedTime, normalize_date, parse_time

__all__ = [
    "Extractor",
    "Granularity",
    "ParsedTime",
    "extractor_from_settings",
    "normalize_date",
    "parse_time",
]
