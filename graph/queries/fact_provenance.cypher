// name: fact_provenance
// description: Where facts came from: each fact whose id is the text given, or whose statement
//   contains it (any case), with the passage that states it and that passage's document.
// param fact: str - a fact id, or words from its statement
// param limit: int = 20 - at most this many (fact, passage) pairs
// example: fact=Berlin
MATCH (f:Fact)
WHERE f.id = $fact OR toLower(f.statement) CONTAINS toLower(trim($fact))
MATCH (d:Document)-[hp:HAS_PASSAGE]->(p:Passage)-[st:STATES]->(f)
OPTIONAL MATCH (f)-[sr:SUBJECT]->(s:Entity)
OPTIONAL MATCH (f)-[orel:OBJECT]->(o:Entity)
RETURN f.statement AS statement,
       d.title AS document,
       d.source AS source,
       coalesce(d.timestamp, p.timestamp) AS source_time,
       p.index AS passage_index,
       p.start_char AS start_char,
       p.end_char AS end_char,
       substring(p.text, 0, 160) AS excerpt,
       f.id AS fact_id,
       d, hp, p, st, f, sr, s, orel, o
ORDER BY f.statement, d.source, p.index
LIMIT toInteger($limit)
