"""Cypher for retrieval: the change check, the projection load (full and delta) and the one
write, recording access (``retrieval_count``, ``last_accessed_at``) on what a query returned.

Values are parameters; labels and relationship types come from :mod:`graph.schema` enums and
are interpolated once, at import time, as in :mod:`graph.cypher`.

The load queries (full and ``*_DELTA``) each return a single record whose one column, ``rows``,
lists every row as a list of values in a fixed column order (documented at each query; the
decoder is :mod:`graph.projection_loader`). One record instead of one per row matters: the
Python driver's cost is per Bolt message, not per value (about 4x less time for the same
data). A zoned datetime is sent as ``[epochMillis, nanosecond, offsetSeconds, timezone]``
(:func:`_time`), which the loader turns into the ``datetime`` the driver would have built at a
fraction of the driver's cost; any other value of a time property is sent as stored.

The full-load queries return rows in a canonical order (passages by document and index,
entities and facts by id, a fact's passages by id) so that a graph patched from the ``*_DELTA``
queries (see :mod:`graph.projection_loader`) can be compared with, and equals, a fresh load.
The delta queries take ``$since`` (an ISO datetime string: the previous load's newest creation
time of that kind, or null for "everything") and id lists to re-read.
"""

from __future__ import annotations

from graph.schema import NodeLabel as L
from graph.schema import RelType as R

# A cheap fingerprint of the graph: counts of every node and relationship type the projection
# uses, plus the newest creation times, plus what consolidation changes (SUPERSEDES links and
# their newest creation time, archived facts and passages and the newest archiving time), plus
# how many passages each extractor version has processed (``extracted``: ``[[version, n]]``
# sorted by version; a re-extraction by a new version moves passages between versions).
# Cost: count-store lookups, each newest time from its range index, and a few scans of one
# property, no traversal. A count and a max in one subquery would make the planner scan the
# label: split, the check went from 320-370 ms to 60-105 ms on a 251k-entity, 166k-fact graph.
# Access records (retrieval_count, last_accessed_at) are deliberately not part of it.
GRAPH_STATE = f"""
CALL () {{ MATCH (n:{L.DOCUMENT}) RETURN count(n) AS documents }}
CALL () {{ MATCH (n:{L.DOCUMENT}) RETURN max(n.ingested_at) AS documents_max }}
CALL () {{ MATCH (n:{L.PASSAGE}) RETURN count(n) AS passages }}
CALL () {{ MATCH (n:{L.ENTITY}) RETURN count(n) AS entities }}
CALL () {{ MATCH (n:{L.ENTITY}) RETURN max(n.created_at) AS entities_max }}
CALL () {{ MATCH (n:{L.FACT}) RETURN count(n) AS facts }}
CALL () {{ MATCH (n:{L.FACT}) RETURN max(n.created_at) AS facts_max }}
CALL () {{ MATCH ()-[r:{R.MENTIONS}]->() RETURN count(r) AS mentions }}
CALL () {{ MATCH ()-[r:{R.STATES}]->() RETURN count(r) AS states }}
CALL () {{ MATCH ()-[r:{R.SYNONYM}]->() RETURN count(r) AS synonyms }}
CALL () {{ MATCH ()-[r:{R.SUPERSEDES}]->() RETURN count(r) AS supersedes,
                                                 max(r.created_at) AS supersedes_max }}
CALL () {{ MATCH (n) WHERE (n:{L.FACT} OR n:{L.PASSAGE}) AND n.archived = true
          RETURN count(n) AS archived, max(n.archived_at) AS archived_max }}
CALL () {{ MATCH (n:{L.PASSAGE}) WHERE n.extracted_by IS NOT NULL
          WITH n.extracted_by AS version, count(n) AS n ORDER BY version
          RETURN collect([version, n]) AS extracted }}
RETURN documents, passages, entities, facts, mentions, states, synonyms, supersedes, archived,
       toString(documents_max) AS documents_max, toString(entities_max) AS entities_max,
       toString(facts_max) AS facts_max, toString(supersedes_max) AS supersedes_max,
       toString(archived_max) AS archived_max, extracted
"""


def _time(expr: str) -> str:
    """``expr`` (a time property) in the loader's wire form: a zoned datetime as
    ``[epochMillis, nanosecond, offsetSeconds, timezone]``, anything else (null, a local
    datetime, a date, a string) as it is. (``epochMillis`` is the floor of the instant;
    ``epochSeconds`` truncates it towards zero, which is wrong before 1970.)"""
    return (
        f"CASE WHEN {expr} IS :: ZONED DATETIME NOT NULL "
        f"THEN [{expr}.epochMillis, {expr}.nanosecond, {expr}.offsetSeconds, {expr}.timezone] "
        f"ELSE {expr} END"
    )


# rows: [id, document_id, index, title, text, timestamp, source, archived, extracted_by]
_PASSAGE_ROWS = f"""
WITH d, p ORDER BY p.document_id, p.index, p.id
RETURN collect([p.id, p.document_id, p.index, p.title, p.text, {_time("p.timestamp")},
                d.source, coalesce(p.archived, false), p.extracted_by]) AS rows
"""

PASSAGES = f"""
MATCH (d:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
{_PASSAGE_ROWS}
"""

