// name: entity_neighbourhood
// description: An entity and the entities it is related to (one RELATES edge per fact, labelled
//   with the fact's predicate) or is a synonym of, nearest-named first.
// param name: str - the entity's name, any case (also matched against its aliases)
// param limit: int = 25 - at most this many relationships
// example: name=Halvard Robotics
MATCH (e:Entity)
WHERE e.canonical = toLower(trim($name))
   OR toLower(trim($name)) IN [alias IN e.aliases | toLower(alias)]
CALL (e) {
  MATCH (e)-[r:RELATES|SYNONYM]-(n:Entity)
  RETURN r, n
  ORDER BY type(r) DESC, n.name
  LIMIT toInteger($limit)
}
RETURN e AS entity,
       type(r) AS relation,
       coalesce(r.predicate, 'synonym (' + toString(round(r.score, 2)) + ')') AS predicate,
       CASE WHEN startNode(r) = e THEN 'out' ELSE 'in' END AS direction,
       n AS neighbour,
       r AS rel
