"""Typed Dagster resources: Neo4j, the embedder, the extractor and the FAISS vector store.

Each resource holds only overrides; anything left unset comes from hippograph's settings
(environment, prefix ``HIPPOGRAPH_``; Neo4j also from ``NEO4J_URI``/``NEO4J_USER``/
``NEO4J_PASSWORD``), so the Dagster job and ``hippograph ingest`` read one configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from neo4j import Driver
from pydantic import PrivateAttr

from graph.driver import connect
from graph.schema import ensure_schema
from pipelines.embeddings import embedder_from_settings
from pipelines.extraction.base import Extractor, extractor_from_settings
from pipelines.settings import Settings
from pipelines.vectorstore import VectorStore


class SettingsResource(ConfigurableResource):
    """hippograph's settings; ``data_dir`` may be overridden per deployment."""

    data_dir: str | None = None

    def overrides(self) -> dict[str, Any]:
        return {"data_dir": self.data_dir} if self.data_dir else {}

    def get(self) -> Settings:
        return Settings(**self.overrides())


class Neo4jResource(ConfigurableResource):
    """A Neo4j driver for one run, with hippograph's schema ensured at start."""

    settings: SettingsResource
    uri: str | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    _driver: Driver | None = PrivateAttr(default=None)

    def resolved_settings(self) -> Settings:
        values = self.settings.overrides()
        for key, value in (
            ("neo4j_uri", self.uri),
            ("neo4j_user", self.user),
            ("neo4j_password", self.password),
            ("neo4j_database", self.database),
        ):
            if value is not None:
                values[key] = value
        return Settings(**values)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Neo4jResource]:
        settings = self.resolved_settings()
        driver = connect(settings)
        try:
            ensure_schema(driver, settings.neo4j_database)
            self._driver = driver
            yield self
        finally:
            driver.close()
            self._driver = None

    @property
    def driver(self) -> Driver:
        if self._driver is None:
            raise RuntimeError("Neo4jResource used outside of a run")
        return self._driver


class EmbedderResource(ConfigurableResource):
    """The embedding model (default: MiniLM-L6-v2 int8 ONNX, offline)."""

    settings: SettingsResource

    def get(self) -> Any:
        return embedder_from_settings(self.settings.get())


class ExtractorResource(ConfigurableResource):
    """The extractor: spacy (default), llm (a LangChain chat model) or openie (cached import)."""

    settings: SettingsResource
    kind: str | None = None
    openie_file: str | None = None

    def get(self) -> Extractor:
        values = self.settings.overrides()
        if self.kind:
            values["extractor"] = self.kind
        return extractor_from_settings(Settings(**values), openie_file=self.openie_file)


class VectorStoreResource(ConfigurableResource):
    """The FAISS collections (passage, entity, fact) under the data directory."""

    settings: SettingsResource
    directory: str | None = None

    def open(self) -> VectorStore:
        path = self.directory or str(self.settings.get().vector_dir)
        return VectorStore.open(path)
