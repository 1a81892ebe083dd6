"""The Cypher consolidation runs (conflicts, merges, forgetting, source deletion), parameterised.

Like :mod:`graph.cypher`: values are parameters; only labels and relationship types (validated
enum members) are interpolated, at import time. The pruning of unsupported facts and orphan
entities reuses :data:`graph.cypher.DELETE_UNSUPPORTED_FACTS` and
:data:`graph.cypher.DELETE_ORPHAN_ENTITIES`.
"""

from __future__ import annotations

from graph.schema import NodeLabel as L
from graph.schema import RelType as R

SUPERSEDED_BY_CONSOLIDATION = "superseded"
"""``Fact.invalid_at_source`` when ``invalid_at`` was set by supersession (not by the text)."""

# --- conflicts ------------------------------------------------------------------------------

PREDICATE_TRIPLES = f"""
MATCH (s:{L.ENTITY})<-[:{R.SUBJECT}]-(f:{L.FACT})-[:{R.OBJECT}]->(o:{L.ENTITY})
RETURN DISTINCT f.predicate AS predicate, s.id AS subject_id, o.id AS object_id
"""

CANDIDATE_FACTS = f"""
MATCH (s:{L.ENTITY})<-[:{R.SUBJECT}]-(f:{L.FACT})-[:{R.OBJECT}]->(o:{L.ENTITY})
WHERE f.predicate IN $predicates
RETURN f.id AS id, s.id AS subject_id, f.predicate AS predicate, o.id AS object_id,
       f.valid_at AS valid_at, f.observed_at AS observed_at,
       CASE WHEN f.invalid_at_source = '{SUPERSEDED_BY_CONSOLIDATION}' THEN null
            ELSE f.invalid_at END AS stated_invalid_at
ORDER BY id
"""

# Facts superseded now or earlier: their replacement (null when it was deleted).
EXISTING_SUPERSESSIONS = f"""
MATCH (o:{L.FACT})
WHERE o.invalid_at_source = '{SUPERSEDED_BY_CONSOLIDATION}' OR ()-[:{R.SUPERSEDES}]->(o)
OPTIONAL MATCH (n:{L.FACT})-[:{R.SUPERSEDES}]->(o)
RETURN o.id AS older, n.id AS newer, o.invalid_at AS invalid_at
"""

DELETE_SUPERSEDES = f"""
UNWIND $rows AS row
MATCH (:{L.FACT} {{id: row.newer}})-[r:{R.SUPERSEDES}]->(:{L.FACT} {{id: row.older}})
DELETE r
"""

# The older fact stops holding when the newer starts, unless its source already said when it
# ended (then that stated end is kept). ``expired_at`` is when hippograph retired it.
APPLY_SUPERSEDES = f"""
UNWIND $rows AS row
MATCH (n:{L.FACT} {{id: row.newer}}), (o:{L.FACT} {{id: row.older}})
MERGE (n)-[r:{R.SUPERSEDES}]->(o)
  ON CREATE SET r.created_at = $now, r.predicate = row.predicate, r.key = row.key
WITH o, row, (o.invalid_at IS NULL
              OR o.invalid_at_source = '{SUPERSEDED_BY_CONSOLIDATION}') AS ours
SET o.invalid_at = CASE WHEN ours THEN row.invalid_at ELSE o.invalid_at END,
    o.invalid_at_source = CASE WHEN ours THEN '{SUPERSEDED_BY_CONSOLIDATION}'
                               ELSE o.invalid_at_source END,
    o.expired_at = coalesce(o.expired_at, $now),
    o.superseded_by = row.newer
"""

# A fact no longer superseded (its replacement was deleted or no longer conflicts) holds again.
CLEAR_SUPERSESSION = f"""
UNWIND $ids AS id
MATCH (o:{L.FACT} {{id: id}})
OPTIONAL MATCH (:{L.FACT})-[r:{R.SUPERSEDES}]->(o)
DELETE r
WITH DISTINCT o
SET o.invalid_at = CASE WHEN o.invalid_at_source = '{SUPERSEDED_BY_CONSOLIDATION}' THEN null
                        ELSE o.invalid_at END
REMOVE o.invalid_at_source, o.expired_at, o.superseded_by
"""

