"""Read-only Cypher for retrieval: the change check and the projection load.

Values are parameters; labels and relationship types come from :mod:`graph.schema` enums and
are interpolated once, at import time, as in :mod:`graph.cypher`.
"""

from __future__ import annotations

from graph.schema import NodeLabel as L
from graph.schema import RelType as R

# A cheap fingerprint of the graph: counts of every node and relationship type the projection
# uses, plus the newest creation times. Cost: count-store lookups and two index-free scans of
# one property (entities and facts), no traversal.
GRAPH_STATE = f"""
CALL () {{ MATCH (n:{L.DOCUMENT}) RETURN count(n) AS documents,
                                        max(n.ingested_at) AS documents_max }}
CALL () {{ MATCH (n:{L.PASSAGE}) RETURN count(n) AS passages }}
CALL () {{ MATCH (n:{L.ENTITY}) RETURN count(n) AS entities, max(n.created_at) AS entities_max }}
CALL () {{ MATCH (n:{L.FACT}) RETURN count(n) AS facts, max(n.created_at) AS facts_max }}
CALL () {{ MATCH ()-[r:{R.MENTIONS}]->() RETURN count(r) AS mentions }}
CALL () {{ MATCH ()-[r:{R.STATES}]->() RETURN count(r) AS states }}
CALL () {{ MATCH ()-[r:{R.SYNONYM}]->() RETURN count(r) AS synonyms }}
RETURN documents, passages, entities, facts, mentions, states, synonyms,
       toString(documents_max) AS documents_max, toString(entities_max) AS entities_max,
       toString(facts_max) AS facts_max
"""

PASSAGES = f"""
MATCH (d:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
RETURN p.id AS id, p.document_id AS document_id, p.title AS title, p.text AS text,
       p.timestamp AS timestamp, d.source AS source
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
OPTIONAL MATCH (p:{L.PASSAGE})-[:{R.STATES}]->(f)
// properties(f): optional keys (invalid_at) without "property does not exist" warnings
RETURN properties(f) AS fact, s.id AS subject_id, o.id AS object_id,
       collect(p.id) AS passage_ids
"""

SYNONYMS = f"""
MATCH (a:{L.ENTITY})-[r:{R.SYNONYM}]->(b:{L.ENTITY})
RETURN a.id AS a, b.id AS b, r.score AS score
"""
