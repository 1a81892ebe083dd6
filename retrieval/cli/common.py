"""Shared pieces of the command line: settings, console, error reporting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from neo4j import Driver
from rich.console import Console

from graph.driver import connect
from graph.errors import GraphError
from graph.schema import ensure_schema
from pipelines.errors import IngestError
from pipelines.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return get_settings()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear error line and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def expected_errors() -> Iterator[None]:
    """Turn hippograph's own errors into one red line and exit code 1 (no traceback)."""
    try:
        yield
    except (GraphError, IngestError) as e:
        raise fail(str(e)) from e


@contextmanager
def open_driver(cfg: Settings, *, write: bool = False) -> Iterator[Driver]:
    """A driver to the configured server; with ``write`` the schema is ensured first."""
    driver = connect(cfg)
    try:
        if write:
            ensure_schema(driver, cfg.neo4j_database)
        yield driver
    finally:
        driver.close()


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))
