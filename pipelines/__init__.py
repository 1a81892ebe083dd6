"""Pure domain logic of hippograph: models, settings, loading, chunking, extraction, embeddings.

Nothing in this package imports ``neo4j`` or ``dagster``.
"""
