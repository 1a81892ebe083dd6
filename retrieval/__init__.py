"""hippograph's retrieval API: Personalized PageRank over the knowledge graph, reranked, in time order."""
