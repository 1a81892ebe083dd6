// name: overview
// description: One row per document: its source, time and how many passages, facts and
//   entities came from it, with the span of time its facts cover. Start here.
// param limit: int = 100 - at most this many documents
MATCH (d:Document)
OPTIONAL MATCH (d)-[:HAS_PASSAGE]->(p:Passage)
WITH d, collect(p) AS passages
CALL (passages) {
  UNWIND passages AS p
  OPTIONAL MATCH (p)-[:STATES]->(f:Fact)
  RETURN count(DISTINCT f) AS facts,
         min(coalesce(f.valid_at, f.observed_at)) AS first_fact,
         max(coalesce(f.valid_at, f.observed_at)) AS last_fact
}
CALL (passages) {
  UNWIND passages AS p
  OPTIONAL MATCH (p)-[:MENTIONS]->(e:Entity)
  RETURN count(DISTINCT e) AS entities
}
RETURN d.title AS document,
       d.source AS source,
       d.timestamp AS timestamp,
       size(passages) AS passages,
       facts,
       entities,
       first_fact,
       last_fact
ORDER BY d.source
LIMIT toInteger($limit)