# Facts whose replacement was deleted (e.g. with its source).
ORPHANED_SUPERSESSIONS = f"""
MATCH (o:{L.FACT})
WHERE o.invalid_at_source = '{SUPERSEDED_BY_CONSOLIDATION}'
  AND NOT ()-[:{R.SUPERSEDES}]->(o)
RETURN o.id AS id
"""

SUPERSEDED_IDS = f"MATCH (:{L.FACT})-[:{R.SUPERSEDES}]->(o:{L.FACT}) RETURN DISTINCT o.id AS id"

# --- entity deduplication -------------------------------------------------------------------

SYNONYM_CANDIDATES = f"""
MATCH (a:{L.ENTITY})-[s:{R.SYNONYM}]-(b:{L.ENTITY})
WHERE a.id < b.id AND s.score >= $min_score
RETURN a.id AS a, a.name AS a_name, a.canonical AS a_canonical, a.label AS a_label,
       COUNT {{ (a)--() }} AS a_degree,
       b.id AS b, b.name AS b_name, b.canonical AS b_canonical, b.label AS b_label,
       COUNT {{ (b)--() }} AS b_degree, s.score AS score
ORDER BY a, b
"""

# Merge entity ``drop`` into ``keep`` without APOC: every relationship is moved type by type
# (MERGE, so a relationship both already had is not doubled), names become aliases.
MERGE_ENTITY = f"""
MATCH (keep:{L.ENTITY} {{id: $keep}}), (drop:{L.ENTITY} {{id: $drop}})
CALL (keep, drop) {{
  MATCH (p:{L.PASSAGE})-[r:{R.MENTIONS}]->(drop)
  MERGE (p)-[:{R.MENTIONS}]->(keep)
  DELETE r
}}
CALL (keep, drop) {{
  MATCH (f:{L.FACT})-[r:{R.SUBJECT}]->(drop)
  MERGE (f)-[:{R.SUBJECT}]->(keep)
  DELETE r
}}
CALL (keep, drop) {{
  MATCH (f:{L.FACT})-[r:{R.OBJECT}]->(drop)
  MERGE (f)-[:{R.OBJECT}]->(keep)
  DELETE r
}}
CALL (keep, drop) {{
  MATCH (drop)-[r:{R.RELATES}]->(x:{L.ENTITY})
  WITH keep, drop, r, CASE WHEN x = drop THEN keep ELSE x END AS target
  MERGE (keep)-[n:{R.RELATES} {{fact_id: r.fact_id}}]->(target)
    ON CREATE SET n.predicate = r.predicate
  DELETE r
}}
CALL (keep, drop) {{
  MATCH (x:{L.ENTITY})-[r:{R.RELATES}]->(drop)
  MERGE (x)-[n:{R.RELATES} {{fact_id: r.fact_id}}]->(keep)
    ON CREATE SET n.predicate = r.predicate
  DELETE r
}}
CALL (keep, drop) {{
  MATCH (drop)-[r:{R.SYNONYM}]-(x:{L.ENTITY})
  WHERE x <> keep
  MERGE (keep)-[n:{R.SYNONYM}]-(x)
  SET n.score = CASE WHEN n.score IS NULL OR r.score > n.score THEN r.score ELSE n.score END
}}
WITH keep, drop, [a IN coalesce(drop.aliases, []) + [drop.name]
                  WHERE NOT a IN coalesce(keep.aliases, [])] AS extra
SET keep.aliases = coalesce(keep.aliases, []) + reduce(acc = [], a IN extra |
                     CASE WHEN a IN acc THEN acc ELSE acc + a END),
    keep.merged_ids = coalesce(keep.merged_ids, []) + drop.id
DETACH DELETE drop
RETURN keep.id AS id
"""

# After a merge two facts may be the same claim: same subject and object entity, predicate
# and valid_at (both null counts as equal). Groups of such facts, oldest id first.
DUPLICATE_FACTS = f"""
MATCH (s:{L.ENTITY})<-[:{R.SUBJECT}]-(f:{L.FACT})-[:{R.OBJECT}]->(o:{L.ENTITY})
WITH s.id AS s, o.id AS o, f.predicate AS predicate,
     coalesce(toString(f.valid_at), '') AS valid, f.id AS id
ORDER BY id
WITH s, o, predicate, valid, collect(id) AS ids
WHERE size(ids) > 1
RETURN ids
"""

