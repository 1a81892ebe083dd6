"""One dynamic partition per input source (a file path)."""

from dagster import DynamicPartitionsDefinition

SOURCES = "sources"
sources_partitions = DynamicPartitionsDefinition(name=SOURCES)
