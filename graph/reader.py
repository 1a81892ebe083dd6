"""Read-side queries: counts, ids, texts and the integrity checks the Dagster asset checks use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from neo4j import Driver

from graph import cypher

VECTOR_KINDS = ("passage", "entity", "fact")


@dataclass(frozen=True)
class GraphCounts:
    """Node and relationship counts as stored in Neo4j."""

    documents: int
    passages: int
    entities: int
    facts: int
    synonym_edges: int
    relations: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class GraphReader:
    """Reads hippograph's records from Neo4j. Takes a driver; does no I/O when constructed."""

    def __init__(self, driver: Driver, database: str = "neo4j") -> None:
        self._driver = driver
        self._database = database

    def counts(self) -> GraphCounts:
        records, _, _ = self._driver.execute_query(cypher.COUNTS, database_=self._database)
        return GraphCounts(**dict(records[0]))

    def ids(self, kind: str) -> set[str]:
        """All ids of ``kind`` (passage, entity or fact)."""
        records, _, _ = self._driver.execute_query(cypher.ALL_IDS[kind], database_=self._database)
        return {r["id"] for r in records}

    def texts(self, kind: str, ids: Sequence[str]) -> dict[str, str]:
        """The text embedded for each id of ``kind``."""
        records, _, _ = self._driver.execute_query(
            cypher.TEXTS[kind], ids=list(ids), database_=self._database
        )
        return {r["id"]: r["text"] or "" for r in records}

    def facts_without_provenance(self, limit: int = 20) -> list[str]:
        records, _, _ = self._driver.execute_query(
            cypher.FACTS_WITHOUT_PROVENANCE, limit=limit, database_=self._database
        )
        return [r["id"] for r in records]

    def duplicate_canonical_names(self, limit: int = 20) -> list[tuple[str, int]]:
        records, _, _ = self._driver.execute_query(
            cypher.DUPLICATE_CANONICAL_NAMES, limit=limit, database_=self._database
        )
        return [(r["canonical"], r["n"]) for r in records]