# Fold fact ``drop`` into ``keep``: its sources, supersession links and earliest observation.
MERGE_FACT = f"""
MATCH (keep:{L.FACT} {{id: $keep}}), (drop:{L.FACT} {{id: $drop}})
CALL (keep, drop) {{
  MATCH (p:{L.PASSAGE})-[r:{R.STATES}]->(drop)
  MERGE (p)-[:{R.STATES}]->(keep)
  DELETE r
}}
CALL (keep, drop) {{
  MATCH (drop)-[r:{R.SUPERSEDES}]->(x:{L.FACT}) WHERE x <> keep
  MERGE (keep)-[:{R.SUPERSEDES}]->(x)
  DELETE r
}}
CALL (keep, drop) {{
  MATCH ()-[r:{R.RELATES} {{fact_id: drop.id}}]->()
  DELETE r
}}
SET keep.observed_at = CASE WHEN keep.observed_at IS NULL OR drop.observed_at < keep.observed_at
                            THEN drop.observed_at ELSE keep.observed_at END,
    keep.confidence = CASE WHEN drop.confidence > keep.confidence THEN drop.confidence
                           ELSE keep.confidence END,
    keep.merged_ids = coalesce(keep.merged_ids, []) + drop.id
DETACH DELETE drop
"""

# --- forgetting -----------------------------------------------------------------------------

FACT_MEMORY = f"""
MATCH (f:{L.FACT})
RETURN f.id AS id, COUNT {{ (:{L.PASSAGE})-[:{R.STATES}]->(f) }} AS mentions,
       coalesce(f.retrieval_count, 0) AS retrievals, f.created_at AS learned_at,
       f.observed_at AS observed_at, f.last_accessed_at AS last_accessed_at,
       CASE WHEN f.archived = true THEN f.archived_at END AS archived_at
"""

PASSAGE_MEMORY = f"""
MATCH (d:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
RETURN p.id AS id, COUNT {{ (p)-[:{R.STATES}]->(:{L.FACT}) }} AS mentions,
       coalesce(p.retrieval_count, 0) AS retrievals,
       coalesce(p.created_at, d.ingested_at) AS learned_at,
       p.timestamp AS observed_at, p.last_accessed_at AS last_accessed_at,
       CASE WHEN p.archived = true THEN p.archived_at END AS archived_at,
       [(p)-[:{R.STATES}]->(f:{L.FACT}) | f.id] AS fact_ids
"""

ARCHIVE = {
    "fact": f"""
        UNWIND $ids AS id MATCH (n:{L.FACT} {{id: id}}) WHERE coalesce(n.archived, false) = false
        SET n.archived = true, n.archived_at = $now RETURN count(n) AS n
    """,
    "passage": f"""
        UNWIND $ids AS id MATCH (n:{L.PASSAGE} {{id: id}})
        WHERE coalesce(n.archived, false) = false
        SET n.archived = true, n.archived_at = $now RETURN count(n) AS n
    """,
}

# Restoring counts as recalling: ``last_accessed_at`` moves to now so the item is not archived
# again by the next run.
RESTORE = f"""
UNWIND $ids AS id
MATCH (n) WHERE (n:{L.FACT} OR n:{L.PASSAGE}) AND n.id = id AND n.archived = true
SET n.archived = false, n.last_accessed_at = $now
REMOVE n.archived_at
RETURN n.id AS id
"""

RESTORE_SOURCES = f"""
UNWIND $ids AS id
MATCH (p:{L.PASSAGE})-[:{R.STATES}]->(:{L.FACT} {{id: id}})
WHERE p.archived = true
SET p.archived = false, p.last_accessed_at = $now
REMOVE p.archived_at
"""

DELETE_FACTS_WITH_RELATIONS = f"""
UNWIND $ids AS fid
MATCH (f:{L.FACT} {{id: fid}})
OPTIONAL MATCH ()-[rel:{R.RELATES} {{fact_id: fid}}]->()
OPTIONAL MATCH (f)-[:{R.SUBJECT}|{R.OBJECT}]->(e:{L.ENTITY})
WITH f, collect(DISTINCT rel) AS rels, collect(DISTINCT e.id) AS ends
FOREACH (r IN rels | DELETE r)
DETACH DELETE f
RETURN ends
"""

