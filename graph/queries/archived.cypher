// name: archived
// description: What consolidation archived: facts and passages marked archived = true, newest
//   first, with the reason and time consolidation recorded. Empty until consolidation has run.
// param limit: int = 100 - at most this many
MATCH (n)
WHERE (n:Fact OR n:Passage) AND n.archived = true
RETURN labels(n)[0] AS kind,
       n.id AS id,
       coalesce(n.statement, substring(n.text, 0, 160)) AS what,
       n.archived_at AS archived_at,
       n.archived_reason AS reason,
       n
ORDER BY archived_at IS NULL, archived_at DESC, id
LIMIT toInteger($limit)
