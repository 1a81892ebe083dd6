"""hippograph's one settings object, read once from the environment (prefix ``HIPPOGRAPH_``).

The Neo4j connection also honours the conventional ``NEO4J_URI``, ``NEO4J_USER`` and
``NEO4J_PASSWORD`` variables: with ``NEO4J_URI`` set, hippograph uses that external server and
starts nothing.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExtractorKind(StrEnum):
    SPACY = "spacy"
    LLM = "llm"
    OPENIE = "openie"


def _default_data_dir() -> Path:
    return Path.cwd() / "data"


class Settings(BaseSettings):
    """All of hippograph's configuration. Construct once with :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="HIPPOGRAPH_", frozen=True, extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)

    # Neo4j connection. neo4j_uri unset means: use the project's own local server.
    neo4j_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("NEO4J_URI", "HIPPOGRAPH_NEO4J_URI")
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "HIPPOGRAPH_NEO4J_USER")
    )
    neo4j_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NEO4J_PASSWORD", "HIPPOGRAPH_NEO4J_PASSWORD"),
    )
    neo4j_database: str = "neo4j"

    # The local server's listen ports and memory (ignored with an external NEO4J_URI).
    neo4j_bolt_port: int = Field(default=7687, ge=1, le=65535)
    neo4j_http_port: int = Field(default=7474, ge=1, le=65535)
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"
    neo4j_start_timeout_s: float = Field(default=180.0, gt=0)
    neo4j_version: str = "5.26.21"
    neo4j_browser_version: str = "5.24.0"

    # Models.
    extractor: ExtractorKind = ExtractorKind.SPACY
    spacy_model: str = "en_core_web_sm"
    embedding_model: str = "minilm-int8"
    embedding_max_tokens: int = Field(default=256, ge=8, le=512)
    embedding_batch_size: int = Field(default=32, ge=1)
    embedding_threads: int | None = Field(default=None, ge=1)  # None: all cores but one
    llm_model: str | None = None  # "provider:model" for langchain's init_chat_model

    # Ingestion.
    chunk_max_chars: int = Field(default=1200, ge=100)
    chunk_overlap_sentences: int = Field(default=1, ge=0)
    synonym_threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    synonym_top_k: int = Field(default=10, ge=1)
    write_batch_size: int = Field(default=500, ge=1)

    @property
    def neo4j_home(self) -> Path:
        """Where the local server's jars, config, data and logs live."""
        return self.data_dir / "neo4j"

    @property
    def vector_dir(self) -> Path:
        return self.data_dir / "vectors"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def inbox_dir(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def uses_external_neo4j(self) -> bool:
        return self.neo4j_uri is not None

    @property
    def bolt_uri(self) -> str:
        return self.neo4j_uri or f"bolt://127.0.0.1:{self.neo4j_bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://127.0.0.1:{self.neo4j_http_port}/browser/"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
