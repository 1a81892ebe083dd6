"""The graph's vocabulary (node labels, relationship types) and its constraints and indexes.

::

    (:Document)-[:HAS_PASSAGE]->(:Passage)
    (:Passage)-[:STATES]->(:Fact)           (:Passage)-[:MENTIONS]->(:Entity)
    (:Fact)-[:SUBJECT]->(:Entity)           (:Fact)-[:OBJECT]->(:Entity)
    (:Entity)-[:RELATES {predicate, fact_id}]->(:Entity)    one per fact
    (:Entity)-[:SYNONYM {score}]->(:Entity)
    (:Fact)-[:SUPERSEDES]->(:Fact)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from graph.errors import GraphError, GraphQueryError

INDEX_AWAIT_TIMEOUT_S = 300

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class NodeLabel(StrEnum):
    DOCUMENT = "Document"
    PASSAGE = "Passage"
    ENTITY = "Entity"
    FACT = "Fact"


class RelType(StrEnum):
    HAS_PASSAGE = "HAS_PASSAGE"
    STATES = "STATES"
    MENTIONS = "MENTIONS"
    SUBJECT = "SUBJECT"
    OBJECT = "OBJECT"
    RELATES = "RELATES"
    SYNONYM = "SYNONYM"
    SUPERSEDES = "SUPERSEDES"


REL_ENDPOINTS: MappingProxyType[RelType, tuple[NodeLabel, NodeLabel]] = MappingProxyType(
    {
        RelType.HAS_PASSAGE: (NodeLabel.DOCUMENT, NodeLabel.PASSAGE),
        RelType.STATES: (NodeLabel.PASSAGE, NodeLabel.FACT),
        RelType.MENTIONS: (NodeLabel.PASSAGE, NodeLabel.ENTITY),
        RelType.SUBJECT: (NodeLabel.FACT, NodeLabel.ENTITY),
        RelType.OBJECT: (NodeLabel.FACT, NodeLabel.ENTITY),
        RelType.RELATES: (NodeLabel.ENTITY, NodeLabel.ENTITY),
        RelType.SYNONYM: (NodeLabel.ENTITY, NodeLabel.ENTITY),
        RelType.SUPERSEDES: (NodeLabel.FACT, NodeLabel.FACT),
    }
)
"""(start label, end label) of each relationship type."""

ENTITY_NAMES_INDEX = "entity_names"
"""The full-text index over Entity name, canonical name and aliases."""


class SchemaKind(StrEnum):
    CONSTRAINT = "constraint"
    RANGE_INDEX = "range_index"
    FULLTEXT_INDEX = "fulltext_index"


@dataclass(frozen=True)
class SchemaItem:
    name: str
    kind: SchemaKind
    cypher: str


def identifier(value: str) -> str:
    """``value`` checked to be a plain Cypher identifier, safe to interpolate into a query."""
    if not _IDENTIFIER.match(value):
        raise GraphError(f"not a plain Cypher identifier: {value!r}")
    return value


def _unique_id(label: NodeLabel) -> SchemaItem:
    name = f"{label.lower()}_id_unique"
    lbl = identifier(label)
    return SchemaItem(
        name,
        SchemaKind.CONSTRAINT,
        f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{lbl}) REQUIRE n.id IS UNIQUE",
    )


def _range_index(label: NodeLabel, prop: str) -> SchemaItem:
    name = f"{label.lower()}_{prop}"
    lbl, key = identifier(label), identifier(prop)
    return SchemaItem(
        name,
        SchemaKind.RANGE_INDEX,
        f"CREATE RANGE INDEX {name} IF NOT EXISTS FOR (n:{lbl}) ON (n.{key})",
    )


def _relationship_index(rel: RelType, prop: str) -> SchemaItem:
    name = f"{rel.lower()}_{prop}"
    typ, key = identifier(rel), identifier(prop)
    return SchemaItem(
        name,
        SchemaKind.RANGE_INDEX,
        f"CREATE RANGE INDEX {name} IF NOT EXISTS FOR ()-[r:{typ}]-() ON (r.{key})",
    )


def schema_statements() -> tuple[SchemaItem, ...]:
    """Every constraint and index, each an idempotent ``... IF NOT EXISTS`` statement."""
    entity = identifier(NodeLabel.ENTITY)
    return (
        *(_unique_id(label) for label in NodeLabel),
        _range_index(NodeLabel.ENTITY, "canonical"),
        _range_index(NodeLabel.FACT, "valid_at"),
        _range_index(NodeLabel.PASSAGE, "document_id"),
        # The projection's incremental refresh reads what was added after a watermark.
        _range_index(NodeLabel.DOCUMENT, "ingested_at"),
        _range_index(NodeLabel.ENTITY, "created_at"),
        _range_index(NodeLabel.FACT, "created_at"),
        # Deleting or merging a fact finds its entity-entity relationship by fact id.
        _relationship_index(RelType.RELATES, "fact_id"),
        SchemaItem(
            ENTITY_NAMES_INDEX,
            SchemaKind.FULLTEXT_INDEX,
            f"CREATE FULLTEXT INDEX {ENTITY_NAMES_INDEX} IF NOT EXISTS "
            f"FOR (n:{entity}) ON EACH [n.name, n.canonical, n.aliases]",
        ),
    )


def ensure_schema(
    driver: Driver, database: str, *, await_timeout_s: int = INDEX_AWAIT_TIMEOUT_S
) -> tuple[str, ...]:
    """Create the constraints and indexes that do not exist yet, and wait until all are online.

    Safe to call any number of times. Returns the names of the constraints and indexes.

    Raises:
        GraphQueryError: a statement failed, or the indexes did not come online in time.
    """
    items = schema_statements()
    try:
        for item in items:
            # Schema commands run in their own auto-commit transactions.
            driver.execute_query(item.cypher, database_=database)
        driver.execute_query(
            "CALL db.awaitIndexes($timeout)", {"timeout": await_timeout_s}, database_=database
        )
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"creating the graph schema failed: {e}") from e
    return tuple(item.name for item in items)
