"""``hippograph neo4j ...``: fetch, start, stop and inspect the project's local Neo4j server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table

from graph.driver import PasswordSource
from graph.errors import GraphError, ServerStartError
from graph.server import LocalNeo4j, StartOutcome, StopOutcome
from pipelines.settings import get_settings

app = typer.Typer(
    help="The project's local Neo4j server (skipped when NEO4J_URI points elsewhere).",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True)


def _launcher() -> LocalNeo4j:
    return LocalNeo4j(get_settings())


@contextmanager
def _graph_errors() -> Iterator[None]:
    """Expected failures print one red line (plus the server's log tail) and exit 1."""
    try:
        yield
    except GraphError as e:
        headline = str(e).splitlines()[0] if str(e) else type(e).__name__
        _err.print(f"[bold red]error:[/] {headline}", highlight=False, soft_wrap=True)
        if isinstance(e, ServerStartError) and e.log_tail:
            _err.print("[dim]last log lines:[/]")
            for line in e.log_tail:
                _err.print(f"  {line}", style="dim", highlight=False, markup=False, soft_wrap=True)
        elif "\n" in str(e):
            _err.print(
                str(e).split("\n", 1)[1], style="dim", highlight=False, markup=False, soft_wrap=True
            )
        raise typer.Exit(1) from None


def _verbose_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="  %(message)s")


@app.command()
def fetch(
    force: bool = typer.Option(False, "--force", help="Fetch again even if the jars exist."),
) -> None:
    """Fetch the Neo4j server and Browser jars from Maven Central (runs Maven once)."""
    launcher = _launcher()
    with _graph_errors(), _out.status("Fetching Neo4j jars with Maven..."):
        report = launcher.fetch(force=force)
    if report.fetched:
        _out.print(
            f"[green]fetched[/] {report.jar_count} jars into {report.lib_dir} "
            f"in {report.elapsed_s:.1f} s"
        )
    else:
        _out.print(f"jars already present: {report.jar_count} in {report.lib_dir}")


@app.command()
def start(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each step."),
) -> None:
    """Start the local Neo4j server in the background and wait until Bolt answers."""
    if verbose:
        _verbose_logging()
    launcher = _launcher()
    settings = launcher.settings
    with _graph_errors(), _out.status(f"Starting Neo4j {settings.neo4j_version}..."):
        report = launcher.start()
    if report.stale_pid is not None:
        _out.print(f"[yellow]removed a stale PID file[/] (process {report.stale_pid} was gone)")
    if report.outcome is StartOutcome.EXTERNAL:
        _out.print(f"Using the external Neo4j at {report.bolt_uri} (NEO4J_URI); nothing started.")
        return
    if report.outcome is StartOutcome.ALREADY_RUNNING:
        _out.print(f"Neo4j is already running (pid {report.pid}); nothing to do.")
    else:
        steps = [
            s
            for s, done in (
                ("fetched jars", report.fetched),
                ("initialised data", report.initialised),
            )
            if done
        ]
        extra = f" ({', '.join(steps)})" if steps else ""
        _out.print(f"[green]Neo4j started[/] (pid {report.pid}) in {report.elapsed_s:.1f} s{extra}")
    _out.print(f"  Bolt:     {report.bolt_uri}")
    _out.print(f"  Browser:  {report.browser_url}")
    status = launcher.status()
    if status.password_source is PasswordSource.FILE:
        _out.print(f"  Password: user {settings.neo4j_user}, password in {status.password_file}")
    else:
        _out.print(f"  Password: user {settings.neo4j_user}, password from NEO4J_PASSWORD")


@app.command()
def stop(
    timeout: float = typer.Option(
        120.0, "--timeout", min=1.0, help="Seconds to wait after SIGTERM before SIGKILL."
    ),
) -> None:
    """Stop the local Neo4j server (SIGTERM, then SIGKILL after --timeout)."""
    launcher = _launcher()
    with _graph_errors(), _out.status("Stopping Neo4j..."):
        report = launcher.stop(timeout_s=timeout)
    if report.stale_pid is not None:
        _out.print(f"[yellow]removed a stale PID file[/] (process {report.stale_pid} was gone)")
    if report.outcome is StopOutcome.EXTERNAL:
        _out.print("Using the external Neo4j (NEO4J_URI); nothing to stop.")
    elif report.outcome is StopOutcome.NOT_RUNNING:
        _out.print("Neo4j is not running.")
    elif report.outcome is StopOutcome.KILLED:
        _out.print(
            f"[yellow]Neo4j (pid {report.pid}) did not stop in {timeout:.0f} s; killed it[/] "
            "(the next start will run recovery)"
        )
    else:
        _out.print(f"[green]Neo4j stopped[/] (pid {report.pid}) in {report.elapsed_s:.1f} s")


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show whether the local server runs, where it listens, and where its files are."""
    with _graph_errors():
        st = _launcher().status()
    if as_json:
        typer.echo(json.dumps(st.to_json(), indent=2))
        return
    if st.stale_pid is not None:
        _out.print(f"[yellow]removed a stale PID file[/] (process {st.stale_pid} was gone)")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    if st.external:
        table.add_row("server", "external (NEO4J_URI)")
    else:
        state = f"[green]running[/] (pid {st.pid})" if st.running else "[red]stopped[/]"
        table.add_row("server", state)
    table.add_row("bolt", st.bolt_uri)
    if st.browser_url is not None:
        table.add_row("browser", st.browser_url)
    if st.password_source is PasswordSource.ENV:
        table.add_row("password", "from NEO4J_PASSWORD")
    elif st.password_source is PasswordSource.FILE:
        table.add_row("password", f"in {st.password_file}")
    else:
        where = f" (will be written to {st.password_file})" if st.password_file else ""
        table.add_row("password", f"not set yet{where}")
    if st.home is not None:
        table.add_row("home", str(st.home))
        table.add_row("data", str(st.data_dir))
        table.add_row("log", str(st.log_file))
        jars = "fetched" if st.jars_fetched else "not fetched yet (`hippograph neo4j fetch`)"
        table.add_row("jars", f"{st.lib_dir} ({jars})")
    table.add_row("versions", f"Neo4j {st.neo4j_version}, Browser {st.browser_version}")
    _out.print(table)
