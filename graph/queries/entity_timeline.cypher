// name: entity_timeline
// description: Every fact about an entity in time order (when it held, else when it was
//   observed), superseded and expired facts included and marked, with what superseded them.
// param name: str - the entity's name, any case (also matched against its aliases)
// param limit: int = 100 - at most this many facts
// example: name=Priya Nandakumar
MATCH (e:Entity)
WHERE e.canonical = toLower(trim($name))
   OR toLower(trim($name)) IN [alias IN e.aliases | toLower(alias)]
MATCH (f:Fact)-[role:SUBJECT|OBJECT]->(e)
OPTIONAL MATCH (newer:Fact)-[:SUPERSEDES]->(f)
OPTIONAL MATCH (f)-[:SUPERSEDES]->(older:Fact)
WITH e, f, role, collect(DISTINCT newer.id) AS superseded_by,
     collect(DISTINCT older.id) AS supersedes
RETURN coalesce(f.valid_at, f.observed_at) AS time,
       CASE
         WHEN f.expired_at IS NOT NULL THEN 'expired'
         WHEN size(superseded_by) > 0 THEN 'superseded'
         WHEN f.invalid_at IS NOT NULL THEN 'ended'
         ELSE 'current'
       END AS status,
       f.statement AS statement,
       f.predicate AS predicate,
       toLower(type(role)) AS role,
       f.valid_at AS valid_at,
       f.invalid_at AS invalid_at,
       f.observed_at AS observed_at,
       f.expired_at AS expired_at,
       superseded_by,
       supersedes,
       f.id AS fact_id,
       e.name AS entity
ORDER BY time IS NULL, time, f.statement
LIMIT toInteger($limit)