# The passages of documents ingested since $since, and the passages in $passage_ids (those
# not yet extracted at the previous load: they may have been since).
PASSAGES_DELTA = f"""
CALL () {{
  MATCH (d:{L.DOCUMENT}) WHERE $since IS NULL OR d.ingested_at >= datetime($since)
  MATCH (d)-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE})
  RETURN d, p
  UNION
  UNWIND $passage_ids AS pid
  MATCH (d:{L.DOCUMENT})-[:{R.HAS_PASSAGE}]->(p:{L.PASSAGE} {{id: pid}})
  RETURN d, p
}}
{_PASSAGE_ROWS}
"""

# rows: [id, name, canonical, aliases, checked]
_ENTITY_ROWS = """
WITH e ORDER BY e.id
RETURN collect([e.id, e.name, e.canonical, e.aliases,
                coalesce(e.synonyms_checked, false)]) AS rows
"""

ENTITIES = f"""
MATCH (e:{L.ENTITY})
{_ENTITY_ROWS}
"""

# Entities created since $since, the entities in $entity_ids (not yet checked for synonyms at
# the previous load) and every entity the passages in $passage_ids mention (an extraction
# appends aliases to entities that already exist).
ENTITIES_DELTA = f"""
CALL () {{
  MATCH (e:{L.ENTITY}) WHERE $since IS NULL OR e.created_at >= datetime($since)
  RETURN e
  UNION
  UNWIND $entity_ids AS eid
  MATCH (e:{L.ENTITY} {{id: eid}})
  RETURN e
  UNION
  UNWIND $passage_ids AS pid
  MATCH (:{L.PASSAGE} {{id: pid}})-[:{R.MENTIONS}]->(e:{L.ENTITY})
  RETURN e
}}
{_ENTITY_ROWS}
"""

# rows: [passage_id, [entity_id, ...]]: the entities a passage mentions (passages that mention
# none are left out)
_MENTION_ROWS = f"""
WITH p, COLLECT {{ MATCH (p)-[:{R.MENTIONS}]->(e:{L.ENTITY}) RETURN e.id }} AS entity_ids
WHERE size(entity_ids) > 0
RETURN collect([p.id, entity_ids]) AS rows
"""

MENTIONS = f"""
MATCH (p:{L.PASSAGE})
{_MENTION_ROWS}
"""

MENTIONS_DELTA = f"""
UNWIND $passage_ids AS pid
MATCH (p:{L.PASSAGE} {{id: pid}})
{_MENTION_ROWS}
"""

# rows: [id, subject, predicate, object, statement, subject_id, object_id, valid_at,
#        invalid_at, observed_at, confidence, passage_ids, newer, superseded_by, expired_at,
#        archived]
# x = properties(f): optional keys (invalid_at, archived, ...) without "property does not
# exist" warnings; newer: the facts consolidation recorded as superseding this one
_FACT_ROWS = f"""
MATCH (s:{L.ENTITY})<-[:{R.SUBJECT}]-(f)-[:{R.OBJECT}]->(o:{L.ENTITY})
WITH f, s, o, properties(f) AS x,
     COLLECT {{ MATCH (p:{L.PASSAGE})-[:{R.STATES}]->(f) RETURN p.id ORDER BY p.id }}
       AS passage_ids,
     COLLECT {{ MATCH (n:{L.FACT})-[:{R.SUPERSEDES}]->(f)
               RETURN n.id ORDER BY coalesce(n.valid_at, n.observed_at), n.id }} AS newer
ORDER BY f.id
RETURN collect([x.id, x.subject, x.predicate, x.object, x.statement, s.id, o.id,
                {_time("x.valid_at")}, {_time("x.invalid_at")}, {_time("x.observed_at")},
                coalesce(x.confidence, 1.0), passage_ids, newer, x.superseded_by,
                {_time("x.expired_at")}, coalesce(x.archived, false)]) AS rows
"""

FACTS = f"""
MATCH (f:{L.FACT})
{_FACT_ROWS}
"""

# Facts created since $since and every fact the passages in $passage_ids state (a fact that
# already existed gains a source and may change its confidence and first observation).
FACTS_DELTA = f"""
CALL () {{
  MATCH (f:{L.FACT}) WHERE $since IS NULL OR f.created_at >= datetime($since)
  RETURN f
  UNION
  UNWIND $passage_ids AS pid
  MATCH (:{L.PASSAGE} {{id: pid}})-[:{R.STATES}]->(f:{L.FACT})
  RETURN f
}}
{_FACT_ROWS}
"""

# rows: [start entity id, end entity id, score], each SYNONYM edge in its stored direction
SYNONYMS = f"""
MATCH (a:{L.ENTITY})-[r:{R.SYNONYM}]->(b:{L.ENTITY})
RETURN collect([a.id, b.id, r.score]) AS rows
"""

# Every SYNONYM edge at an entity in $entity_ids (new, or not yet checked at the previous
# load: the synonym stage only links entities it has not checked yet), in its stored direction.
SYNONYMS_DELTA = f"""
UNWIND $entity_ids AS eid
MATCH (:{L.ENTITY} {{id: eid}})-[r:{R.SYNONYM}]-(:{L.ENTITY})
WITH DISTINCT r
RETURN collect([startNode(r).id, endNode(r).id, r.score]) AS rows
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
