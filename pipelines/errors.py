"""Error hierarchy of the pure pipeline layer."""


class IngestError(Exception):
    """Root of every error raised while reading, chunking, extracting or embedding input."""


class InputError(IngestError):
    """An input file or record cannot be ingested; the message names the input."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class ExtractionError(IngestError):
    """An extractor failed on a passage."""


class EmbeddingError(IngestError):
    """The embedding model could not be loaded or failed on input."""
