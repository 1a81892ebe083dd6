"""Cypher for retrieval: the change check, the projection load and the one write, recording
access (``retrieval_count``, ``last_accessed_at``) on what a query returned.

Values are parameters; labels and relationship types come from :mod:`graph.schema` enums and
are interpolated once, at import time, as in :mod:`graph.cypher`.
"""

from __future__ import annotations

from graph.schema import NodeLabel as L
from graph.schema import RelType as R

# A cheap fingerprint of the graph: counts of every node and relationship type the projection
# uses, plus the newest creation times, plus what consolidation changes (SUPERSEDES links and
# their newest creation time, archived facts and passages and the newest archiving time).
# Cost: count-store lookups and a few index-free scans of one property, no traversal.
# Access records (retrieval_count, last_accessed_at) are deliberately not part of it.
GRAPH_STATE = f"""
CALL () {{ MATCH (n:{L.DOCUMENT}) RETURN count(n) AS documents,
                                        max(n.ingested_at) AS documents_max }}
CALL () {{ MATCH (n:{L.PASSAGE}) RETURN count(n) AS passages }}
CALL () {{ MATCH (n:{L.ENTITY}) RETURN count(n) AS entities, max(n.created_at) AS entities_max }}
CALL () {{ MATCH (n:{L.FACT}) RETURN count(n) AS facts, max(n.created_at) AS facts_max }}
CALL () {{ MATCH ()-[r:{R.MENTIONS}]->() RETURN count(r) AS mentions }}
CALL () {{ MATCH ()-[r:{R.STATES}]->() RETURN count(r) AS states }}
CALL () {{ MATCH ()-[r:{R.SYNONYM}]->() RETURN count(r) AS synonyms }}
CALL () {{ MATCH ()-[r:{R.SUPERSEDES}]->() RETURN count(r) AS supersedes,
                                                 max(r.created_at) AS supersedes_max }}
CALL () {{ MATCH (n) WHERE (n:{L.FACT} OR n:{L.PASSAGE}) AND n.archived = true
          RETURN count(n) AS archived, max(n.archived_at) AS archived_max }}
RETURN documents, passages, entities, facts, mentions, states, synonyms, supersedes, archived,
       toString(documents_max) AS documents_max, toString(entities_max) AS entities_max,
       toString(facts_max) AS facts_max, toString(supersedes_max) AS supersedes_max,
       toString(archived_max) AS archived_max
"""

PASSAGES = f"""
MATCH (d:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
RETURN p.id AS id, p.document_id AS document_id, p.title AS title, p.text AS text,
       p.timestamp AS timestamp, d.source AS source, coalesce(p.archived, false) AS archived
ORDER BY p.document_id, p.index
"""

ENTITIES = f"""
MATCH (e:{L.ENTITY})
RETURN e.id AS id, e.name AS name, e.canonical AS canonical, e.aliases AS aliases
"""

MENTIONS = f"""
MATCH (p:{L.PASSAGE})-[:{R.MENTIONS}]->(e:{L.ENTITY})
RETURN p.id AS passage_id, e.id AS entity_id
"""

FACTS = f"""
MATCH (s:{L.ENTITY})<-[:{R.SUBJECT}]-(f:{L.FACT})-[:{R.OBJECT}]->(o:{L.ENTITY})
// properties(f): optional keys (invalid_at, archived, ...) without "property does not exist"
// warnings; newer: the facts consolidation recorded as superseding this one
RETURN properties(f) AS fact, s.id AS subject_id, o.id AS object_id,
       COLLECT {{ MATCH (p:{L.PASSAGE})-[:{R.STATES}]->(f) RETURN p.id }} AS passage_ids,
       COLLECT {{ MATCH (n:{L.FACT})-[:{R.SUPERSEDES}]->(f)
                 RETURN n.id ORDER BY coalesce(n.valid_at, n.observed_at), n.id }} AS newer
"""

SYNONYMS = f"""
MATCH (a:{L.ENTITY})-[r:{R.SYNONYM}]->(b:{L.ENTITY})
RETURN a.id AS a, b.id AS b, r.score AS score
"""

# Retrieval reinforces memory (see pipelines.consolidation.memory_strength): one batched write
# per query over the returned passages and facts.
RECORD_ACCESS = f"""
CALL () {{
  UNWIND $passage_ids AS id MATCH (n:{L.PASSAGE} {{id: id}})
  SET n.retrieval_count = coalesce(n.retrieval_count, 0) + 1, n.last_accessed_at = $now
  RETURN count(n) AS passages
}}
CALL () {{
  UNWIND $fact_ids AS id MATCH (n:{L.FACT} {{id: id}})
  SET n.retrieval_count = coalesce(n.retrieval_count, 0) + 1, n.last_accessed_at = $now
  RETURN count(n) AS facts
}}
RETURN passages, facts
"""
