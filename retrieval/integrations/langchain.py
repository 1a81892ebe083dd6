"""A LangChain ``BaseRetriever`` over :class:`retrieval.retriever.Retriever`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.config import Preset, RetrievalConfig
from retrieval.retriever import Retriever


class HippographRetriever(BaseRetriever):
    """Returns the passages of :meth:`Retriever.retrieve` as ``Document`` s.

    ``metadata`` holds the passage id, title, source, document id, timestamp, rank, score,
    the score components, the seeds and path that explain it, the ids of the facts it states,
    and the result's ``reason`` (e.g. ``"no_entity_linked"``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    top_k: int = 5
    as_of: datetime | date | None = None
    config: Preset | RetrievalConfig = Preset.PPR_RERANK_TIMELINE

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        result = self.retriever.retrieve(
            query, top_k=self.top_k, as_of=self.as_of, config=self.config
        )
        docs = []
        for p in result.passages:
            why = p.explanation
            metadata = {
                "id": p.id,
                "title": p.title,
                "source": p.source,
                "document_id": p.document_id,
                "timestamp": p.timestamp.isoformat() if p.timestamp else None,
                "rank": p.rank,
                "score": p.score,
                "components": why.components.model_dump(),
                "seeds": why.seeds,
                "path": why.path,
                "facts": why.facts,
                "reason": result.reason.value if result.reason else None,
            }
            docs.append(Document(page_content=p.text, metadata=metadata, id=p.id))
        return docs
