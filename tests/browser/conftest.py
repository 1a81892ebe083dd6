"""End-to-end fixtures: a real Neo4j with the sample graph, the Dagster UI, headless Chromium.

Everything here is started by the fixtures and stopped again: the Neo4j server (the session
fixture of ``tests/conftest.py``, shared), a ``dagster-webserver`` process group,
and Chromium driven by Playwright (``playwright`` from PyPI, which talks to Debian's
``/usr/bin/chromium``; nothing downloads a browser of its own).

Nothing is skipped: without Chromium the tests fail and say how to install it
(``scripts/install_chromium.sh``), since CI installs it. Screenshots go to ``tests/artifacts/``
(git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from neo4j import Driver

from graph.driver import resolve_password
from graph.ingest import IngestSummary
from graph.server import free_port
from pipelines.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("HIPPOGRAPH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--disable-sync",
)
VIEWPORT = {"width": 1440, "height": 960}
DAGSTER_START_TIMEOUT_S = 90.0

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/browser drives Chromium."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; a missing one fails the test (CI installs it), it is never skipped."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run scripts/install_chromium.sh "
            "(installs Debian's chromium package) and run the browser tests again",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_api() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the Python package playwright is missing: pip install -e '.[dev]'", pytrace=False
        )
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def browser_page(
    request: pytest.FixtureRequest,
    playwright_api: object,
    chromium_path: Path,
    tmp_path: Path,
    artifacts: Path,
) -> Iterator[object]:
    """A page in a fresh headless Chromium (new profile), closed after the test; a failing
    test leaves a full-page screenshot in tests/artifacts/failed-<test>.png."""
    context = playwright_api.chromium.launch_persistent_context(  # type: ignore[attr-defined]
        str(tmp_path / "chromium-profile"),
        executable_path=str(chromium_path),
        headless=True,
        args=list(CHROMIUM_ARGS),
        viewport=VIEWPORT,
        permissions=["clipboard-read", "clipboard-write"],
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(30_000)
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(artifacts / f"failed-{request.node.name}.png"))
    finally:
        context.close()


@dataclass(frozen=True)
class SampleGraph:
    settings: Settings
    driver: Driver
    password: str
    ingest_s: float


@pytest.fixture(scope="session")
def sample_graph(
    neo4j_driver: Driver,
    neo4j_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    ingest_paths: Callable[[Settings, list[Path]], IngestSummary],
) -> SampleGraph:
    """The session server holding exactly data/sample, ingested by the project's stages."""
    settings = neo4j_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("browser-data")}
    )
    t0 = time.monotonic()
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n", database_=settings.neo4j_database)
    summary = ingest_paths(settings, [SAMPLE])
    assert summary.documents.errors == []
    return SampleGraph(
        settings, neo4j_driver, resolve_password(neo4j_settings), time.monotonic() - t0
    )


@dataclass(frozen=True)
class DagsterUI:
    url: str
    pid: int
    log: Path
    start_s: float


@pytest.fixture(scope="session")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    """``dagster-webserver -m dagster_project`` on a free loopback port, its instance in a
    temporary DAGSTER_HOME; the whole process group is stopped afterwards."""
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").touch()
    port = free_port(13000)
    log = home / "webserver.log"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "HIPPOGRAPH_DATA_DIR": str(home / "data"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    webserver = Path(sys.executable).with_name("dagster-webserver")
    cmd = [str(webserver), "-m", "dagster_project", "-h", "127.0.0.1", "-p", str(port)]
    t0 = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server dies with it
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{url}/server_info", proc, log, DAGSTER_START_TIMEOUT_S)
        yield DagsterUI(url, proc.pid, log, time.monotonic() - t0)
    finally:
        _stop_group(proc)


def _wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited ({proc.returncode}):\n{_tail(log)}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.3)
    pytest.fail(f"dagster-webserver did not answer on {url} in {timeout_s:.0f} s:\n{_tail(log)}")


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    # The webserver's code-location subprocess shares the group; make sure it is gone too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
