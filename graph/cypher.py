"""Every Cypher statement hippograph runs, parameterised; labels come from :mod:`graph.schema`.

Values are always parameters; only label and relationship names (validated enum members) are
interpolated, once, at import time.
"""

from __future__ import annotations

from graph.schema import NodeLabel as L
from graph.schema import RelType as R

# --- documents and passages -----------------------------------------------------------------

DOCUMENT_HASHES = f"""
UNWIND $ids AS id
MATCH (d:{L.DOCUMENT} {{id: id}})
RETURN d.id AS id, d.content_hash AS content_hash
"""

PASSAGE_IDS_OF_DOCUMENT = f"""
MATCH (d:{L.DOCUMENT} {{id: $document_id}})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
RETURN p.id AS id
"""

# Delete the passages of a document that its new version no longer has; returns, per deleted
# passage, the facts it stated and the entities it mentioned (candidates for pruning).
DELETE_STALE_PASSAGES = f"""
MATCH (:{L.DOCUMENT} {{id: $document_id}})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
WHERE NOT p.id IN $keep
OPTIONAL MATCH (p)-[:{R.STATES}]->(f:{L.FACT})
OPTIONAL MATCH (p)-[:{R.MENTIONS}]->(e:{L.ENTITY})
WITH p, p.id AS pid, collect(DISTINCT f.id) AS fact_ids, collect(DISTINCT e.id) AS entity_ids
DETACH DELETE p
RETURN pid, fact_ids, entity_ids
"""

MERGE_DOCUMENTS = f"""
UNWIND $rows AS row
MERGE (d:{L.DOCUMENT} {{id: row.id}})
SET d.source = row.source, d.kind = row.kind, d.title = row.title,
    d.timestamp = row.timestamp, d.metadata = row.metadata,
    d.ingested_at = coalesce(d.ingested_at, datetime())
"""

MERGE_PASSAGES = f"""
UNWIND $rows AS row
MATCH (d:{L.DOCUMENT} {{id: row.document_id}})
MERGE (p:{L.PASSAGE} {{id: row.id}})
SET p.document_id = row.document_id, p.index = row.index, p.text = row.text,
    p.title = row.title, p.timestamp = row.timestamp,
    p.start_char = row.start_char, p.end_char = row.end_char
MERGE (d)-[:{R.HAS_PASSAGE}]->(p)
"""

# Written last for a document: a document whose hash is set is complete.
SET_DOCUMENT_HASH = f"""
UNWIND $rows AS row
MATCH (d:{L.DOCUMENT} {{id: row.id}})
SET d.content_hash = row.content_hash
"""

# --- extraction ---------------------------------------------------------------------------

PENDING_PASSAGES = f"""
MATCH (p:{L.PASSAGE})
WHERE (p.extracted_by IS NULL OR p.extracted_by <> $extractor)
  AND ($document_ids IS NULL OR p.document_id IN $document_ids)
RETURN p.id AS id, p.document_id AS document_id, p.index AS index, p.text AS text,
       p.title AS title, p.timestamp AS timestamp, p.start_char AS start_char,
       p.end_char AS end_char
ORDER BY p.document_id, p.index
LIMIT $limit
"""

# Forget what an earlier extraction of these passages said (a re-extraction replaces it);
# returns the facts and entities it had linked (candidates for pruning).
CLEAR_PASSAGE_EXTRACTIONS = f"""
UNWIND $passage_ids AS pid
MATCH (p:{L.PASSAGE} {{id: pid}})
OPTIONAL MATCH (p)-[s:{R.STATES}]->(f:{L.FACT})
OPTIONAL MATCH (p)-[m:{R.MENTIONS}]->(e:{L.ENTITY})
WITH p, collect(DISTINCT s) AS states, collect(DISTINCT m) AS mentions,
     collect(DISTINCT f.id) AS fact_ids, collect(DISTINCT e.id) AS entity_ids
FOREACH (r IN states | DELETE r)
FOREACH (r IN mentions | DELETE r)
RETURN fact_ids, entity_ids
"""

MERGE_ENTITIES = f"""
UNWIND $rows AS row
MERGE (e:{L.ENTITY} {{id: row.id}})
ON CREATE SET e.name = row.name, e.canonical = row.canonical, e.label = row.label,
              e.aliases = [row.name], e.created_at = datetime()
ON MATCH SET e.aliases = CASE WHEN row.name IN e.aliases THEN e.aliases
                              ELSE e.aliases + row.name END
"""

MERGE_MENTIONS = f"""
UNWIND $rows AS row
MATCH (p:{L.PASSAGE} {{id: row.passage_id}}), (e:{L.ENTITY} {{id: row.entity_id}})
MERGE (p)-[:{R.MENTIONS}]->(e)
"""

MERGE_FACTS = f"""
UNWIND $rows AS row
MATCH (p:{L.PASSAGE} {{id: row.passage_id}})
MERGE (s:{L.ENTITY} {{id: row.subject_id}})
  ON CREATE SET s.name = row.subject, s.canonical = row.subject_canonical, s.label = 'CONCEPT',
                s.aliases = [row.subject], s.created_at = datetime()
MERGE (o:{L.ENTITY} {{id: row.object_id}})
  ON CREATE SET o.name = row.object, o.canonical = row.object_canonical, o.label = 'CONCEPT',
                o.aliases = [row.object], o.created_at = datetime()
MERGE (f:{L.FACT} {{id: row.id}})
  ON CREATE SET f.subject = row.subject, f.predicate = row.predicate, f.object = row.object,
                f.statement = row.statement, f.valid_at = row.valid_at,
                f.invalid_at = row.invalid_at, f.confidence = row.confidence,
                f.observed_at = row.observed_at, f.created_at = datetime()
  ON MATCH SET f.confidence = CASE WHEN row.confidence > f.confidence THEN row.confidence
                                   ELSE f.confidence END,
               f.observed_at = CASE
                 WHEN f.observed_at IS NULL THEN row.observed_at
                 WHEN row.observed_at IS NOT NULL AND row.observed_at < f.observed_at
                   THEN row.observed_at
                 ELSE f.observed_at END
MERGE (p)-[:{R.STATES}]->(f)
MERGE (f)-[:{R.SUBJECT}]->(s)
MERGE (f)-[:{R.OBJECT}]->(o)
MERGE (s)-[rel:{R.RELATES} {{fact_id: row.id}}]->(o)
  ON CREATE SET rel.predicate = row.predicate
"""

