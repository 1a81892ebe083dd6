"""hippograph's retrieval API and command line.

Personalized PageRank over the knowledge graph, reranked, in time order.
"""