# The document stays (with its content hash) as a tombstone, so re-ingesting the unchanged
# source does not bring the forgotten passages back; ``forgotten_passages`` counts them.
DELETE_PASSAGES = f"""
UNWIND $ids AS pid
MATCH (p:{L.PASSAGE} {{id: pid}})
OPTIONAL MATCH (d:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p)
SET d.forgotten_passages = coalesce(d.forgotten_passages, 0) + 1
WITH p
OPTIONAL MATCH (p)-[:{R.STATES}]->(f:{L.FACT})
OPTIONAL MATCH (p)-[:{R.MENTIONS}]->(e:{L.ENTITY})
WITH p, collect(DISTINCT f.id) AS fact_ids, collect(DISTINCT e.id) AS entity_ids
DETACH DELETE p
RETURN fact_ids, entity_ids
"""

# --- source deletion ------------------------------------------------------------------------

# Documents by id or by source; a JSON Lines or split file's documents have sources
# ``path:line`` / ``path#part``, so the path alone names them all.
MATCH_DOCUMENTS = f"""
MATCH (d:{L.DOCUMENT})
WHERE d.id = $key OR d.source = $key
   OR d.source STARTS WITH $key + ':' OR d.source STARTS WITH $key + '#'
RETURN d.id AS id, d.source AS source ORDER BY id
"""

DELETE_DOCUMENT = f"""
MATCH (d:{L.DOCUMENT} {{id: $document_id}})
OPTIONAL MATCH (d)-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
OPTIONAL MATCH (p)-[:{R.STATES}]->(f:{L.FACT})
OPTIONAL MATCH (p)-[:{R.MENTIONS}]->(e:{L.ENTITY})
WITH d, collect(DISTINCT p) AS passages, collect(DISTINCT p.id) AS passage_ids,
     collect(DISTINCT f.id) AS fact_ids, collect(DISTINCT e.id) AS entity_ids
FOREACH (p IN passages | DETACH DELETE p)
DETACH DELETE d
RETURN passage_ids, fact_ids, entity_ids
"""

# --- checks ---------------------------------------------------------------------------------

ORPHANS = f"""
CALL () {{
  MATCH (p:{L.PASSAGE}) WHERE NOT (:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p)
  RETURN collect(p.id)[..$limit] AS passages
}}
CALL () {{
  MATCH (f:{L.FACT}) WHERE NOT (:{L.PASSAGE})-[:{R.STATES}]->(f)
  RETURN collect(f.id)[..$limit] AS facts
}}
CALL () {{
  MATCH (e:{L.ENTITY})
  WHERE NOT (:{L.PASSAGE})-[:{R.MENTIONS}]->(e) AND NOT (:{L.FACT})-[:{R.SUBJECT}|{R.OBJECT}]->(e)
  RETURN collect(e.id)[..$limit] AS entities
}}
CALL () {{
  MATCH ()-[r:{R.RELATES}]->()
  WHERE NOT EXISTS {{ MATCH (f:{L.FACT}) WHERE f.id = r.fact_id }}
  RETURN collect(r.fact_id)[..$limit] AS relations
}}
CALL () {{
  MATCH (d:{L.DOCUMENT})
  WHERE NOT (d)-[:{R.HAS_PASSAGE}]->(:{L.PASSAGE}) AND d.forgotten_passages IS NULL
  RETURN collect(d.id)[..$limit] AS documents
}}
RETURN passages, facts, entities, relations, documents
"""

CONSOLIDATION_COUNTS = f"""
CALL () {{ MATCH (f:{L.FACT}) RETURN count(f) AS facts }}
CALL () {{ MATCH (f:{L.FACT}) WHERE f.archived = true RETURN count(f) AS archived_facts }}
CALL () {{ MATCH (p:{L.PASSAGE}) WHERE p.archived = true RETURN count(p) AS archived_passages }}
CALL () {{ MATCH ()-[r:{R.SUPERSEDES}]->() RETURN count(r) AS supersedes }}
RETURN facts, archived_facts, archived_passages, supersedes
"""