MARK_EXTRACTED = f"""
UNWIND $passage_ids AS pid
MATCH (p:{L.PASSAGE} {{id: pid}})
SET p.extracted_by = $extractor
"""

# Of the given facts, delete those no passage states any more, with their entity-entity
# relationships; returns the deleted facts' endpoint entities (candidates for pruning).
DELETE_UNSUPPORTED_FACTS = f"""
UNWIND $fact_ids AS fid
MATCH (f:{L.FACT} {{id: fid}})
WHERE NOT (f)<-[:{R.STATES}]-(:{L.PASSAGE})
OPTIONAL MATCH (f)-[:{R.SUBJECT}]->(s:{L.ENTITY})
OPTIONAL MATCH (s)-[rel:{R.RELATES} {{fact_id: fid}}]->(:{L.ENTITY})
OPTIONAL MATCH (f)-[:{R.OBJECT}]->(o:{L.ENTITY})
WITH f, collect(DISTINCT rel) AS rels, collect(DISTINCT s.id) + collect(DISTINCT o.id) AS ends
FOREACH (r IN rels | DELETE r)
DETACH DELETE f
RETURN ends
"""

# Of the given entities, delete those nothing mentions and no fact uses.
DELETE_ORPHAN_ENTITIES = f"""
UNWIND $entity_ids AS eid
MATCH (e:{L.ENTITY} {{id: eid}})
WHERE NOT (e)<-[:{R.MENTIONS}]-(:{L.PASSAGE})
  AND NOT (e)<-[:{R.SUBJECT}|{R.OBJECT}]-(:{L.FACT})
DETACH DELETE e
RETURN count(e) AS deleted
"""

# --- vectors and synonyms -----------------------------------------------------------------

ALL_IDS = {
    "passage": f"MATCH (n:{L.PASSAGE}) RETURN n.id AS id",
    "entity": f"MATCH (n:{L.ENTITY}) RETURN n.id AS id",
    "fact": f"MATCH (n:{L.FACT}) RETURN n.id AS id",
}

TEXTS = {
    "passage": f"""
        UNWIND $ids AS id MATCH (n:{L.PASSAGE} {{id: id}})
        RETURN n.id AS id,
               CASE WHEN n.title IS NULL THEN n.text ELSE n.title + '\\n' + n.text END AS text
    """,
    "entity": f"""
        UNWIND $ids AS id MATCH (n:{L.ENTITY} {{id: id}}) RETURN n.id AS id, n.name AS text
    """,
    "fact": f"""
        UNWIND $ids AS id MATCH (n:{L.FACT} {{id: id}}) RETURN n.id AS id, n.statement AS text
    """,
}

MERGE_SYNONYMS = f"""
UNWIND $rows AS row
MATCH (a:{L.ENTITY} {{id: row.a}}), (b:{L.ENTITY} {{id: row.b}})
MERGE (a)-[s:{R.SYNONYM}]-(b)
SET s.score = row.score
"""

# --- stats and checks -----------------------------------------------------------------------

COUNTS = f"""
CALL () {{ MATCH (n:{L.DOCUMENT}) RETURN count(n) AS documents }}
CALL () {{ MATCH (n:{L.PASSAGE}) RETURN count(n) AS passages }}
CALL () {{ MATCH (n:{L.ENTITY}) RETURN count(n) AS entities }}
CALL () {{ MATCH (n:{L.FACT}) RETURN count(n) AS facts }}
CALL () {{ MATCH ()-[r:{R.SYNONYM}]->() RETURN count(r) AS synonym_edges }}
CALL () {{ MATCH ()-[r:{R.RELATES}]->() RETURN count(r) AS relations }}
RETURN documents, passages, entities, facts, synonym_edges, relations
"""

FACTS_WITHOUT_PROVENANCE = f"""
MATCH (f:{L.FACT})
WHERE NOT (:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(:{L.PASSAGE})-[:{R.STATES}]->(f)
   OR NOT (f)-[:{R.SUBJECT}]->(:{L.ENTITY}) OR NOT (f)-[:{R.OBJECT}]->(:{L.ENTITY})
RETURN f.id AS id LIMIT $limit
"""

DUPLICATE_CANONICAL_NAMES = f"""
MATCH (e:{L.ENTITY})
WITH e.canonical AS canonical, count(*) AS n
WHERE n > 1
RETURN canonical, n LIMIT $limit
"""

UNCHECKED_ENTITIES = f"""
MATCH (e:{L.ENTITY}) WHERE e.synonyms_checked IS NULL
RETURN e.id AS id ORDER BY e.id LIMIT $limit
"""

MARK_SYNONYMS_CHECKED = f"""
UNWIND $ids AS id MATCH (e:{L.ENTITY} {{id: id}}) SET e.synonyms_checked = true
"""

# Empties the database (the schema stays); for evaluation runs on their own private server.
DELETE_EVERYTHING = "MATCH (n) DETACH DELETE n"
